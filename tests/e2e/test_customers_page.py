"""A marketer's afternoon in a real browser: a CSV with one bad row is refused with its line and
imports nothing; the fixed file imports; a customer is found, opened and opted out of SMS."""
from __future__ import annotations

import os

from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM  # noqa: F401 - the browser fixture needs it installed
from tests.e2e.test_customer_notifications import sign_in
from webapp.demo import seed_demo

FIXED = ("Email,Phone,First Name,Last Name,Tags,Accepts SMS Marketing\n"
         "ann@example.test,+1 415 555 0101,Ann,Archer,vip,yes\n"
         "bob@example.test,+1 415 555 0102,Bob,Brown,\"vip, wholesale\",yes\n"
         "carl@example.test,,Carl,Cruz,,\n")
BROKEN = FIXED.replace("bob@example.test", "bob@")


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/{name}.png", full_page=True)


def upload_and_import(page, text: str) -> None:
    page.get_by_label("CSV file").set_input_files(files=[{"name": "customers.csv", "mimeType": "text/csv",
                                                          "buffer": text.encode()}])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Import customers.csv")).to_be_visible()
    expect(page.get_by_label("Field for the column “Accepts SMS Marketing”")).to_have_value("sms_consent")
    page.get_by_label("Where did these customers give their consent?").select_option(label="At checkout in the shop")
    shot(page, "customers-import-preview")
    page.get_by_role("button", name="Import 3 rows").click()


def test_a_bad_row_is_refused_then_the_fixed_file_imports_and_a_customer_is_opted_out_of_sms(page, live_server,
                                                                                                  live_app):
    with live_app.app_context():
        seed_demo()
    sign_in(page, live_server.url, "marketer@demo.test", "demo-marketer-pass")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Import customers from a CSV file").click()

    upload_and_import(page, BROKEN)
    expect(page.get_by_text("Refused: nothing was imported.")).to_be_visible()
    expect(page.get_by_text("line 3: email “bob@” is not a valid email address")).to_be_visible()
    shot(page, "customers-import-refused")
    nav.get_by_role("link", name="Customers").click()
    page.get_by_label("Search").fill("example.test")
    page.get_by_label("Search").press("Enter")
    expect(page.get_by_text("No customers match.")).to_be_visible()

    page.goto(f"{live_server.url}/customers/imports")
    upload_and_import(page, FIXED)
    expect(page.get_by_text("Imported 3 rows: 3 new customers, 0 updated.")).to_be_visible()
    page.get_by_role("link", name="See the customers").click()
    page.get_by_label("Search").fill("bob")
    page.get_by_label("Search").press("Enter")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="Bob Brown")).to_be_visible()
    expect(results.get_by_role("link", name="Ann Archer")).to_have_count(0)
    shot(page, "customers-list")

    results.get_by_role("link", name="Bob Brown").click()
    expect(page.get_by_role("heading", name="Bob Brown")).to_be_visible()
    sms = page.locator("#consent-sms")
    expect(sms).to_contain_text("Opted in")
    sms.get_by_role("button", name="Opt out of SMS").click()
    expect(page.get_by_text("SMS: opted out.")).to_be_visible()
    expect(page.locator("#consent-sms")).to_contain_text("Opted out")
    expect(page.locator("#consent-sms").get_by_role("button", name="Opt in to SMS")).to_be_visible()
    latest = page.locator("#consent table").nth(1).locator("tbody tr").first
    expect(latest).to_contain_text("Opted out")
    expect(latest).to_contain_text("Staff")
    expect(latest).to_contain_text("marketer@demo.test")
    page.reload()  # the change is stored, not only swapped in
    expect(page.locator("#consent-sms")).to_contain_text("Opted out")
    shot(page, "customers-detail")
