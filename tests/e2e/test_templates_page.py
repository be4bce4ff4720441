"""A marketer edits a template in a real browser: the preview follows the typing, an unknown
variable cannot be saved, and a restored version is what the next message sends."""
from __future__ import annotations

import os

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.test_customer_notifications import sign_in
from webapp.demo import seed_demo
from webapp.dispatch.models import Notification
from webapp.events.api_keys import create_api_key
from webapp.extensions import db


def test_marketer_previews_saves_and_restores_a_template(page, live_server, live_app):
    with live_app.app_context():
        store_id = seed_demo().id
        key = create_api_key(store_id, "e2e").plaintext
    sign_in(page, live_server.url, "marketer@demo.test", "demo-marketer-pass")
    page.get_by_role("link", name="Templates", exact=True).click()
    page.get_by_role("link", name="Order being prepared · SMS").click()
    expect(page.get_by_role("heading", name="Order being prepared · SMS")).to_be_visible()

    body = page.get_by_label("Message")
    preview = page.get_by_test_id("text-preview")
    body.fill("Demo: {{ order.number }} is being packed")
    expect(preview).to_have_text("Demo: #1042 is being packed")  # re-rendered while typing
    expect(page.get_by_test_id("sms-size")).to_contain_text("1 segment")

    body.fill("Demo: {{ order.nmber }} v0")
    expect(page.get_by_text("Cannot be saved yet:")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Not saved.")).to_be_visible()
    expect(page.get_by_label("Message")).to_have_value("Demo: {{ order.nmber }} v0")  # kept on the page

    for version in ("v1", "v2"):
        page.get_by_label("Message").fill(f"Demo: {{{{ order.number }}}} packed {version}")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("The next message uses it.")).to_be_visible()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/template_editor.png", full_page=True)
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.get_by_text("Restored as version 3.")).to_be_visible()
    expect(page.get_by_label("Message")).to_have_value("Demo: {{ order.number }} packed v1")

    event = {"source": "cto", "type": "order.status", "status": "processing",
             "order": {"id": "CTO-E2E", "number": "CTO-E2E",
                       "customer": {"email": "a@example.com", "phone": "+14155550142"}}}
    answer = httpx.post(f"{live_server.url}/api/v1/events", json=event, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 201
    with live_app.app_context():
        bodies = {row.channel: row.body for row in db.session.scalars(select(Notification))}
    assert bodies["sms"] == "Demo: CTO-E2E packed v1"
