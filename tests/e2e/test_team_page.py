"""An owner adds a colleague and later removes them in a real browser; the removed colleague's open
dashboard is sent to the sign-in page on their next click."""
from __future__ import annotations

import os

from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM  # noqa: F401 - the browser fixture needs it installed
from tests.e2e.test_customer_notifications import sign_in
from webapp.demo import seed_demo


def test_owner_adds_then_removes_a_colleague_who_is_signed_out_at_once(browser, page, live_server, live_app):
    with live_app.app_context():
        seed_demo()
    sign_in(page, live_server.url, "owner@demo.test", "demo-owner-pass")
    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    page.get_by_label("Email", exact=True).fill("robin@demo.test")
    page.get_by_role("radio", name="Support").check()
    page.get_by_label("First password").fill("robin-first-pass")
    page.get_by_role("button", name="Add to the team").click()
    expect(page.get_by_text("robin@demo.test can now sign in as support")).to_be_visible()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/team.png", full_page=True)

    colleague = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    colleague.goto(f"{live_server.url}/login")
    colleague.get_by_label("Email").fill("robin@demo.test")
    colleague.get_by_label("Password").fill("robin-first-pass")
    colleague.get_by_role("button", name="Sign in").click()
    colleague.get_by_role("link", name="Orders", exact=True).click()
    expect(colleague.get_by_role("heading", name="Orders", exact=True)).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row", name="robin@demo.test").get_by_role("button", name="Remove").click()
    expect(page.get_by_text("robin@demo.test was removed and signed out everywhere.")).to_be_visible()
    expect(page.get_by_role("row", name="robin@demo.test")).to_have_count(0)

    colleague.get_by_role("link", name="Activity", exact=True).click()
    expect(colleague.get_by_role("button", name="Sign in")).to_be_visible()
    colleague.context.close()
