"""Store credit on the customer page: staff issue credit and take it back with a reason (support
too: goodwill credit is a support tool), the section shows a balance per currency and the ledger,
taking back more than the balance is refused with nothing written, each change is audited, and
another store's customer is not found."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import make_customer, make_store
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.promotions.balances import credit_account
from webapp.promotions.models import StoreCreditEntry

HX = {"HX-Request": "true"}


def credit(client, customer, amount, reason="Goodwill: parcel arrived late", currency="USD", **kwargs):
    return client.post(f"/customers/{customer.id}/store-credit",
                       data={"csrf_token": client.csrf, "amount": amount, "currency": currency, "reason": reason},
                       **kwargs)


def balance_minor(store, customer, currency="USD") -> int:
    db.session.expire_all()
    account = credit_account(store.id, customer.id, currency)
    return account.balance_minor if account else 0


def test_support_issues_credit_and_the_page_shows_the_balance_and_the_ledger(client, login_as, store):
    customer = make_customer(store)
    login_as("support")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Store credit" in page and "No store credit." in page and "Save store credit" in page

    issued = credit(client, customer, "25.00")
    assert issued.status_code == 303 and issued.headers["Location"].endswith(f"/customers/{customer.id}#store-credit")
    taken = credit(client, customer, "-5.50", reason="Partly spent over the phone")
    assert taken.status_code == 303
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "5.50 USD taken back: the balance is 19.50 USD." in page
    assert "<strong>19.50 USD</strong>" in page and "No store credit." not in page
    assert "+25.00 USD" in page and "−5.50 USD" in page
    assert "Goodwill: parcel arrived late" in page and "Partly spent over the phone" in page
    assert page.index("Partly spent over the phone") < page.index("Goodwill: parcel arrived late")  # newest first
    assert balance_minor(store, customer) == 1950

    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.target, e.new["amount"], e.new["balance"], e.reason) for e in entries] == [
        ("store_credit.issued", f"customer #{customer.id}", "25.00", "25.00", "Goodwill: parcel arrived late"),
        ("store_credit.issued", f"customer #{customer.id}", "-5.50", "19.50", "Partly spent over the phone")]


def test_taking_back_more_than_the_balance_is_refused_and_nothing_is_written(client, login_as, store):
    customer = make_customer(store)
    login_as("marketer")
    credit(client, customer, "10.00")
    refused = credit(client, customer, "-10.01", reason="Mistake")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Not taken back: the store credit holds 10.00 USD, less than 10.01 USD" in page
    assert 'id="error-credit-amount"' in page and 'value="-10.01"' in page
    assert balance_minor(store, customer) == 1000
    assert db.session.scalar(select(func.count()).select_from(StoreCreditEntry)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
    # Credit is in the store's currency only: the checkout prices and spends in it.
    other = credit(client, customer, "5", currency="EUR")
    assert other.status_code == 400 and "currency, USD" in other.get_data(as_text=True)


def test_htmx_swaps_the_section_and_problems_show_beside_their_input(client, login_as, store):
    customer = make_customer(store)
    login_as("owner")
    answer = credit(client, customer, "12", currency="usd", headers=HX)
    fragment = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in fragment and fragment.lstrip().startswith("<section")
    assert "12.00 USD issued: the balance is 12.00 USD." in fragment and "<strong>12.00 USD</strong>" in fragment
    credit(client, customer, "3.00")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "15.00 USD" in page

    for amount, reason, field, words in [("abc", "x", "amount", "is not an amount"),
                                         ("0", "x", "amount", "Amount is more than 0"),
                                         ("5", "  ", "reason", "Reason is required")]:
        refused = credit(client, customer, amount, reason=reason, headers=HX)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 400 and f'id="error-credit-{field}"' in text and words in text, text
    refused = credit(client, customer, "5", currency="dollars")
    assert refused.status_code == 400 and 'id="error-credit-currency"' in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StoreCreditEntry)) == 2


def test_another_stores_customer_is_not_found(client, login_as, store):
    theirs = make_customer(make_store("other"))
    login_as("support")
    assert client.get(f"/customers/{theirs.id}").status_code == 404
    assert credit(client, theirs, "10").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(StoreCreditEntry)) == 0
