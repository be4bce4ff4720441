"""Keeping a store's customers from what events say about them: found by email (else phone),
created when new, and their name, phone, email, language, country and id at the source brought
up to date. On the path of every event: one query to find the customer, nothing more."""
from __future__ import annotations

from sqlalchemy import select

from webapp.customers.models import Customer
from webapp.customers.phones import to_e164


def upsert_customer(session, store_id: int, default_locale: str, *, name: str = "", email: str | None = None,
                    phone: str | None = None, country: str | None = None, locale: str | None = None,
                    source: str | None = None, external_id: str | None = None) -> Customer | None:
    """The store's customer with this email (else phone), created or updated; None when the event
    gives no way to reach them. `external_id` is the customer's id in `source`. Adds to the
    session; the caller commits."""
    email = email.strip().lower() if email else None
    phone = to_e164(phone, country)
    if not (email or phone):
        return None
    match = Customer.email == email if email else Customer.phone == phone
    customer = session.scalar(select(Customer).where(Customer.store_id == store_id, match).limit(1))
    if customer is None:
        customer = Customer(store_id=store_id, email=email, locale=locale or default_locale, external_ids={})
        session.add(customer)
    customer.name = name or customer.name or ""
    customer.phone = phone or customer.phone
    customer.email = email or customer.email
    if locale:
        customer.locale = locale
    country = (country or "").strip().upper()
    if len(country) == 2 and country.isalpha() and customer.country != country:
        customer.country = country
    record_external_id(customer, source, external_id)
    return customer


def record_external_id(customer: Customer, source: str | None, external_id: str | None) -> None:
    """Remember the customer's id in a source system. The JSON is replaced, not mutated in place:
    the ORM only sees a new value, and only a changed one costs an UPDATE."""
    external_id = (external_id or "").strip()[:200]
    ids = customer.external_ids or {}
    if source and external_id and ids.get(source) != external_id:
        customer.external_ids = {**ids, source: external_id}
