"""What a shopper changes from a signed link, without logging in: one-click unsubscribe and the
preference centre's channels and topics. Idempotent: doing it twice records it once. Commits."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.consent import links
from webapp.consent.state import consents_of, set_consent
from webapp.consent.vocabulary import CONSENT_CHANNELS, OPTED_IN, OPTED_OUT, TOPICS
from webapp.customers.models import Customer, CustomerDevice
from webapp.extensions import db

# Channels the preference centre may opt in to (see save_preferences).
LINK_OPT_IN_CHANNELS = frozenset({"email"})


@dataclass(frozen=True)
class Evidence:
    ip: str | None = None
    user_agent: str | None = None


def customer_for(token: str) -> tuple[Customer, Store, str] | None:
    """The customer, store and channel a link names; None for a bad token or an erased customer."""
    target = links.verify(token)
    if target is None:
        return None
    customer = db.session.get(Customer, target.customer_id)
    if customer is None or customer.store_id != target.store_id or customer.erased_at is not None:
        return None
    return customer, db.session.get(Store, customer.store_id), target.channel


def reachable_channels(customer: Customer) -> list[str]:
    """The consent channels this customer has an address for (push: an app install)."""
    has_device = db.session.scalar(select(CustomerDevice.id).where(CustomerDevice.customer_id == customer.id)
                                   .limit(1)) is not None
    have = {"email": bool(customer.email), "sms": bool(customer.phone), "whatsapp": bool(customer.phone),
            "push": has_device}
    return [c for c in CONSENT_CHANNELS if have[c]]


def unsubscribe(customer: Customer, channel: str, evidence: Evidence, source: str = "unsubscribe_link") -> bool:
    """Opt the customer out of marketing on the channel (every channel for ALL_CHANNELS). Returns
    whether anything changed; a second click changes nothing."""
    # "All" means every channel they can be reached on or ever opted in to, push included.
    channels = sorted(set(reachable_channels(customer)) | set(consents_of(customer.id))) \
        if channel == links.ALL_CHANNELS else [channel]
    changed = False
    for each in channels:
        changed |= set_consent(customer, each, OPTED_OUT, source, actor="customer", ip=evidence.ip,
                               user_agent=evidence.user_agent)
    db.session.commit()
    return changed


def save_preferences(customer: Customer, wanted_channels: set[str], wanted_topics: set[str],
                     evidence: Evidence) -> bool:
    """The preference centre's form: channels ticked are opted in (with the evidence), unticked opted
    out; unticked topics are muted. Returns whether anything changed.

    The link arrived by email, which proves the shopper reads that mailbox, not that the phone is
    theirs (a forwarded link would do): so from here email may be opted in, and every channel opted
    out, but texts and push are opted in only where the shopper proves the device (START, checkout)."""
    current = consents_of(customer.id)
    changed = False
    for channel in reachable_channels(customer):
        status = OPTED_IN if channel in wanted_channels else OPTED_OUT
        if current.get(channel) == status or (status == OPTED_OUT and channel not in current):
            continue  # unticked and never asked stays never asked: not ticking is not an opt-out request
        if status == OPTED_IN and channel not in LINK_OPT_IN_CHANNELS:
            continue
        changed |= set_consent(customer, channel, status, "preference_centre", actor="customer", ip=evidence.ip,
                               user_agent=evidence.user_agent)
    muted = sorted(set(TOPICS) - wanted_topics)
    if muted != sorted(customer.muted_topics or ()):
        customer.muted_topics = muted
        changed = True
    db.session.commit()
    return changed
