"""Building a planner request from stored records: the store, the order, the customer, their
consent per channel and their suppressed addresses."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from webapp import vocabulary
from webapp.accounts.models import Store
from webapp.consent import links
from webapp.consent.models import ChannelSuppression
from webapp.consent.policy import MARKETING
from webapp.consent.state import consents_of
from webapp.customers.gdpr import erased_address
from webapp.customers.models import Customer, CustomerDevice
from webapp.extensions import db
from webapp.notifications.planner import PlanRequest, Recipient, StoreInfo, priority_for
from webapp.orders.models import Order
from webapp.templating.store_templates import overrides_for


def plan_request(store: Store, order: Order, customer: Customer | None, kind: str, status: str,
                 note: str | None = None, urgent: bool = False) -> PlanRequest:
    """The request for an order or invoice status message."""
    return message_request(store, customer, f"{kind}.{status}", order=order, note=note, urgent=urgent)


def message_request(store: Store, customer: Customer | None, message_type: str, data: Mapping | None = None,
                    order: Order | None = None, note: str | None = None, urgent: bool = False) -> PlanRequest:
    """The request for any message type; `data` holds the type's own variables."""
    kind, _, status = message_type.partition(".")
    marketing = priority_for(message_type, urgent) == MARKETING and customer is not None
    recipient = recipient_of(customer, with_consent=marketing)
    return PlanRequest(
        kind=kind, status=status, recipient=recipient, store=store_info(store),
        order=order_context(order, kind, status) if order is not None else {},
        note=note, urgent=urgent, suppressions=suppressions_for(store.id, recipient),
        templates=overrides_for(store.id), message_type=message_type, data=dict(data or {}),
        unsubscribe=links.unsubscribe_links(store.id, customer.id) if marketing else {},
    )


def order_context(order: Order, kind: str, status: str) -> dict:
    """The order as templates see it; for a payment or shipping message, the order's own status."""
    if kind not in (vocabulary.ORDER, vocabulary.INVOICE):
        kind, status = order.kind, order.status
    return {"number": order.number, "status": status, "status_label": vocabulary.status_label(kind, status),
            "total": str(order.total), "currency": order.currency,
            "lines": order.lines or [], "tracking": order.tracking}


def store_info(store: Store) -> StoreInfo:
    return StoreInfo(store.name, store.default_locale, store.currency, store.timezone, store.brand_color,
                     store.logo_url, store.postal_address)


def recipient_of(customer: Customer | None, with_consent: bool = True) -> Recipient:
    """The customer as the planner sees them. Marketing consent is read only when asked for: order
    and account messages do not depend on it, and this runs for every event."""
    if customer is None or customer.erased_at is not None:
        return Recipient()
    device = db.session.execute(select(CustomerDevice.platform, CustomerDevice.token)
                                .where(CustomerDevice.customer_id == customer.id)
                                .order_by(CustomerDevice.last_seen_at.desc(), CustomerDevice.id.desc())
                                .limit(1)).first()
    return Recipient(customer.name, customer.email, customer.phone, customer.locale,
                     push_token=f"{device.platform}:{device.token}" if device else None,
                     inbox=f"customer:{customer.id}", customer_id=customer.id, timezone=customer.timezone,
                     consent=consents_of(customer.id) if with_consent else {},
                     muted_topics=frozenset(customer.muted_topics or ()))


def suppressions_for(store_id: int, recipient: Recipient) -> dict[tuple[str, str], str]:
    """(channel, address) -> the suppression in words with its date: "opted out (STOP) 2026-11-02".
    An erased customer's suppressions are kept as digests (customers.gdpr.erased_address), so the
    same address coming back in a new order is still recognised as suppressed."""
    pairs = [(channel, address) for channel, address in (
        ("email", recipient.email), ("sms", recipient.phone), ("whatsapp", recipient.phone),
        ("push", recipient.push_token)) if address]
    if not pairs:
        return {}
    digests = {erased_address(store_id, channel, address): (channel, address) for channel, address in pairs}
    rows = db.session.scalars(select(ChannelSuppression).where(
        ChannelSuppression.store_id == store_id,
        ChannelSuppression.address.in_({address for _, address in pairs} | set(digests))))
    found = {}
    for row in rows:
        key = digests.get(row.address, (row.channel, row.address))
        if key[0] == row.channel:
            found[key] = f"{row.reason} {row.created_at:%Y-%m-%d}"
    return found
