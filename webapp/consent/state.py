"""Marketing consent per customer and channel: the current state (CustomerConsent) and its
append-only history (ConsentEvent, with actor and evidence). Nothing here commits."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.consent.models import OPT_IN, OPT_OUT, ConsentEvent, CustomerConsent
from webapp.consent.vocabulary import CONSENT_CHANNELS, NEVER_ASKED, OPTED_IN, OPTED_OUT, SOURCES, STATUSES
from webapp.customers.models import Customer
from webapp.extensions import db
from webapp.timeutil import utcnow


class ConsentError(ValueError):
    """A consent change that cannot be made as asked; the message says why."""


def validate(channel: str, status: str, source: str | None) -> None:
    if channel not in CONSENT_CHANNELS:
        raise ConsentError(f"channel must be one of {', '.join(CONSENT_CHANNELS)}")
    if status not in STATUSES:
        raise ConsentError(f"status must be one of {', '.join(STATUSES)}")
    if not source:
        raise ConsentError(f"source is required: one of {', '.join(SOURCES)}")
    if source not in SOURCES:
        raise ConsentError(f"source must be one of {', '.join(SOURCES)}")


def set_consent(customer: Customer, channel: str, status: str, source: str, *, actor: str | None = None,
                ip: str | None = None, user_agent: str | None = None, detail: str | None = None,
                record_event: bool = True) -> bool:
    """Set the customer's marketing consent on a channel. Returns False (and records nothing) when it
    already was that: a second click on an unsubscribe link changes nothing. `record_event=False` when
    the caller already recorded the change in the history (a STOP is one event, not two)."""
    validate(channel, status, source)
    row = db.session.scalar(select(CustomerConsent).where(CustomerConsent.customer_id == customer.id,
                                                          CustomerConsent.channel == channel).with_for_update())
    current = row.status if row is not None else NEVER_ASKED
    if current == status:
        return False
    now = utcnow()
    if status == NEVER_ASKED:
        db.session.delete(row)
    elif row is None:
        try:
            with db.session.begin_nested():
                db.session.add(CustomerConsent(store_id=customer.store_id, customer_id=customer.id, channel=channel,
                                               status=status, source=source, updated_at=now))
        except IntegrityError:  # set concurrently: one of the two wins, both recorded
            row = db.session.scalar(select(CustomerConsent).where(CustomerConsent.customer_id == customer.id,
                                                                  CustomerConsent.channel == channel))
    if row is not None and status != NEVER_ASKED:
        row.status, row.source, row.updated_at = status, source, now
    if not record_event:
        return True
    address = (customer.email if channel == "email" else customer.phone) or ""
    db.session.add(ConsentEvent(
        store_id=customer.store_id, customer_id=customer.id, channel=channel, address=address[:254],
        action=OPT_IN if status == OPTED_IN else OPT_OUT if status == OPTED_OUT else "reset",
        source=source, detail=detail, actor=(actor or "")[:254] or None, ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None, at=now))
    return True


def consents_of(customer_id: int) -> dict[str, str]:
    """{channel: status} of one customer; channels never asked are absent."""
    rows = db.session.execute(select(CustomerConsent.channel, CustomerConsent.status)
                              .where(CustomerConsent.customer_id == customer_id))
    return dict(rows.all())


def consent_history(customer_id: int, limit: int = 200) -> list[ConsentEvent]:
    return list(db.session.scalars(select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)
                                   .order_by(ConsentEvent.id.desc()).limit(limit)))
