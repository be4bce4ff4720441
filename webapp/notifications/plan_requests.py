"""Building a planner request from stored records: the store, the order, the customer and the
customer's suppressed addresses."""
from __future__ import annotations

from sqlalchemy import select

from webapp import vocabulary
from webapp.accounts.models import Store
from webapp.consent.models import ChannelSuppression
from webapp.customers.models import Customer, CustomerDevice
from webapp.extensions import db
from webapp.notifications.planner import PlanRequest, Recipient, StoreInfo
from webapp.orders.models import Order
from webapp.templating.store_templates import overrides_for


def plan_request(store: Store, order: Order, customer: Customer | None, kind: str, status: str,
                 note: str | None = None, urgent: bool = False) -> PlanRequest:
    recipient = _recipient(customer)
    return PlanRequest(
        kind=kind, status=status, recipient=recipient, store=store_info(store),
        order={"number": order.number, "status": status, "status_label": vocabulary.status_label(kind, status),
               "total": str(order.total), "currency": order.currency, "lines": order.lines or [],
               "tracking": order.tracking},
        note=note, urgent=urgent, suppressions=suppressions_for(store.id, recipient),
        templates=overrides_for(store.id),
    )


def store_info(store: Store) -> StoreInfo:
    return StoreInfo(store.name, store.default_locale, store.currency, store.timezone, store.brand_color,
                     store.logo_url, store.postal_address)


def _recipient(customer: Customer | None) -> Recipient:
    if customer is None:
        return Recipient()
    device = db.session.execute(select(CustomerDevice.platform, CustomerDevice.token)
                                .where(CustomerDevice.customer_id == customer.id)
                                .order_by(CustomerDevice.last_seen_at.desc(), CustomerDevice.id.desc())
                                .limit(1)).first()
    return Recipient(customer.name, customer.email, customer.phone, customer.locale,
                     push_token=f"{device.platform}:{device.token}" if device else None,
                     inbox=f"customer:{customer.id}")


def suppressions_for(store_id: int, recipient: Recipient) -> dict[tuple[str, str], str]:
    addresses = [a for a in (recipient.email, recipient.phone, recipient.push_token) if a]
    if not addresses:
        return {}
    rows = db.session.scalars(select(ChannelSuppression).where(
        ChannelSuppression.store_id == store_id, ChannelSuppression.address.in_(addresses)))
    return {(row.channel, row.address): row.reason for row in rows}
