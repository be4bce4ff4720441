"""Promotions in the dashboard: marketers list, build (rows added, removed and re-shaped by edit
commands) and edit promotions, each problem shown beside its input with nothing saved; a promotion's
page switches it off and on and adds coupons (typed or generated, exported as CSV); the simulator
prices a cart as the checkout API would, explains what did not apply, and changes nothing. Each
change is audited; support is refused and another store's promotion is not found."""
from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select

from tests.factories import make_store
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.promotions.models import Checkout, Coupon, Promotion
from webapp.promotions.promotion_store import add_coupons, create_bundle, create_promotion, parse_coupon_request

HX = {"HX-Request": "true"}
TEN_OFF_SHOES = {"name": "Shoes 10% over 100", "priority": 10,
                 "conditions": [{"type": "subtotal_above", "amount": "100.00"}],
                 "actions": [{"type": "percentage_off_items", "percent": 10, "categories": ["Shoes"]}]}


def form(client, name="Summer sale", conditions=(), actions=(("percentage_off_cart", {"percent": "15"}),),
         **extra) -> dict:
    """The editor's post: rows as (type, {input: value}), numbered as the page numbers them."""
    data = {"csrf_token": client.csrf, "name": name, "priority": "100", "starts_at": "", "ends_at": "", **extra}
    for section, rows in (("conditions", conditions), ("actions", actions)):
        for index, (kind, values) in enumerate(rows):
            data[f"{section}[{index}].type"] = kind
            data |= {f"{section}[{index}].{key}": value for key, value in values.items()}
    return data


def count_of(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def only_promotion() -> Promotion:
    return db.session.scalar(select(Promotion))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_a_marketer_creates_a_promotion_in_the_editor_and_finds_it_listed(client, login_as, store):
    login_as("marketer")
    empty = text_of(client.get("/promotions"))
    assert "No promotions yet" in empty and "A promotion is a discount the checkout gives" in empty
    assert 'href="/promotions/new"' in empty and 'href="/promotions/simulator"' in empty
    assert client.get("/promotions/new").status_code == 200

    created = client.post("/promotions", data=form(
        client, name="Shoes for wholesale", exclusive="1", starts_at="2026-01-01T09:00",
        conditions=[("subtotal_above", {"amount": "100.00"}), ("customer_group", {"group": "Wholesale"})],
        actions=[("percentage_off_items", {"percent": "10", "products": "", "variants": "",
                                           "categories": "Shoes, Boots"}),
                 ("buy_x_get_y", {"buy.quantity": "2", "buy.categories": "Socks", "get.quantity": "1",
                                  "get.products": "sock-white", "percent": "", "max_applications": "3"}),
                 ("fixed_off_items", {"amount": "2.00", "per_unit": "0", "products": "tote"})]))
    assert created.status_code == 303
    promotion = only_promotion()
    assert created.headers["Location"].endswith(f"/promotions/{promotion.id}")
    assert (promotion.store_id, promotion.kind, promotion.name, promotion.exclusive, promotion.priority) == \
        (store.id, "promotion", "Shoes for wholesale", True, 100)
    assert promotion.conditions == [{"type": "subtotal_above", "amount": "100.00"},
                                    {"type": "customer_group", "group": "Wholesale"}]
    assert promotion.actions == [
        {"type": "percentage_off_items", "percent": "10", "categories": ["Shoes", "Boots"]},
        {"type": "buy_x_get_y", "buy": {"quantity": 2, "categories": ["Socks"]},
         "get": {"quantity": 1, "products": ["sock-white"]}, "max_applications": 3},
        {"type": "fixed_off_items", "amount": "2.00", "per_unit": False, "products": ["tote"]}]
    assert promotion.starts_at.isoformat() == "2026-01-01T09:00:00+00:00"  # the store's timezone is UTC

    page = text_of(client.get(created.headers["Location"]))
    assert "Promotion “Shoes for wholesale” saved." in page
    assert ("10% off Shoes, Boots and buy 2 of Socks, get 1 of sock-white free, up to 3 times and 2.00 off tote once "
            "when the cart is over 100.00, for Wholesale customers, from 1 Jan 2026 09:00") in page
    listing = text_of(client.get("/promotions"))
    assert "Shoes for wholesale" in listing and "Exclusive" in listing and "pill-promo-active" in listing
    assert f'href="/promotions/{promotion.id}/edit"' in listing
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.target, entry.old) == ("promotion.created", "new promotion (Shoes for wholesale)", None)
    assert entry.new["actions"] == promotion.actions and entry.new["starts_at"] == "2026-01-01T09:00:00+00:00"


def test_editing_shows_the_saved_rows_and_saves_the_change_audited(client, login_as, store):
    promotion, _ = create_promotion(store, {**TEN_OFF_SHOES, "ends_at": "2030-06-30T18:00"})
    login_as("marketer")
    editor = text_of(client.get(f"/promotions/{promotion.id}/edit"))
    assert 'name="conditions[0].amount" value="100.00"' in editor
    assert 'name="actions[0].categories" value="Shoes"' in editor
    assert 'name="ends_at" value="2030-06-30T18:00"' in editor and "In the store's timezone, UTC" in editor

    refused = client.post(f"/promotions/{promotion.id}/edit", data=form(
        client, name="Broken", actions=[("percentage_off_items", {"percent": "0"})]))
    assert refused.status_code == 400 and 'id="error-action-0-percent"' in text_of(refused)
    db.session.refresh(promotion)
    assert promotion.name == "Shoes 10% over 100" and count_of(AuditEntry) == 0

    saved = client.post(f"/promotions/{promotion.id}/edit", data=form(
        client, name="Shoes 20% over 150", conditions=[("subtotal_above", {"amount": "150.00"})],
        actions=[("percentage_off_items", {"percent": "20", "categories": "Shoes"})]))
    assert saved.status_code == 303
    db.session.refresh(promotion)
    assert (promotion.name, promotion.conditions[0]["amount"], promotion.ends_at) == ("Shoes 20% over 150", "150.00",
                                                                                     None)
    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "promotion.updated" and entry.target == f"promotion #{promotion.id} (Shoes 20% over 150)"
    assert entry.old["name"] == "Shoes 10% over 100" and entry.new["conditions"][0]["amount"] == "150.00"


def test_problems_are_shown_beside_their_inputs_and_nothing_is_saved(client, login_as, store):
    login_as("marketer")
    answer = client.post("/promotions", data=form(
        client, name="", priority="first", starts_at="2026-05-01T00:00", ends_at="2026-04-01T00:00",
        conditions=[("product_in_cart", {"product": "", "min_quantity": "0"})],
        actions=[("percentage_off_cart", {"percent": "150"}),
                 ("buy_x_get_y", {"buy.quantity": "0", "get.quantity": "1"}),
                 ("fixed_off_cart", {"amount": "1.234"})]))
    html = text_of(answer)
    assert answer.status_code == 400 and count_of(Promotion) == 0 and count_of(AuditEntry) == 0
    assert "Not saved." in html
    beside = {"error-name": "A name is required", "error-priority": "Priority is a whole number from 0",
              "error-ends_at": "The end must be after the start",
              "error-condition-0-product": "A product is required",
              "error-action-0-percent": "The percentage is a number above 0, at most 100",
              "error-action-1-buy-quantity": "The quantity is a whole number from 1 to 10000",
              "error-action-2-amount": "USD has 2 decimal places"}
    for element, message in beside.items():
        assert re.search(rf'id="{element}">{re.escape(message)}', html), element
    assert 'id="action-1-buy-quantity" name="actions[1].buy.quantity" value="0"' in html  # what was typed stays
    assert "Action 2 · Customer buys quantity: The quantity is a whole number" in html

    no_action = text_of(client.post("/promotions", data=form(client, actions=[])))
    assert 'id="error-actions">A promotion needs at least one action' in no_action and count_of(Promotion) == 0


def test_rows_are_added_removed_and_reshaped_by_edit_commands(client, login_as, store):
    login_as("marketer")
    added = client.post("/promotions", data=form(client, edit="add-condition", new_condition="coupon"), headers=HX)
    html = text_of(added)
    assert added.status_code == 200 and added.headers["HX-Trigger-After-Settle"] == "promotion-rules-changed"
    assert html.lstrip().startswith('<div id="rules"')
    assert '<option value="coupon" selected>' in html and "<html" not in html
    assert 'name="actions[0].percent" value="15"' in html  # the other rows as they were

    action = text_of(client.post("/promotions", data=form(client, edit="add-action", new_action="free_shipping"),
                                 headers=HX))
    assert 'name="actions[1].max_shipping"' in action and 'name="actions[1].percent"' not in action

    # A row whose type changed shows that type's inputs: a new fixed_off_items row is per unit.
    reshaped = text_of(client.post("/promotions", data=form(
        client, actions=[("fixed_off_items", {"percent": "15"})], edit="refresh"), headers=HX))
    assert 'name="actions[0].amount"' in reshaped and 'name="actions[0].percent"' not in reshaped
    assert re.search(r'name="actions\[0\]\.per_unit" value="1"\s+checked', reshaped)

    removed = text_of(client.post("/promotions", data=form(
        client, conditions=[("first_order", {}), ("customer_group", {"group": "VIP"})], edit="remove-condition-0"),
        headers=HX))
    assert 'name="conditions[0].group" value="VIP"' in removed and 'name="conditions[1].type"' not in removed

    # Without JavaScript the same commands answer the whole editor.
    page = text_of(client.post("/promotions", data=form(client, edit="add-condition", new_condition="first_order")))
    assert "<html" in page and "It is the customer&#39;s first order" in page and count_of(Promotion) == 0


def test_the_summary_endpoint_describes_the_draft(client, login_as, store):
    login_as("marketer")
    answer = client.post("/promotions/summary", data=form(
        client, conditions=[("subtotal_above", {"amount": "100.00"}), ("customer_group", {"group": "Wholesale"})],
        actions=[("percentage_off_items", {"percent": "10", "categories": "Shoes"})],
        ends_at="2026-12-31T23:59"))
    html = text_of(answer)
    assert answer.status_code == 200
    assert "10% off Shoes when the cart is over 100.00, for Wholesale customers, until 31 Dec 2026 23:59" in html
    draft = text_of(client.post("/promotions/summary", data=form(client, actions=[("percentage_off_cart", {})])))
    assert "…% off the cart" in draft and "Still to fill in" in draft and "Action 1 · Percent off" in draft
    assert count_of(Promotion) == 0


def test_coupons_are_typed_and_generated_listed_and_exported(client, login_as, store):
    promotion, _ = create_promotion(store, {"name": "Welcome", "conditions": [{"type": "coupon"}],
                                            "actions": [{"type": "fixed_off_cart", "amount": "5.00"}]})
    login_as("marketer")
    url = f"/promotions/{promotion.id}/coupons"
    typed = client.post(url, data={"csrf_token": client.csrf, "code": "Welcome5", "usage_limit": "1",
                                   "once_per_customer": "1"})
    assert typed.status_code == 200 and "1 code added" in text_of(typed)
    generated = client.post(url, data={"csrf_token": client.csrf, "count": "25"}, headers=HX)
    html = text_of(generated)
    assert generated.status_code == 200 and html.startswith('<section id="coupons"') and "25 codes added" in html
    codes = db.session.scalars(select(Coupon.code).where(Coupon.code != "Welcome5")).all()
    assert len(codes) == 25 and all(f"<code>{code}</code>" in html for code in codes)

    again = client.post(url, data={"csrf_token": client.csrf, "code": "WELCOME5"})
    assert again.status_code == 400 and "already used in this store" in text_of(again) and count_of(Coupon) == 26
    both = client.post(url, data={"csrf_token": client.csrf, "code": "X-123", "count": "2"})
    assert both.status_code == 400 and "give either a code to type in or a count" in text_of(both).lower()
    limit = text_of(client.post(url, data={"csrf_token": client.csrf, "count": "2", "usage_limit": "0"}))
    assert 'id="error-limit">The usage limit is a whole number, 1 or more' in limit and count_of(Coupon) == 26

    page = text_of(client.get(f"/promotions/{promotion.id}"))
    assert "<code>Welcome5</code>" in page and "Export CSV (26)" in page
    exported = client.get(f"/promotions/{promotion.id}/coupons.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.headers["Content-Disposition"] == f'attachment; filename="promotion-{promotion.id}-coupons.csv"'
    rows = list(csv.DictReader(io.StringIO(text_of(exported))))
    assert len(rows) == 26 and rows[0] | {"code": "Welcome5", "usage_limit": "1", "once_per_customer": "yes"} == rows[0]
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["promotion.coupons_added", "promotion.coupons_added"]


def test_a_promotion_without_a_coupon_condition_says_codes_do_nothing(client, login_as, store):
    promotion, _ = create_promotion(store, TEN_OFF_SHOES)
    login_as("marketer")
    assert "so it applies without a\n    code" in text_of(client.get(f"/promotions/{promotion.id}"))


def test_disable_and_enable_switch_the_promotion_and_are_audited(client, login_as, store):
    promotion, _ = create_promotion(store, TEN_OFF_SHOES)
    login_as("owner")
    off = client.post(f"/promotions/{promotion.id}/disable", data={"csrf_token": client.csrf})
    assert off.status_code == 303 and off.headers["Location"].endswith(f"/promotions/{promotion.id}")
    db.session.refresh(promotion)
    page = text_of(client.get(f"/promotions/{promotion.id}"))
    assert promotion.disabled and "disabled: checkouts no longer apply it" in page and ">Disabled</span>" in page
    assert ">Enable</button>" in page
    client.post(f"/promotions/{promotion.id}/enable", data={"csrf_token": client.csrf})
    db.session.refresh(promotion)
    assert not promotion.disabled
    assert db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == \
        ["promotion.disabled", "promotion.enabled"]
    audit = text_of(client.get("/settings/audit"))
    assert "Promotion disabled" in audit and "Promotion enabled" in audit


def simulator_form(client, lines=(("runner", "", "Shoes", "1", "120.00"),), **extra) -> dict:
    data = {"csrf_token": client.csrf, "shipping.price": "7.50", "customer.email": "", "customer.groups": "",
            "customer.orders_count": "", "codes": "", "gift_cards": "", **extra}
    for index, values in enumerate(lines):
        data |= {f"lines[{index}].{key}": value for key, value in
                 zip(("product", "variant", "categories", "quantity", "unit_price"), values, strict=True)}
    return data


def test_the_simulator_prices_a_cart_and_explains_what_did_not_apply(client, login_as, store):
    shoes, _ = create_promotion(store, TEN_OFF_SHOES)
    coupon, _ = create_promotion(store, {"name": "Welcome", "priority": 20, "conditions": [{"type": "coupon"}],
                                         "actions": [{"type": "fixed_off_cart", "amount": "5.00"}]})
    request, _ = parse_coupon_request({"code": "WELCOME5", "usage_limit": 1})
    add_coupons(coupon, request)
    login_as("marketer")
    start = text_of(client.get("/promotions/simulator"))
    assert start.count('class="line-row') == 4 and "in USD, the store's currency" in start  # a header and 3

    priced = client.post("/promotions/simulator", data=simulator_form(
        client, lines=[("", "", "", "1", ""), ("runner", "runner-42", "Shoes", "1", "120.00"),
                       ("sock", "", "", "2", "5.00")], codes="welcome5, NOPE"), headers=HX)
    html = text_of(priced)
    assert priced.status_code == 200 and html.lstrip().startswith('<div id="simulator"') and "<html" not in html
    assert re.search(r"−12\.00</span> Shoes 10% over 100", html)  # the runner's discount and its promotion
    assert re.search(r'id="quote-discount-total">−17\.00<', html)
    assert re.search(r'id="quote-due">120\.50 USD<', html)  # 130 - 12 - 5 + 7.50
    assert f'href="/promotions/{coupon.id}">Welcome</a>' in html
    assert "Not usable: no coupon NOPE in this store" in html

    cheap = text_of(client.post("/promotions/simulator", data=simulator_form(
        client, lines=[("sock", "", "", "2", "5.00")])))
    assert "<html" in cheap and "Subtotal 10.00 is not above 100.00" in cheap
    assert "No valid coupon code entered for it" in cheap
    db.session.refresh(coupon)
    assert count_of(Checkout) == 0 and db.session.scalar(select(Coupon.times_used)) == 0 and shoes.times_used == 0


def test_simulator_problems_land_on_the_row_and_input_they_name(client, login_as, store):
    login_as("marketer")
    answer = client.post("/promotions/simulator", data=simulator_form(
        client, lines=[("", "", "", "1", ""), ("runner", "", "", "1", "12.345")], **{"customer.email": "nope"}))
    html = text_of(answer)
    assert answer.status_code == 400 and "Not priced." in html
    assert re.search(r'id="line-1-unit_price" name="lines\[1\]\.unit_price"[^>]*aria-invalid="true"', html, re.S)
    assert 'id="error-line-1">USD has 2 decimal places' in html
    assert 'id="error-sim-customer-email">This is not an email address' in html
    empty = text_of(client.post("/promotions/simulator", data=simulator_form(client, lines=[])))
    assert 'id="error-lines">Enter at least one cart line' in empty
    credit = text_of(client.post("/promotions/simulator", data=simulator_form(client, store_credit="1")))
    assert "Store credit belongs to a customer: enter their email" in credit


def test_simulator_lines_are_added_and_removed(client, login_as, store):
    login_as("marketer")
    more = text_of(client.post("/promotions/simulator", data=simulator_form(client, edit="add-line"), headers=HX))
    assert 'name="lines[1].product" type="text" value=""' in more and 'id="quote"' not in more
    fewer = text_of(client.post("/promotions/simulator", data=simulator_form(
        client, lines=[("a", "", "", "1", "1.00"), ("b", "", "", "1", "2.00")], edit="remove-line-0"), headers=HX))
    assert 'name="lines[0].product" type="text" value="b"' in fewer and 'name="lines[1].product"' not in fewer


def test_support_is_refused_everywhere(client, login_as, store):
    promotion, _ = create_promotion(store, TEN_OFF_SHOES)
    login_as("support")
    for url in ("/promotions", "/promotions/new", f"/promotions/{promotion.id}", f"/promotions/{promotion.id}/edit",
                f"/promotions/{promotion.id}/coupons.csv", "/promotions/simulator"):
        assert client.get(url).status_code == 403, url
    for url in ("/promotions", f"/promotions/{promotion.id}/edit", "/promotions/summary",
                f"/promotions/{promotion.id}/disable", f"/promotions/{promotion.id}/coupons", "/promotions/simulator"):
        assert client.post(url, data=form(client)).status_code == 403, url
    db.session.refresh(promotion)
    assert count_of(Promotion) == 1 and not promotion.disabled and count_of(Coupon) == 0
    assert ">Promotions</a>" not in text_of(client.get("/"))


def test_another_stores_promotion_and_a_bundle_are_not_found(client, login_as, store):
    theirs, _ = create_promotion(make_store("theirs"), TEN_OFF_SHOES)
    bundle, _ = create_bundle(store, {"name": "Kit", "items": [{"product": "a"}, {"product": "b"}], "percent": 10})
    login_as("marketer")
    for promotion_id in (theirs.id, bundle.id):
        for url in (f"/promotions/{promotion_id}", f"/promotions/{promotion_id}/edit",
                    f"/promotions/{promotion_id}/coupons.csv"):
            assert client.get(url).status_code == 404, url
        for url in (f"/promotions/{promotion_id}/edit", f"/promotions/{promotion_id}/disable",
                    f"/promotions/{promotion_id}/coupons"):
            assert client.post(url, data=form(client, code="MINE1")).status_code == 404, url
    listing = text_of(client.get("/promotions"))
    assert "Shoes 10% over 100" not in listing and "Kit" not in listing
    db.session.refresh(theirs)
    assert theirs.name == "Shoes 10% over 100" and not theirs.disabled and count_of(Coupon) == 0
