"""Keeping a store's customers from what events say about them: found by email (else phone),
created when new, and their name, phone, email and language brought up to date."""
from __future__ import annotations

from sqlalchemy import select

from webapp.customers.models import Customer
from webapp.customers.phones import to_e164


def upsert_customer(session, store_id: int, default_locale: str, *, name: str = "", email: str | None = None,
                    phone: str | None = None, country: str | None = None,
                    locale: str | None = None) -> Customer | None:
    """The store's customer with this email (else phone), created or updated; None when the event
    gives no way to reach them. Adds to the session; the caller commits."""
    email = email.strip().lower() if email else None
    phone = to_e164(phone, country)
    if not (email or phone):
        return None
    match = Customer.email == email if email else Customer.phone == phone
    customer = session.scalar(select(Customer).where(Customer.store_id == store_id, match).limit(1))
    if customer is None:
        customer = Customer(store_id=store_id, email=email, locale=locale or default_locale)
        session.add(customer)
    customer.name = name or customer.name or ""
    customer.phone = phone or customer.phone
    customer.email = email or customer.email
    if locale:
        customer.locale = locale
    return customer
