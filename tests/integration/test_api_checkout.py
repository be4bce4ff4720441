"""The checkout API and the promotion endpoints: the issue's request and answer shapes exactly,
coupons used up only when an order is placed, gift cards and store credit drawn and refunded,
the order made with its "Initiated" event, refusals with a reason and nothing changed."""
import pytest
from sqlalchemy import func, select, update

from tests.factories import make_store
from webapp.dispatch.models import Notification
from webapp.events.api_keys import create_api_key
from webapp.events.models import InboundEvent
from webapp.extensions import db
from webapp.orders.models import Order
from webapp.pipeline import checkout_complete
from webapp.promotions import promotion_store
from webapp.promotions.models import Checkout, Coupon, GiftCard, GiftCardEntry, Promotion, StoreCreditEntry


@pytest.fixture
def auth(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'checkout').plaintext}"}


SHOES = {"name": "Shoes 10% over 100", "priority": 10, "exclusive": False,
         "conditions": [{"type": "subtotal_above", "amount": "100.00"}],
         "actions": [{"type": "percentage_off_items", "percent": 10, "categories": ["Shoes"]}]}


def cart(**extra):
    return {"currency": "USD", "customer": {"email": "ann@example.com", "groups": ["Retail"], "orders_count": 2},
            "lines": [{"id": "1", "product": "runner", "variant": "runner-42", "categories": ["Shoes"],
                       "quantity": 1, "unit_price": "120.00"},
                      {"id": "2", "product": "sock", "variant": None, "categories": [], "quantity": 2,
                       "unit_price": "5.00"}],
            "shipping": {"price": "7.50"}, "codes": [], "gift_cards": [], "store_credit": False, **extra}


def test_price_answers_the_issue_shape_and_changes_nothing(client, store, auth):
    assert client.post("/api/v1/promotions", headers=auth, json=SHOES).status_code == 201
    answer = client.post("/api/v1/checkout/price", headers=auth, json=cart())
    assert answer.status_code == 200
    body = answer.get_json()
    promotion_id = db.session.scalar(select(Promotion.id))
    runner = body["lines"][0]
    assert (runner["id"], runner["subtotal"], runner["total"]) == ("1", "120.00", "108.00")
    assert [(d["promotion_id"], d["amount"]) for d in runner["discounts"]] == [(promotion_id, "12.00")]
    assert (body["subtotal"], body["discount_total"], body["shipping"], body["total"], body["amount_due"]) == \
        ("130.00", "12.00", "7.50", "125.50", "125.50")
    assert body["applied"] == [{"promotion_id": promotion_id, "name": "Shoes 10% over 100", "amount": "12.00"}]
    assert body["payments"] == [] and body["not_applied"] == []
    cheap = client.post("/api/v1/checkout/price", headers=auth, json=cart(lines=cart()["lines"][1:])).get_json()
    assert cheap["not_applied"] == [{"promotion_id": promotion_id, "name": "Shoes 10% over 100",
                                     "reason": "subtotal 10.00 is not above 100.00"}]
    assert db.session.scalar(select(func.count()).select_from(Checkout)) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_coupon_is_used_once_at_completion_and_then_refused_with_nothing_changed(client, store, auth):
    promotion = client.post("/api/v1/promotions", headers=auth, json={
        "name": "Welcome", "conditions": [{"type": "coupon"}],
        "actions": [{"type": "fixed_off_cart", "amount": "10.00"}]}).get_json()
    coupons = client.post(f"/api/v1/promotions/{promotion['id']}/coupons", headers=auth,
                          json={"code": "Welcome10", "usage_limit": 1, "once_per_customer": True})
    assert coupons.status_code == 201 and coupons.get_json()["coupons"][0]["code"] == "Welcome10"
    priced = client.post("/api/v1/checkout/price", headers=auth, json=cart(codes=["WELCOME10"])).get_json()
    assert priced["discount_total"] == "10.00"
    done = client.post("/api/v1/checkout/complete", headers=auth, json=cart(codes=["welcome10"], number="1001"))
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["order_id"] and done.get_json()["total"] == "127.50"
    order = db.session.get(Order, done.get_json()["order_id"])
    assert (order.number, order.status) == ("1001", "initiated")
    assert db.session.scalar(select(Coupon.times_used)) == 1
    again = client.post("/api/v1/checkout/complete", headers=auth,
                        json=cart(codes=["welcome10"], number="1002", customer={"email": "bo@example.com"}))
    assert again.status_code == 409 and again.get_json()["error"] == "coupon welcome10 used up"
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    priced = client.post("/api/v1/checkout/price", headers=auth, json=cart(codes=["welcome10"])).get_json()
    assert priced["not_applied"][0]["reason"] == "coupon welcome10 used up"


def test_gift_cards_are_drawn_in_order_then_store_credit_and_refunds_give_them_back(client, store, auth):
    first = client.post("/api/v1/gift-cards", headers=auth, json={"value": "20.00", "currency": "USD",
                                                                  "recipient_email": "gift@example.com"})
    assert first.status_code == 201
    code = first.get_json()["code"]
    second = client.post("/api/v1/gift-cards", headers=auth, json={"code": "BIGCARD-2026", "value": "500.00",
                                                                   "currency": "USD"}).get_json()
    sent = db.session.scalars(select(Notification).where(Notification.message_type == "gift_card.issued")).all()
    assert [n.recipient for n in sent] == ["gift@example.com"] and code in sent[0].body
    customer_id = sent[0].customer_id
    credit = client.post(f"/api/v1/customers/{customer_id}/store-credit", headers=auth,
                         json={"amount": "15.00", "currency": "USD", "reason": "goodwill"})
    assert credit.status_code == 201 and credit.get_json()["balance"] == "15.00"
    body = cart(customer={"email": "gift@example.com"}, gift_cards=[code.lower(), "bigcard-2026"], store_credit=True,
                number="2001")
    done = client.post("/api/v1/checkout/complete", headers=auth, json=body)
    assert done.status_code == 201, done.get_json()
    payments = done.get_json()["payments"]
    assert [(p["kind"], p["amount"], p["balance_after"]) for p in payments] == [
        ("gift_card", "20.00", "0.00"), ("gift_card", "117.50", "382.50")]
    assert done.get_json()["amount_due"] == "0.00"
    assert db.session.get(GiftCard, second["id"]).balance_minor == 38250
    refunded = client.post("/api/v1/checkout/refund", headers=auth, json={"number": "2001"})
    assert refunded.status_code == 200
    assert db.session.get(GiftCard, second["id"]).balance_minor == 50000
    assert client.post("/api/v1/checkout/refund", headers=auth, json={"number": "2001"}).status_code == 409
    kinds = db.session.scalars(select(GiftCardEntry.kind).order_by(GiftCardEntry.id)).all()
    assert kinds == ["issue", "issue", "redeem", "redeem", "refund", "refund"]
    assert db.session.scalar(select(func.count()).select_from(StoreCreditEntry)) == 1  # cards paid it all


def test_bad_input_names_the_field(client, store, auth):
    bad = client.post("/api/v1/checkout/price", headers=auth, json=cart(lines=[{"id": "1", "product": "x",
                                                                              "quantity": 1, "unit_price": "1.001"}]))
    assert bad.status_code == 422 and bad.get_json()["field"] == "lines[0].unit_price"
    assert client.post("/api/v1/promotions", headers=auth, json={**SHOES, "actions": [
        {"type": "percentage_off_cart", "percent": 150}]}).get_json()["field"] == "actions[0].percent"
    assert client.post("/api/v1/bundles", headers=auth, json={"name": "Kit", "items": []}).get_json()[
        "field"] == "items"
    assert client.post("/api/v1/gift-cards", headers=auth, json={"value": "-5", "currency": "USD"}).get_json()[
        "field"] == "value"
    assert client.post("/api/v1/checkout/complete", headers=auth, json=cart()).get_json()["field"] == "number"
    assert client.post("/api/v1/checkout/price", headers=auth, json=cart(gift_cards=["NOPE-NOPE"])).get_json()[
        "field"] == "gift_cards[0]"
    assert db.session.scalar(select(func.count()).select_from(Promotion)) == 0


def test_a_bundle_applies_per_complete_set(client, store, auth):
    bundle = client.post("/api/v1/bundles", headers=auth, json={
        "name": "Runner kit", "items": [{"product": "runner", "quantity": 1}, {"product": "sock", "quantity": 2}],
        "amount": "5.00"})
    assert bundle.status_code == 201
    priced = client.post("/api/v1/checkout/price", headers=auth, json=cart()).get_json()
    assert priced["discount_total"] == "5.00" and priced["applied"][0]["name"] == "Runner kit"


def test_another_stores_promotions_and_cards_are_invisible(client, store, auth):
    other = make_store(slug="other")
    other_auth = {"Authorization": f"Bearer {create_api_key(other.id, 'x').plaintext}"}
    promotion = client.post("/api/v1/promotions", headers=other_auth, json=SHOES).get_json()
    card = client.post("/api/v1/gift-cards", headers=other_auth, json={"value": "5.00", "currency": "USD"}).get_json()
    assert client.get(f"/api/v1/promotions/{promotion['id']}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/gift-cards/{card['id']}", headers=auth).status_code == 404
    assert client.post("/api/v1/checkout/price", headers=auth, json=cart()).get_json()["applied"] == []
    assert client.post("/api/v1/checkout/price", headers=auth, json=cart(gift_cards=[card["code"]])).status_code == 422


def test_a_free_product_comes_and_goes_with_its_condition(client, store, auth):
    gift = client.post("/api/v1/promotions", headers=auth, json={
        "name": "Tote over 100", "conditions": [{"type": "subtotal_above", "amount": "100.00"}],
        "actions": [{"type": "free_product", "product": "tote", "quantity": 1}]}).get_json()
    first = client.post("/api/v1/checkout/price", headers=auth, json=cart()).get_json()
    tote = first["lines"][-1]
    assert (tote["product"], tote["total"], tote["gift_of"]) == ("tote", "0.00", gift["id"])
    # The storefront sends the answer's lines back; without the runner the cart is under 100.
    lines = [line for line in cart()["lines"] if line["id"] != "1"] + [
        {"id": tote["id"], "product": "tote", "quantity": 1, "unit_price": "0.00"}]
    second = client.post("/api/v1/checkout/price", headers=auth, json=cart(lines=lines)).get_json()
    assert [line["product"] for line in second["lines"]] == ["sock"]
    assert second["not_applied"][0]["reason"] == "subtotal 10.00 is not above 100.00"


def test_a_scheduled_promotion_says_when_it_starts_in_the_stores_timezone(client, store, auth):
    store.timezone = "Europe/Berlin"
    db.session.commit()
    client.post("/api/v1/promotions", headers=auth, json={**SHOES, "starts_at": "2099-01-01T09:00"})
    priced = client.post("/api/v1/checkout/price", headers=auth, json=cart()).get_json()
    assert priced["not_applied"][0]["reason"] == "starts 2099-01-01 09:00 (Europe/Berlin)"


def test_a_coupon_export_never_hands_a_spreadsheet_a_formula(client, store, auth):
    promotion = client.post("/api/v1/promotions", headers=auth, json={**SHOES, "name": "=HYPERLINK(1)"}).get_json()
    client.post(f"/api/v1/promotions/{promotion['id']}/coupons", headers=auth, json={"count": 2})
    exported = promotion_store.coupons_csv(db.session.get(Promotion, promotion["id"]))
    assert exported.splitlines()[1].split(",")[1] == "'=HYPERLINK(1)"


def test_amounts_too_large_for_any_cart_are_refused_not_crashed_on(client, store, auth):
    for price in ("1e30", "9" * 40, "100000000.01"):
        answer = client.post("/api/v1/checkout/price", headers=auth, json=cart(lines=[
            {"id": "1", "product": "x", "quantity": 1, "unit_price": price}]))
        assert answer.status_code == 422 and answer.get_json()["field"] == "lines[0].unit_price", price
    many = client.post("/api/v1/checkout/price", headers=auth, json=cart(lines=[
        {"id": "1", "product": "x", "quantity": 10_000, "unit_price": "99999999.00"}]))
    assert many.status_code == 422 and many.get_json()["field"] == "lines"


def test_a_card_disabled_after_pricing_is_not_spent(client, store, auth, monkeypatch):
    card = client.post("/api/v1/gift-cards", headers=auth, json={"value": "50.00", "currency": "USD"}).get_json()
    real_quote = checkout_complete.pricing.quote

    def quote_then_disable(*args):  # staff disable the card between the checkout's pricing and its redemption
        found = real_quote(*args)
        db.session.execute(update(GiftCard).where(GiftCard.id == card["id"]).values(disabled=True))
        return found

    monkeypatch.setattr(checkout_complete.pricing, "quote", quote_then_disable)
    answer = client.post("/api/v1/checkout/complete", headers=auth, json=cart(gift_cards=[card["code"]], number="9"))
    assert answer.status_code == 409 and "no longer holds" in answer.get_json()["error"]
    assert db.session.get(GiftCard, card["id"]).balance_minor == 5000
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_conflict_inside_the_orders_ingest_refuses_the_checkout_and_writes_nothing(client, store, auth):
    """The order's event is already recorded (an earlier completion that died halfway through the
    ingest, or a push of the same key): the ingest's insert conflicts, and the checkout with its
    coupon use rolls back with it instead of the ingest retrying without them."""
    promotion = client.post("/api/v1/promotions", headers=auth, json={
        "name": "Once", "conditions": [{"type": "coupon"}], "actions": [{"type": "fixed_off_cart", "amount": "1.00"}]})
    client.post(f"/api/v1/promotions/{promotion.get_json()['id']}/coupons", headers=auth, json={"code": "ONE"})
    db.session.add(InboundEvent(store_id=store.id, source="api", topic="checkout/complete", dedupe_key="checkout:77",
                                outcome="processed", payload={}))
    db.session.commit()
    answer = client.post("/api/v1/checkout/complete", headers=auth, json=cart(codes=["ONE"], number="77"))
    assert answer.status_code == 409 and answer.get_json()["field"] == "number"
    assert db.session.scalar(select(func.count()).select_from(Checkout)) == 0
    assert db.session.scalar(select(Coupon.times_used)) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
