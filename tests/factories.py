"""One-line builders of valid objects, so each test shows only what matters to it."""
from __future__ import annotations

import itertools
from decimal import Decimal

from webapp.accounts.models import Store, User
from webapp.customers.models import Customer
from webapp.extensions import db
from webapp.orders.models import Order

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_store(slug: str | None = None, **fields) -> Store:
    n = next(_seq)
    store = Store(slug=slug or f"store-{n}", name=fields.pop("name", f"Store {n}"), **fields)
    db.session.add(store)
    db.session.commit()
    return store


def make_user(store: Store, role: str = "owner", email: str | None = None, password: str = PASSWORD) -> User:
    user = User(store=store, email=email or f"{role}-{next(_seq)}@example.test", role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def make_customer(store: Store, **fields) -> Customer:
    n = next(_seq)
    defaults = {"name": f"Customer {n}", "email": f"customer{n}@example.test", "phone": "+14155550100",
                "locale": "en"}
    customer = Customer(store_id=store.id, **{**defaults, **fields})
    db.session.add(customer)
    db.session.commit()
    return customer


def make_order(store: Store, status: str = "processing", source: str = "shopify", **fields) -> Order:
    n = next(_seq)
    customer = fields.pop("customer", None) or make_customer(store)
    order = Order(store_id=store.id, source=source, external_id=fields.pop("external_id", str(1000 + n)),
                  number=fields.pop("number", f"#{1000 + n}"), customer_id=customer.id, status=status,
                  total=fields.pop("total", Decimal("10.00")), **fields)
    db.session.add(order)
    db.session.commit()
    return order
