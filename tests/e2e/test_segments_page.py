"""A marketer builds a segment in a real browser: two conditions, the live count following each
change (and the channel), save, and the segment in the list. And charts.js draws a time series
from a data attribute under the app's CSP (a page that exists only in this test)."""
from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM  # noqa: F401 - the browser fixture needs it installed
from tests.e2e.test_customer_notifications import sign_in
from webapp.accounts.models import Store
from webapp.campaigns.audience import reach
from webapp.campaigns.segment_rules import parse
from webapp.demo import DEMO_SLUG, seed_demo
from webapp.extensions import db

CHART = {"x": ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"],
         "series": [{"label": "Sent", "values": [120, 180, 90, 210]}, {"label": "Failed", "values": [2, 5, None, 1]}],
         "y_label": "messages"}


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/{name}.png", full_page=True)


@pytest.fixture
def live_app(live_app):
    """The app with one extra page for charts.js; no page of the dashboard draws a chart yet."""
    def chart_page():
        return ("<!doctype html><html lang='en'><head><title>Chart</title><link rel='icon' href='data:,'>"
                "<link rel='stylesheet' href='/static/app.css'><script src='/static/charts.js' defer></script></head>"
                "<body><main class='page'><h1>Chart</h1>"
                "<div class='chart' id='sent-chart' aria-label='Messages sent per day' "
                f"data-series='{json.dumps(CHART)}'></div></main></body></html>")

    live_app.add_url_rule("/test-chart", "test_chart", chart_page)
    return live_app


def expected(live_app, match: str, conditions: list[dict], channel: str = "email") -> dict:
    with live_app.app_context():
        store_id = db.session.query(Store.id).filter_by(slug=DEMO_SLUG).scalar()
        parsed_match, parsed, problems = parse(match, conditions)
        assert problems == []
        return reach(store_id, parsed_match, parsed, channel).as_dict()


def rows_change(page, action) -> None:
    """Do what re-draws the rows, and wait for the recount that follows once they have settled
    (before that, HTMX has not yet wired the new rows up; a person is never that fast)."""
    with page.expect_response(lambda response: response.url.endswith("/segments/count")):
        action()


def expect_count(page, numbers: dict) -> None:
    expect(page.locator("#count-matched")).to_have_text(str(numbers["matched"]))
    expect(page.locator("#count-reachable")).to_have_text(str(numbers["reachable"]))
    expect(page.locator("#count-not-opted-in strong")).to_have_text(str(numbers["excluded"]["not_opted_in"]))


def test_a_marketer_builds_a_segment_with_two_conditions_and_watches_the_count(page, live_server, live_app):
    with live_app.app_context():
        seed_demo()
    newsletter = {"field": "tags", "op": "any_of", "value": ["newsletter"]}
    vip = {"field": "groups", "op": "any_of", "value": ["vip"]}
    vip_or_retail = {**vip, "value": ["vip", "retail"]}
    everyone = expected(live_app, "all", [])
    only_newsletter = expected(live_app, "all", [newsletter])
    newsletter_vips = expected(live_app, "all", [newsletter, vip])
    both_groups = expected(live_app, "all", [newsletter, vip_or_retail])
    assert len({everyone["matched"], only_newsletter["matched"], newsletter_vips["matched"]}) == 3  # the demo data

    sign_in(page, live_server.url, "marketer@demo.test", "demo-marketer-pass")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="Segments", exact=True).click()
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
    shot(page, "segments-list-demo")
    page.get_by_role("link", name="New segment").click()
    expect(page.get_by_role("heading", name="New segment", exact=True)).to_be_visible()
    # One empty row to start with: left out of the count until it has a value, and the panel says so.
    expect(page.locator("#count")).to_contain_text("Condition 1 has no value yet")
    expect_count(page, everyone)

    page.get_by_label("Name").fill("Newsletter VIPs")
    expect(page.get_by_label("Condition 1 field")).to_have_value("tags")
    page.get_by_label("Condition 1 value").fill("newsletter")
    expect_count(page, only_newsletter)

    rows_change(page, page.get_by_role("button", name="Add condition").click)
    rows_change(page, lambda: page.get_by_label("Condition 2 field").select_option(label="Shopper groups"))
    expect(page.get_by_label("Condition 2 operator")).to_have_value("any_of")
    expect(page.get_by_label("Condition 2 value")).to_have_attribute("placeholder", "VIP, Wholesale")
    page.get_by_label("Condition 2 value").fill("VIP")
    expect_count(page, newsletter_vips)
    expect(page.locator("#count")).to_contain_text("Not opted in to email:")

    page.get_by_label("Condition 2 value").fill("VIP, Retail")
    expect_count(page, both_groups)
    page.get_by_label("Count for").select_option(label="SMS")
    sms = expected(live_app, "all", [newsletter, vip_or_retail], "sms")
    expect_count(page, sms)
    expect(page.locator("#count")).to_contain_text("reachable by SMS")
    shot(page, "segments-editor")

    # A row can go again; the count follows.
    rows_change(page, page.get_by_role("button", name="Add condition").click)
    expect(page.get_by_label("Condition 3 field")).to_be_visible()
    rows_change(page, page.get_by_role("button", name="Remove condition 3").click)
    expect(page.get_by_label("Condition 3 field")).to_have_count(0)
    expect_count(page, sms)

    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_text("Segment “Newsletter VIPs” saved.")).to_be_visible()
    row = page.locator("table.segment-table tbody tr").filter(has_text="Newsletter VIPs")
    expect(row).to_contain_text("Tags include any of “newsletter” and shopper groups include any of “retail”, “vip”")
    shot(page, "segments-list")

    row.get_by_role("link", name="Newsletter VIPs").click()
    expect(page.get_by_label("Condition 2 value")).to_have_value("retail, vip")
    expect_count(page, both_groups)


def test_charts_js_draws_a_time_series_from_a_data_attribute(page, live_server):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/test-chart")
    chart = page.locator("#sent-chart")
    expect(chart).to_have_attribute("data-chart-drawn", "true")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator(".u-legend")).to_contain_text("Sent")
    expect(chart.locator(".u-legend")).to_contain_text("Failed")
    assert chart.locator("canvas").bounding_box()["width"] > 300
    shot(page, "chart-smoke")
    assert problems == []
