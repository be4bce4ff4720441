"""An owner sets up an email provider in a real browser, tests it, and reorders the failover chain."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_customer_notifications import sign_in
from tests.fakes.providers import SENDGRID_KEY, FakeSendGrid
from webapp.channels.providers.registry import provider_chain
from webapp.demo import seed_demo


def settled(page) -> None:
    """Wait until HTMX has swapped and wired up the new content, as a person's next click would."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, "
                           ".htmx-added')")


@pytest.fixture
def fake_sendgrid():
    fake = FakeSendGrid()
    yield fake
    fake.close()


def test_owner_adds_sendgrid_sends_a_test_and_reorders(page, live_server, live_app, fake_sendgrid):
    with live_app.app_context():
        store_id = seed_demo().id
    sign_in(page, live_server.url, "owner@demo.test", "demo-owner-pass")
    page.get_by_role("link", name="Providers", exact=True).click()
    expect(page.get_by_role("heading", name="Providers", exact=True)).to_be_visible()
    email = page.locator("#channel-email")
    expect(email.get_by_text("recorded by the sandbox")).to_be_visible()

    email.get_by_role("link", name="Add provider for Email").click()
    settled(page)
    email.get_by_label("Provider", exact=True).select_option("sendgrid")
    # The provider's own fields are swapped in for the choice.
    email.get_by_label("API key").fill(SENDGRID_KEY)
    email.get_by_label("Sender address").fill("orders@demo.test")
    email.get_by_label("API base URL (regional endpoint or test server)").fill(fake_sendgrid.url)
    email.get_by_role("button", name="Add provider").click()
    expect(page.get_by_text("SendGrid added to Email as provider 1.")).to_be_visible()
    expect(email.get_by_text("••••cdef")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(SENDGRID_KEY)

    settled(page)
    email.get_by_label("Send to email address").fill("me@demo.test")
    email.get_by_role("button", name="Send test message through SendGrid").click()
    expect(email.get_by_text("Accepted by SendGrid, id sg-1.")).to_be_visible()
    assert fake_sendgrid.mails[0]["subject"] == "Test message from NotifyHub"

    email.get_by_role("link", name="Add provider for Email").click()
    settled(page)
    email.get_by_label("Provider", exact=True).select_option("sandbox")
    expect(email.get_by_text("needs no settings")).to_be_visible()
    email.get_by_role("button", name="Add provider").click()
    expect(page.get_by_text("added to Email as provider 2.")).to_be_visible()
    settled(page)

    email.get_by_role("button", name="Move up Sandbox (records, sends nothing)").click()
    expect(page.get_by_text("Sandbox (records, sends nothing) is now provider 1 for Email.")).to_be_visible()
    # The moved provider's other arrow keeps the keyboard focus after the in-place update.
    expect(email.get_by_role("button", name="Move down Sandbox (records, sends nothing)")).to_be_focused()
    with live_app.app_context():
        assert [code for code, _ in provider_chain(store_id, "email")] == ["sandbox", "sendgrid"]

    settled(page)
    page.once("dialog", lambda dialog: dialog.accept())
    email.get_by_role("button", name="Remove SendGrid").click()
    expect(page.get_by_text("SendGrid removed from Email; its credentials were deleted.")).to_be_visible()
    with live_app.app_context():
        assert [code for code, _ in provider_chain(store_id, "email")] == ["sandbox"]
