"""Routing: which channels carry each message type, and whether to all of them or only the first
reachable one. Pure: platform defaults here, a store's overrides come from route_store.

Order and invoice statuses are routed by the Customer Notifications rules (source × status);
routing governs every other message type.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from webapp.templating import catalog

ALL, FIRST = "all", "first"
MODES = {ALL: "All of these channels", FIRST: "First reachable, in this order"}


@dataclass(frozen=True)
class Route:
    mode: str
    channels: tuple[str, ...]

    def describe(self) -> str:
        joined = " → ".join(self.channels) if self.mode == FIRST else " + ".join(self.channels)
        return f"{'first reachable of' if self.mode == FIRST else 'all of'} {joined}" if self.channels else "no channel"


# Tracking news is best seen at once on the phone; money and account matters want a written record.
_DEFAULTS: dict[str, Route] = {
    "payment.confirmed": Route(ALL, ("email",)),
    "payment.failed": Route(ALL, ("email", "sms")),
    "refund.processed": Route(ALL, ("email",)),
    "shipping.update": Route(FIRST, ("push", "sms", "email")),
    "shipping.out_for_delivery": Route(FIRST, ("push", "sms", "email")),
    "account.password_reset": Route(ALL, ("email",)),
    "gdpr.export_ready": Route(ALL, ("email",)),
    "gdpr.erasure_done": Route(ALL, ("email",)),
    "gift_card.issued": Route(ALL, ("email",)),
    "cart.recovery_1": Route(ALL, ("email",)),
    "cart.recovery_2": Route(ALL, ("email",)),
    "cart.recovery_3": Route(ALL, ("email",)),
    "review.request": Route(ALL, ("email",)),
    "campaign.message": Route(ALL, ("email",)),
}


def is_rule_routed(message_type: str) -> bool:
    """Order and invoice statuses follow the Customer Notifications rules, not routing."""
    return message_type.split(".", 1)[0] in ("order", "invoice")


def routable_types() -> list[catalog.MessageType]:
    return [t for t in catalog.MESSAGE_TYPES.values() if not is_rule_routed(t.key)]


def default_route(message_type: str) -> Route:
    route = _DEFAULTS.get(message_type)
    if route is not None:
        return route
    known = catalog.get(message_type)
    return Route(ALL, ("email",) if known is None or "email" in known.channels else known.channels[:1])


def validate_route(message_type: str, mode: str, channels: Iterable[str]) -> Route:
    """The route as asked, or ValueError saying what is wrong (unknown mode, channel the type cannot use)."""
    known = catalog.get(message_type)
    if known is None or is_rule_routed(message_type):
        raise ValueError(f"“{message_type}” is not a routed message type")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    ordered = tuple(dict.fromkeys(channels))
    if not ordered:
        raise ValueError("choose at least one channel")
    wrong = [c for c in ordered if c not in known.channels]
    if wrong:
        raise ValueError(f"{known.name} cannot be sent by {', '.join(wrong)}")
    return Route(mode, ordered)


def route_for(message_type: str, overrides: Mapping[str, Route]) -> Route:
    return overrides.get(message_type) or default_route(message_type)


def pick_channels(route: Route, obstacle: Callable[[str], str | None]) -> list[str]:
    """The channels to plan. `obstacle(channel)` says why a channel cannot reach the customer (no
    address, suppressed, no consent), None when it can. "First reachable" takes the first without an
    obstacle; when none is reachable every channel is planned, so each records why it was not sent."""
    if route.mode == ALL:
        return list(route.channels)
    for channel in route.channels:
        if obstacle(channel) is None:
            return [channel]
    return list(route.channels)
