"""Marketing consent a shop recorded at checkout (Shopify's email and SMS marketing consent),
carried into the customer's consent on ingest, with its history entry (source "checkout").

Only explicit choices arrive here (see events/normalized.MarketingConsent), and a choice never
overrides a newer one: a shopper who unsubscribed by our link after checking out stays
unsubscribed, though every later order webhook still says "subscribed" as of that checkout.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from webapp.consent.models import CustomerConsent
from webapp.consent.state import set_consent
from webapp.customers.models import Customer
from webapp.events.normalized import CustomerData, MarketingConsent
from webapp.extensions import db


def apply_checkout_consent(customer: Customer | None, data: CustomerData, source: str) -> list[str]:
    """Set the consents the event states; answers the channels that changed. Costs a query only for
    an event that states a choice."""
    stated = {channel: choice for channel, choice in (("email", data.email_marketing),
                                                      ("sms", data.sms_marketing)) if choice is not None}
    if customer is None or customer.erased_at is not None or not stated:
        return []
    current = {row.channel: row.updated_at for row in db.session.scalars(
        select(CustomerConsent).where(CustomerConsent.customer_id == customer.id,
                                      CustomerConsent.channel.in_(stated)))}
    changed = []
    for channel, choice in stated.items():
        if _newer(choice, current.get(channel)) and set_consent(
                customer, channel, choice.status, "checkout", actor=source, ip=data.ip,
                user_agent=data.user_agent, detail=choice.detail[:500] or None):
            changed.append(channel)
    return changed


def _newer(choice: MarketingConsent, stored_at: datetime | None) -> bool:
    """A choice applies over no state at all, or over an older one. Undated, it cannot be placed in
    time, so it only fills a state never set."""
    if stored_at is None:
        return True
    return choice.at is not None and choice.at > stored_at
