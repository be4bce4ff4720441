"""An owner changes how "Payment failed" is routed in a real browser (moves SMS first, switches to
first reachable, saves), finds it customised after a reload, then resets it to the default."""
from __future__ import annotations

import os

from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM  # noqa: F401 - the browser fixture needs it installed
from tests.e2e.test_customer_notifications import sign_in
from webapp.demo import seed_demo
from webapp.extensions import db
from webapp.notifications.route_store import store_route
from webapp.notifications.routing import FIRST, Route, default_route


def _screenshot(page, name: str) -> None:
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/{name}.png", full_page=True)


def test_owner_changes_a_route_and_resets_it(page, live_server, live_app):
    with live_app.app_context():
        store_id = seed_demo().id
    sign_in(page, live_server.url, "owner@demo.test", "demo-owner-pass")
    page.get_by_role("link", name="Routing", exact=True).click()
    expect(page.get_by_role("heading", name="Routing", exact=True)).to_be_visible()
    _screenshot(page, "routing")

    card = page.locator("#route-payment-failed")
    expect(card.get_by_text("Default", exact=True)).to_be_visible()
    card.get_by_role("button", name="Move SMS up").click()
    expect(card.get_by_text("Unsaved changes")).to_be_visible()
    card.get_by_label("First reachable, in this order").check()
    expect(card.get_by_text("Tries SMS, then Email")).to_be_visible()  # re-rendered as edited, not saved
    card.get_by_role("button", name="Save Payment failed").click()
    expect(card.get_by_text("Payment failed: saved, first reachable of SMS → Email.")).to_be_visible()
    expect(card.get_by_text("Customised", exact=True)).to_be_visible()
    _screenshot(page, "routing-saved")
    with live_app.app_context():
        assert store_route(store_id, "payment.failed") == Route(FIRST, ("sms", "email"))

    page.reload()
    card = page.locator("#route-payment-failed")
    expect(card.get_by_text("Customised", exact=True)).to_be_visible()
    expect(card.get_by_label("First reachable, in this order")).to_be_checked()
    card.get_by_role("button", name="Reset to default").click()
    expect(card.get_by_text("Payment failed: back to the default")).to_be_visible()
    expect(card.get_by_text("Default", exact=True)).to_be_visible()
    expect(card.get_by_label("All of these channels")).to_be_checked()
    with live_app.app_context():
        assert store_route(store_id, "payment.failed") == default_route("payment.failed")
        db.session.remove()
