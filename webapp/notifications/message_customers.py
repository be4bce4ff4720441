"""The customer a POST /api/v1/messages request means: by NotifyHub id (of this store only), else by
the caller's own id for them (external id under source "api"), else by email, else by phone;
created when new, but only with an address to reach them. A found customer keeps what is stored
and only gains what it lacked: a message request is not a profile update."""
from __future__ import annotations

from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.customers.models import Customer
from webapp.customers.upsert import record_external_id
from webapp.extensions import db
from webapp.notifications.message_input import CustomerSpec, MessageInputError

API_SOURCE = "api"


def customer_for(store: Store, spec: CustomerSpec) -> Customer:
    """The customer, found or added to the session (the caller commits); MessageInputError otherwise."""
    customer = _by_id(store, spec.id) if spec.id else _find(store.id, spec)
    if customer is None:
        if not spec.reachable:
            raise MessageInputError("customer", "no customer of this store matches, and a new one needs an email "
                                                "or phone", 422)
        customer = Customer(store_id=store.id, name=spec.name, email=spec.email, phone=spec.phone,
                            locale=spec.locale or store.default_locale, external_ids={})
        db.session.add(customer)
    else:
        customer.name = customer.name or spec.name
        customer.email = customer.email or spec.email
        customer.phone = customer.phone or spec.phone
    record_external_id(customer, API_SOURCE, spec.external_id)
    return customer


def _by_id(store: Store, customer_id: int) -> Customer:
    customer = db.session.scalar(select(Customer).where(Customer.id == customer_id, Customer.store_id == store.id))
    if customer is None:  # another store's customer reads as no customer at all
        raise MessageInputError("customer.id", "no customer with this id in this store", 404)
    if customer.erased_at is not None:
        raise MessageInputError("customer.id", "this customer's personal data was erased; they cannot be messaged",
                                422)
    return customer


def _find(store_id: int, spec: CustomerSpec) -> Customer | None:
    scope = (Customer.store_id == store_id, Customer.erased_at.is_(None))
    matches = []
    if spec.external_id:  # JSON, which no index serves: the store's customers are scanned
        matches.append(Customer.external_ids[API_SOURCE].as_string() == spec.external_id)
    if spec.email:
        matches.append(Customer.email == spec.email)
    elif spec.phone:  # only without an email: a shared family phone is not the same person
        matches.append(Customer.phone == spec.phone)
    for match in matches:
        customer = db.session.scalar(select(Customer).where(*scope, match).order_by(Customer.id).limit(1))
        if customer is not None:
            return customer
    return None
