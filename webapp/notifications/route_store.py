"""A store's routing overrides (MessageRoute rows) over the platform defaults (routing.py), and its
quiet hours and marketing cap. Each save is one transaction with its audit entry."""
from __future__ import annotations

from sqlalchemy import delete, select

from webapp.accounts.models import Store, User
from webapp.audit.models import record
from webapp.extensions import db
from webapp.notifications.models import MessageRoute
from webapp.notifications.routing import Route, default_route, route_for, validate_route
from webapp.notifications.send_limits import SendLimits, limits_of


def overrides(store_id: int) -> dict[str, Route]:
    rows = db.session.scalars(select(MessageRoute).where(MessageRoute.store_id == store_id))
    return {row.message_type: Route(row.mode, tuple(row.channels or ())) for row in rows}


def store_route(store_id: int, message_type: str) -> Route:
    row = db.session.scalar(select(MessageRoute).where(MessageRoute.store_id == store_id,
                                                       MessageRoute.message_type == message_type))
    return Route(row.mode, tuple(row.channels or ())) if row else route_for(message_type, {})


def save_route(store: Store, user: User | None, message_type: str, mode: str, channels) -> Route | None:
    """Store the type's routing; ValueError (nothing written) when it is not a valid one. A route
    equal to the default is kept as no override, so later default changes reach it. Returns the
    new route, or None when it already was that."""
    route = validate_route(message_type, mode, channels)
    current = store_route(store.id, message_type)
    if route == current:
        return None
    _delete(store.id, message_type)
    if route != default_route(message_type):
        db.session.add(MessageRoute(store_id=store.id, message_type=message_type, mode=route.mode,
                                    channels=list(route.channels)))
    record(store.id, user.id if user else None, "message_route.updated", message_type,
           old=_audit(current), new=_audit(route))
    _commit()
    return route


def reset_route(store: Store, user: User | None, message_type: str) -> bool:
    """Back to the platform default; False when there was no override."""
    current = store_route(store.id, message_type)
    if not _delete(store.id, message_type):
        return False
    record(store.id, user.id if user else None, "message_route.reset", message_type,
           old=_audit(current), new=_audit(default_route(message_type)))
    _commit()
    return True


def save_send_limits(store: Store, user: User | None, limits: SendLimits) -> bool:
    """Quiet hours and the marketing cap; False when nothing changed."""
    current = limits_of(store)
    if limits == current:
        return False
    store.quiet_hours_start, store.quiet_hours_end = limits.quiet_start, limits.quiet_end
    store.marketing_cap_day, store.marketing_cap_week = limits.cap_day, limits.cap_week
    record(store.id, user.id if user else None, "store.send_limits_updated", "Quiet hours and frequency cap",
           old=current.as_dict(), new=limits.as_dict())
    _commit()
    return True


def _delete(store_id: int, message_type: str) -> bool:
    return db.session.execute(delete(MessageRoute).where(MessageRoute.store_id == store_id,
                                                         MessageRoute.message_type == message_type)).rowcount > 0


def _audit(route: Route) -> dict:
    return {"mode": route.mode, "channels": list(route.channels)}


def _commit() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
