"""A marketer's campaign in a real browser, with a real RQ worker (and its scheduler) delivering:
a segment is made, a campaign composed with a live preview, a test sent, the campaign scheduled a
minute ahead; the progress bar is watched until 100 %, then the results and the chart are there."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM  # noqa: F401 - the browser fixture needs it installed
from tests.e2e.test_customer_notifications import sign_in
from tests.e2e.test_customers_page import shot
from tests.workers import WorkerProcess
from webapp.demo import seed_demo


@pytest.fixture
def worker(live_app, redis_url, tmp_path):
    process = WorkerProcess(live_app, redis_url, tmp_path / "worker.log", with_scheduler=True)
    yield process
    process.stop()


def test_a_campaign_is_composed_tested_scheduled_and_watched_to_the_end(page, live_server, live_app, worker):
    with live_app.app_context():
        seed_demo()
    sign_in(page, live_server.url, "marketer@demo.test", "demo-marketer-pass")
    page.goto(f"{live_server.url}/segments/new")
    page.get_by_label("Name", exact=True).fill("Email newsletter")
    with page.expect_response(lambda r: r.url.endswith("/segments/count")):
        page.get_by_label("Condition 1 value").fill("newsletter")
    page.get_by_role("button", name="Save segment").click()

    page.goto(f"{live_server.url}/campaigns")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name", exact=True).fill("Winter sale")
    page.get_by_label("Segment").select_option(label="Email newsletter")
    page.locator("#c-subject-0").fill("Winter sale, {{ customer.first_name or 'friend' }}")
    with page.expect_response(lambda r: r.url.endswith("/campaigns/preview")):
        page.locator("#c-body-0").fill("<p>Hello {{ customer.first_name }}, 20 % off this week.</p>")
    expect(page.locator("#campaign-preview")).to_contain_text("Winter sale, Alex")
    shot(page, "campaign-compose")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("heading", name="Winter sale")).to_be_visible()

    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".flash-success")).to_contain_text("Test to marketer@demo.test")

    # A minute ahead, in the store's timezone (the demo store's is New York).
    ahead = datetime.now(ZoneInfo("America/New_York")) + timedelta(minutes=1)
    page.get_by_label("At a time in the store's timezone", exact=False).check()
    page.get_by_label("Date and time").fill(ahead.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Send campaign").click()
    expect(page.locator(".flash-success")).to_contain_text("Scheduled: starts")
    expect(page.locator("#campaign-progress .pill")).to_have_text("Scheduled")
    shot(page, "campaign-scheduled")

    expect(page.locator("[data-percent]")).to_have_text("100 %", timeout=150_000)
    expect(page.locator("#campaign-progress .pill")).to_have_text("Sent", timeout=30_000)
    # Ana, Bob and Dieter read the newsletter or hiking...: Ana and Bob are tagged and opted in.
    expect(page.locator('[data-count="sent"]')).to_have_text("2")
    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    expect(page.locator(".campaign-chart canvas")).to_be_visible()
    shot(page, "campaign-done")
    page.get_by_role("link", name=re.compile("Every recipient")).click()
    expect(page.locator("tbody tr")).to_have_count(2)
