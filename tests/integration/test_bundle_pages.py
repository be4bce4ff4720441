"""Promotions → Bundles in the dashboard: a bundle made from the form (blank rows ignored) shows in the
list and is audited, problems render beside the row they came from with nothing saved, "Add a row"
adds one (HTMX or not), a bundle is disabled and enabled again, support is refused and another
store's bundle is not found."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import make_store
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.promotions.models import Promotion
from webapp.promotions.promotion_store import create_bundle

HX = {"HX-Request": "true"}


def bundle_form(client, name="Tee and cap", rows=(("T-shirt", "Blue", "2"), ("", "", "1"), ("Cap", "", "1")),
                kind="percent", discount="15", priority="50", exclusive=True) -> dict:
    data = {"csrf_token": client.csrf, "name": name, "kind": kind, "discount": discount, "priority": priority}
    if exclusive:
        data["exclusive"] = "1"
    for index, (product, variant, quantity) in enumerate(rows):
        data |= {f"items[{index}].product": product, f"items[{index}].variant": variant,
                 f"items[{index}].quantity": quantity}
    return data


def count_of(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_bundle_made_from_the_form_shows_in_the_list_and_is_audited(client, login_as, store):
    login_as("marketer")
    empty = client.get("/bundles/").get_data(as_text=True)
    assert "No bundles yet" in empty and 'name="items[3].product"' in empty
    assert "field-error" not in empty  # no problem shown before anything was sent
    created = client.post("/bundles/", data=bundle_form(client))
    assert created.status_code == 303 and created.headers["Location"].endswith("/bundles/")
    bundle = db.session.scalar(select(Promotion))
    assert (bundle.store_id, bundle.kind, bundle.name, bundle.priority, bundle.exclusive) == (
        store.id, "bundle", "Tee and cap", 50, True)
    assert bundle.actions == [{"type": "bundle", "percent": "15", "items": [
        {"product": "T-shirt", "variant": "Blue", "quantity": 2}, {"product": "Cap", "variant": None, "quantity": 1}]}]

    listing = client.get("/bundles/").get_data(as_text=True)
    assert "Bundle “Tee and cap” saved: 15% off each set of" in listing
    assert "2 × T-shirt (Blue) + 1 × Cap" in listing and "15% off" in listing
    assert "pill-balance-active" in listing and ">Disable</button>" in listing
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "bundle.created" and entry.new["name"] == "Tee and cap"


def test_an_amount_off_bundle_with_the_default_priority(client, login_as, store):
    login_as("owner")
    client.post("/bundles/", data=bundle_form(client, rows=[("Mug", "", "3")], kind="amount", discount="5.00",
                                              priority="", exclusive=False))
    bundle = db.session.scalar(select(Promotion))
    assert (bundle.priority, bundle.exclusive, bundle.actions[0]["amount"]) == (100, False, "5.00")
    assert "5.00 USD off" in client.get("/bundles/").get_data(as_text=True)


def test_problems_render_beside_their_rows_and_nothing_is_saved(client, login_as, store):
    login_as("owner")
    # Row 0 is blank, so the domain's items[1] (the second filled row) is the page's row 2.
    answer = client.post("/bundles/", data=bundle_form(client, name="", rows=[("", "", "1"), ("Shirt", "", "2"),
                                                                              ("Socks", "", "0")],
                                                       discount="150", priority="x"))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'id="error-name"' in page and 'id="error-item-2-quantity"' in page
    assert "Item 3, quantity: Quantity is a whole number from 1 to 1000" in page
    assert 'id="error-discount"' in page and "Percent is a number above 0, at most 100" in page
    assert "Discount: Percent is a number above 0" in page and "Name: Name" not in page  # the list above the form
    assert 'id="error-priority"' in page
    assert 'value="Socks"' in page and 'value="150"' in page  # what was typed stays
    nothing = client.post("/bundles/", data=bundle_form(client, rows=[("", "", "1")], discount=""))
    text = nothing.get_data(as_text=True)
    assert nothing.status_code == 400 and 'id="error-items"' in text and "Give either percent or amount" in text
    assert count_of(Promotion) == 0 and count_of(AuditEntry) == 0


def test_add_a_row_answers_the_rows_to_htmx_and_the_page_otherwise(client, login_as, store):
    login_as("owner")
    data = bundle_form(client, rows=[("Shirt", "", "1")]) | {"edit": "add"}
    fragment = client.post("/bundles/", data=data, headers=HX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert 'id="bundle-items"' in text and "<html" not in text
    assert 'value="Shirt"' in text and 'name="items[1].product"' in text and 'name="items[2].product"' not in text
    page = client.post("/bundles/", data=data).get_data(as_text=True)
    assert "<html" in page and 'name="items[1].product"' in page
    assert count_of(Promotion) == 0


def test_a_bundle_is_disabled_and_enabled_again(client, login_as, store):
    login_as("owner")
    bundle, _ = create_bundle(store, {"name": "Pair", "items": [{"product": "Sock", "quantity": 2}], "percent": 10})
    off = client.post(f"/bundles/{bundle.id}/disabled", data={"csrf_token": client.csrf, "disabled": "1"})
    assert off.status_code == 303
    db.session.refresh(bundle)
    assert bundle.disabled
    listing = client.get("/bundles/").get_data(as_text=True)
    assert "pill-balance-disabled" in listing and ">Enable</button>" in listing
    client.post(f"/bundles/{bundle.id}/disabled", data={"csrf_token": client.csrf, "disabled": "0"})
    db.session.refresh(bundle)
    assert not bundle.disabled
    assert [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
        "bundle.disabled", "bundle.enabled"]


def test_support_is_refused_and_another_stores_bundle_is_not_found(client, login_as, store):
    other = make_store("other")
    theirs, _ = create_bundle(other, {"name": "Theirs", "items": [{"product": "Hat"}], "percent": 10})
    login_as("owner")
    assert client.post(f"/bundles/{theirs.id}/disabled", data={"csrf_token": client.csrf,
                                                               "disabled": "1"}).status_code == 404
    assert "Theirs" not in client.get("/bundles/").get_data(as_text=True)
    db.session.refresh(theirs)
    assert not theirs.disabled

    client.post("/logout", data={"csrf_token": client.csrf})
    login_as("support")
    assert client.get("/bundles/").status_code == 403
    assert client.post("/bundles/", data=bundle_form(client)).status_code == 403
    assert count_of(Promotion) == 1
