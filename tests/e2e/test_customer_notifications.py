"""A merchant toggles rules in a real browser, saves, and finds them still set later."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import make_app
from webapp.demo import seed_demo
from webapp.extensions import db
from webapp.notifications.rule_store import load_rules
from webapp.notifications.rules import RuleKey


def sign_in(page, base_url, email, password):
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Demo Outfitters")).to_be_visible()


def test_owner_toggles_saves_and_the_change_survives_reload_and_restart(page, live_server, live_app,
                                                                         tmp_path, redis_url):
    with live_app.app_context():
        store_id = seed_demo().id
    sign_in(page, live_server.url, "owner@demo.test", "demo-owner-pass")
    page.get_by_role("link", name="Customer Notifications").click()
    expect(page.get_by_role("heading", name="Customer Notifications", exact=True)).to_be_visible()

    sms = page.get_by_label("SMS for Fanvista · Returned")
    active = page.get_by_label("Active for Fanvista · Returned")
    expect(sms).not_to_be_checked()
    url_before = page.url
    sms.check()
    active.check()
    # Changes are shown in place, without leaving the page, before anything is saved.
    expect(page.get_by_text("1 rule with unsaved changes")).to_be_visible()
    page.get_by_label("Email for Shopify · Initiated").check()
    expect(page.get_by_text("2 rules with unsaved changes")).to_be_visible()
    expect(page.locator("#rule-order-fanvista-returned .badge")).to_have_text("Unsaved")
    assert page.url == url_before
    with live_app.app_context():
        assert not load_rules(store_id)[RuleKey("order", "fanvista", "returned")].active

    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved 2 rules.")).to_be_visible()

    page.reload()
    expect(page.get_by_label("SMS for Fanvista · Returned")).to_be_checked()
    expect(page.get_by_label("Active for Fanvista · Returned")).to_be_checked()
    expect(page.get_by_label("Email for Fanvista · Returned")).not_to_be_checked()

    # A restart is a new app process over the same database.
    live_server.stop()
    from tests.e2e.conftest import LiveServer

    restarted = LiveServer(make_app(live_app.config["SQLALCHEMY_DATABASE_URI"], redis_url, tmp_path))
    try:
        # Cookies are not per port, so the browser's session carries over to the new server.
        page.goto(f"{restarted.url}/settings/notifications")
        expect(page.get_by_label("SMS for Fanvista · Returned")).to_be_checked()
    finally:
        restarted.stop()


def test_toggles_work_from_the_keyboard(page, live_server, live_app):
    with live_app.app_context():
        seed_demo()
    sign_in(page, live_server.url, "owner@demo.test", "demo-owner-pass")
    page.goto(f"{live_server.url}/settings/notifications")
    email = page.get_by_label("Email for CTO · Initiated")
    email.focus()
    page.keyboard.press("Space")
    expect(page.get_by_text("1 rule with unsaved changes")).to_be_visible()
    # Focus stays on the toggle after the in-place update, so keyboard users keep their place.
    expect(page.get_by_label("Email for CTO · Initiated")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.get_by_label("SMS for CTO · Initiated")).to_be_focused()
    expect(page.get_by_text("1 rule with unsaved changes")).to_be_visible()
    expect(page.get_by_label("SMS for CTO · Initiated")).to_be_checked()


def test_support_user_does_not_see_settings(page, live_server, live_app):
    with live_app.app_context():
        seed_demo()
    sign_in(page, live_server.url, "support@demo.test", "demo-support-pass")
    expect(page.get_by_role("link", name="Customer Notifications")).to_have_count(0)
    response = page.goto(f"{live_server.url}/settings/notifications")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_stale_save_keeps_what_the_user_entered(page, live_server, live_app):
    with live_app.app_context():
        store = seed_demo()
        store_id = store.id
    sign_in(page, live_server.url, "owner@demo.test", "demo-owner-pass")
    page.goto(f"{live_server.url}/settings/notifications")
    page.get_by_label("Email for CTO · Ready").check()
    expect(page.get_by_text("1 rule with unsaved changes")).to_be_visible()
    with live_app.app_context():  # another owner saves meanwhile
        from webapp.notifications.rule_store import save_rules
        from webapp.notifications.rules import RuleState

        rules = load_rules(store_id)
        rules[RuleKey("order", "cto", "delivered")] = RuleState(True, frozenset({"sms"}))
        save_rules(store_id, None, rules, expected_revision=db.session.get(type(store), store_id).rules_revision)
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Someone else saved these rules")).to_be_visible()
    expect(page.get_by_label("Email for CTO · Ready")).to_be_checked()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved 2 rules.")).to_be_visible()
    with live_app.app_context():
        assert "email" in load_rules(store_id)[RuleKey("order", "cto", "ready")].channels
