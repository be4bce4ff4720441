"""Promotions in plain words, their status, and generated codes."""
from datetime import UTC, datetime

from webapp.promotions import codes
from webapp.promotions.summary import describe, status


def test_the_summary_reads_like_the_issue():
    text = describe([{"type": "subtotal_above", "amount": "100.00"}, {"type": "customer_group", "group": "Wholesale"}],
                    [{"type": "percentage_off_items", "percent": 10, "categories": ["Shoes"]}],
                    ends_at=datetime(2026, 12, 31, 22, 59, tzinfo=UTC), timezone="Europe/Berlin")
    assert text == "10% off Shoes when the cart is over 100.00, for Wholesale customers, until 31 Dec 2026 23:59"


def test_every_action_has_words():
    assert describe([], [{"type": "buy_x_get_y", "buy": {"quantity": 2, "products": ["tee"]},
                          "get": {"quantity": 1, "products": ["tee"]}, "percent": 100, "max_applications": 2}]) == \
        "Buy 2 of tee, get 1 of tee free, up to 2 times"
    assert describe([{"type": "coupon"}], [{"type": "free_shipping", "max_shipping": "10.00"}]) == \
        "Free shipping (up to 10.00), with a coupon code"
    assert describe([], [{"type": "bundle", "items": [{"product": "pot", "quantity": 1}], "amount": "5.00"}]) == \
        "5.00 off each set of 1 × pot"


def test_status_follows_the_window_and_the_switch():
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert status(False, None, None, now) == "active"
    assert status(False, datetime(2026, 12, 3, tzinfo=UTC), None, now) == "scheduled"
    assert status(False, None, datetime(2026, 12, 1, tzinfo=UTC), now) == "expired"
    assert status(True, None, None, now) == "disabled"


def test_generated_codes_avoid_look_alikes_and_compare_without_case():
    code = codes.generate(codes.GIFT_CARD_LENGTH)
    assert len(code.replace("-", "")) == 16 and not set(code) & set("01ILO")
    assert codes.key(" Save10 ") == "save10"
    assert codes.typed_problem("ok-code") is None and codes.typed_problem("no spaces") is not None
