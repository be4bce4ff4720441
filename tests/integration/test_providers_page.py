"""Settings → Providers: owners add, edit, order, switch off, remove and test a store's providers."""
from __future__ import annotations

import itertools
import json
import re
import time
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import func, select, text

from tests.factories import make_store
from tests.fakes.http import FakeServer, Reply
from tests.fakes.providers import SENDGRID_KEY, FakeSendGrid
from tests.runtime import settings_of
from webapp.audit.models import AuditEntry
from webapp.channels.accounts import configure_provider
from webapp.channels.models import ProviderConfig, SandboxMessage
from webapp.channels.providers.registry import provider_chain
from webapp.channels.registry import channels
from webapp.channels.test_sends import send_test_message
from webapp.crypto import vault
from webapp.dispatch.models import Notification, NotificationEvent
from webapp.extensions import db
from webapp.timeutil import utcnow
from webapp.views.providers import fallback_spec

PAGE = "/settings/providers"
HX = {"HX-Request": "true"}
SENDGRID_FIELDS = {"provider": "sendgrid", "fields_for": "sendgrid", "field-api_key": SENDGRID_KEY,
                   "field-from_email": "orders@acme.test", "field-from_name": "Acme Goods",
                   "field-event_webhook_public_key": "", "base_url": ""}
_keys = itertools.count(1)


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, **kwargs)


def rows(store) -> list[ProviderConfig]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProviderConfig).where(ProviderConfig.store_id == store.id)
                                   .order_by(ProviderConfig.channel, ProviderConfig.position)))


def audit_actions(store) -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.store_id == store.id)
                                   .order_by(AuditEntry.id)))


def database_text() -> str:
    with db.engine.connect() as conn:
        return "\n".join(repr(tuple(row)) for table in db.metadata.sorted_tables
                         for row in conn.execute(text(f"SELECT * FROM {table.name}")))  # noqa: S608


def sendgrid(store, **extra) -> ProviderConfig:
    return configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY,
                                                              "from_email": "orders@acme.test"}, **extra)


@pytest.fixture
def fake_sendgrid():
    fake = FakeSendGrid()
    yield fake
    fake.close()


def test_owner_sees_one_section_per_channel_each_falling_back_to_the_sandbox(client, login_as, store):
    login_as("owner")
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<a href="/settings/providers" aria-current="page">Providers</a>' in html
    for channel in channels():
        label = escape(channel.label)
        assert f'id="channel-{channel.code}"' in html
        assert f">{label}</h2>" in html
        assert f'Add provider<span class="visually-hidden"> for {label}</span>' in html
    assert ">Team &amp; ops alerts</h2>" in html
    sandboxed = [c for c in channels() if fallback_spec(c.code).code == "sandbox"]
    assert html.count("recorded by the <strong>sandbox</strong>") == len(sandboxed) >= 5
    for channel in channels():
        if channel not in sandboxed:  # the in-app inbox is in_app's built-in default
            label = escape(fallback_spec(channel.code).label)
            assert f"go through the default, <strong>{label}</strong>" in re.sub(r"\s+", " ", html)


@pytest.mark.parametrize("role", ["marketer", "support"])
def test_marketer_and_support_get_403_and_no_link(client, login_as, store, role):
    login_as(role)
    assert client.get(PAGE).status_code == 403
    assert post(client, f"{PAGE}/channels/email", SENDGRID_FIELDS).status_code == 403
    row = sendgrid(store)
    for path in (f"/{row.id}/enabled", f"/{row.id}/move", f"/{row.id}/remove", f"/{row.id}/test"):
        assert post(client, PAGE + path, {"enabled": "0", "direction": "down"}).status_code == 403
    assert client.get(f"{PAGE}/{row.id}/edit").status_code == 403
    assert "/settings/providers" not in client.get("/").get_data(as_text=True)
    assert rows(store)[0].enabled and audit_actions(store) == ["provider.configured"]


def test_add_form_swaps_in_the_chosen_providers_fields(client, login_as, store):
    login_as("owner")
    form = client.get(f"{PAGE}/channels/email/add", headers=HX).get_data(as_text=True)
    assert form.lstrip().startswith('<section class="card provider-channel" id="channel-email"')
    assert '<label for="provider-choice-email">Provider</label>' in form
    assert '<option value="sendgrid" >SendGrid</option>' in form
    assert 'hx-get="/settings/providers/channels/email/fields"' in form
    assert "twilio" not in form  # SMS and WhatsApp only
    fields = client.get(f"{PAGE}/channels/email/fields?provider=sendgrid", headers=HX).get_data(as_text=True)
    assert re.search(r'<label for="pf-email-api_key">API key <span class="required">\(required\)</span></label>',
                     fields)
    assert re.search(r'<input type="password" id="pf-email-api_key" name="field-api_key" autocomplete="off"', fields)
    assert re.search(r'<input type="text" id="pf-email-from_email" name="field-from_email"', fields)
    assert 'Sender name <span class="muted">(optional)</span>' in fields
    assert "API base URL (regional endpoint or test server)" in fields
    none = client.get(f"{PAGE}/channels/email/fields?provider=twilio", headers=HX).get_data(as_text=True)
    assert "Choose a provider to see the settings it needs." in none


def test_adding_sendgrid_encrypts_the_key_and_shows_only_its_last_four(client, login_as, store):
    owner = login_as("owner")
    response = post(client, f"{PAGE}/channels/email", SENDGRID_FIELDS, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "SendGrid added to Email as provider 1." in html
    assert "••••cdef" in html and "orders@acme.test" in html and SENDGRID_KEY not in html
    [row] = rows(store)
    assert (row.channel, row.provider, row.position, row.enabled) == ("email", "sendgrid", 0, True)
    assert row.settings == {"from_email": "orders@acme.test", "from_name": "Acme Goods"}
    assert json.loads(vault().decrypt(row.secrets_encrypted)) == {"api_key": SENDGRID_KEY}
    assert SENDGRID_KEY not in database_text()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.store_id == store.id))
    assert (entry.action, entry.user_id, entry.target) == ("provider.configured", owner.id, "SendGrid for email")
    page = client.get(PAGE).get_data(as_text=True)
    assert "••••cdef" in page and SENDGRID_KEY not in page
    assert "No attempts in the last 7 days" in page
    # Without JavaScript the same form answers with a redirect back to the channel.
    plain = post(client, f"{PAGE}/channels/sms", {"provider": "sandbox", "fields_for": "sandbox"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/settings/providers#channel-sms")
    assert "Sandbox (records, sends nothing) added to SMS" in client.get(PAGE).get_data(as_text=True)


def test_invalid_provider_settings_answer_422_keep_the_input_and_write_nothing(client, login_as, store):
    login_as("owner")
    missing = post(client, f"{PAGE}/channels/email", {**SENDGRID_FIELDS, "field-api_key": ""}, headers=HX)
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert "SendGrid needs: API key." in html and 'role="alert"' in html
    assert 'value="orders@acme.test"' in html and 'value="Acme Goods"' in html
    assert re.search(r'id="pf-email-api_key" name="field-api_key"[^>]*aria-invalid="true"', html)
    bad_url = post(client, f"{PAGE}/channels/email", {**SENDGRID_FIELDS, "base_url": "ftp://files.example"},
                   headers=HX)
    assert bad_url.status_code == 422
    html = bad_url.get_data(as_text=True)
    assert "must start with https://" in html and 'value="ftp://files.example"' in html
    assert SENDGRID_KEY not in html  # a secret is never sent back, not even the one just typed
    wrong_channel = post(client, f"{PAGE}/channels/sms", SENDGRID_FIELDS, headers=HX)
    assert wrong_channel.status_code == 422 and "Choose one of the providers offered for SMS" in \
        wrong_channel.get_data(as_text=True)
    plain = post(client, f"{PAGE}/channels/email", {**SENDGRID_FIELDS, "field-from_email": ""})
    assert plain.status_code == 422 and "<h1>Providers</h1>" in plain.get_data(as_text=True)
    assert rows(store) == [] and audit_actions(store) == []
    assert post(client, f"{PAGE}/channels/carrier-pigeon", SENDGRID_FIELDS).status_code == 404


def test_adding_the_same_provider_twice_points_to_edit(client, login_as, store):
    login_as("owner")
    sendgrid(store)
    response = post(client, f"{PAGE}/channels/email", SENDGRID_FIELDS, headers=HX)
    assert response.status_code == 422
    assert "already set up for Email; use its Edit button" in response.get_data(as_text=True)
    assert len(rows(store)) == 1


def test_edit_keeps_the_secret_when_left_blank_and_replaces_it_when_given(client, login_as, store):
    login_as("owner")
    row = sendgrid(store, base_url="https://api.eu.sendgrid.com")
    form = client.get(f"{PAGE}/{row.id}/edit", headers=HX).get_data(as_text=True)
    assert 'placeholder="•••• cdef — leave blank to keep"' in form
    assert 'value="orders@acme.test"' in form and 'value="https://api.eu.sendgrid.com"' in form
    assert SENDGRID_KEY not in form
    response = post(client, f"{PAGE}/{row.id}", {"field-api_key": "", "field-from_email": "shop@acme.test",
                                                 "field-from_name": "Acme", "base_url": ""}, headers=HX)
    assert response.status_code == 200 and "SendGrid saved." in response.get_data(as_text=True)
    [row] = rows(store)
    assert row.settings == {"from_email": "shop@acme.test", "from_name": "Acme"} and row.base_url is None
    assert json.loads(vault().decrypt(row.secrets_encrypted)) == {"api_key": SENDGRID_KEY}
    post(client, f"{PAGE}/{row.id}", {"field-api_key": "SG.new-key-9999", "field-from_email": "shop@acme.test",
                                      "field-from_name": ""}, headers=HX)
    [row] = rows(store)
    assert json.loads(vault().decrypt(row.secrets_encrypted)) == {"api_key": "SG.new-key-9999"}
    assert row.settings == {"from_email": "shop@acme.test"}  # an optional field emptied is cleared
    bad = post(client, f"{PAGE}/{row.id}", {"field-api_key": "SG.other-key-1111", "field-from_email": ""}, headers=HX)
    assert bad.status_code == 422 and "SendGrid needs: Sender address." in bad.get_data(as_text=True)
    assert "SG.other-key-1111" not in bad.get_data(as_text=True)
    [row] = rows(store)
    assert json.loads(vault().decrypt(row.secrets_encrypted)) == {"api_key": "SG.new-key-9999"}
    assert audit_actions(store).count("provider.configured") == 3


def test_move_up_and_down_renumbers_the_chain_without_gaps_or_duplicates(client, login_as, store):
    login_as("owner")
    first = sendgrid(store)
    second = configure_provider(store.id, "email", "webhook", {"signing_secret": "s" * 20},
                                base_url="https://hooks.example/email")
    third = configure_provider(store.id, "email", "sandbox", {})
    other_channel = configure_provider(store.id, "sms", "sandbox", {})
    # Positions left behind by older code or a hand edit: a tie and a gap.
    second.position, third.position = 5, 5
    db.session.commit()
    response = post(client, f"{PAGE}/{third.id}/move", {"direction": "up"}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Sandbox (records, sends nothing) is now provider 2 for Email." in html
    assert f'id="move-up-{third.id}"' in html and "autofocus" in html
    assert [(r.provider, r.position) for r in rows(store) if r.channel == "email"] == \
        [("sendgrid", 0), ("sandbox", 1), ("webhook", 2)]
    assert [code for code, _ in provider_chain(store.id, "email")] == ["sendgrid", "sandbox", "webhook"]
    post(client, f"{PAGE}/{first.id}/move", {"direction": "down"}, headers=HX)
    post(client, f"{PAGE}/{third.id}/move", {"direction": "up"}, headers=HX)  # already first: no change
    assert [(r.provider, r.position) for r in rows(store) if r.channel == "email"] == \
        [("sandbox", 0), ("sendgrid", 1), ("webhook", 2)]
    assert other_channel.position == 0
    assert audit_actions(store).count("provider.reordered") == 2
    assert post(client, f"{PAGE}/{first.id}/move", {"direction": "sideways"}).status_code == 400
    plain = post(client, f"{PAGE}/{second.id}/move", {"direction": "up"})
    assert plain.status_code == 303
    assert [r.provider for r in rows(store) if r.channel == "email"] == ["sandbox", "webhook", "sendgrid"]


def test_switching_a_provider_off_takes_it_out_of_the_chain(client, login_as, store):
    login_as("owner")
    row = sendgrid(store)
    response = post(client, f"{PAGE}/{row.id}/enabled", {"enabled": "0"}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "SendGrid switched off" in html and "Off, skipped" in html and ">Switch on<" in html
    assert "Every provider here is switched off, so the <strong>sandbox</strong> records" in re.sub(r"\s+", " ", html)
    assert rows(store)[0].enabled is False
    assert [code for code, _ in provider_chain(store.id, "email")] == ["sandbox"]
    post(client, f"{PAGE}/{row.id}/enabled", {"enabled": "1"}, headers=HX)
    assert rows(store)[0].enabled is True
    assert audit_actions(store) == ["provider.configured", "provider.disabled", "provider.enabled"]
    assert post(client, f"{PAGE}/{row.id}/enabled", {"enabled": "maybe"}).status_code == 400


def test_remove_deletes_the_row_and_closes_the_gap(client, login_as, store):
    login_as("owner")
    first = sendgrid(store)
    configure_provider(store.id, "email", "webhook", {"signing_secret": "s" * 20}, base_url="https://hooks.example")
    html = client.get(PAGE).get_data(as_text=True)
    assert 'hx-confirm="Remove SendGrid from Email? Its saved credentials are deleted."' in html
    response = post(client, f"{PAGE}/{first.id}/remove", headers=HX)
    assert response.status_code == 200
    assert "SendGrid removed from Email; its credentials were deleted." in response.get_data(as_text=True)
    assert [(r.provider, r.position) for r in rows(store)] == [("webhook", 0)]
    assert audit_actions(store)[-1] == "provider.removed"
    assert post(client, f"{PAGE}/{first.id}/remove", headers=HX).status_code == 404


def test_another_stores_provider_is_404_everywhere_and_unchanged(client, login_as, store):
    rival = make_store("rival")
    foreign = sendgrid(rival)
    login_as("owner")
    assert client.get(f"{PAGE}/{foreign.id}/edit").status_code == 404
    for path, data in ((f"/{foreign.id}", {"field-from_email": "x@evil.test"}),
                       (f"/{foreign.id}/enabled", {"enabled": "0"}), (f"/{foreign.id}/move", {"direction": "down"}),
                       (f"/{foreign.id}/remove", {}), (f"/{foreign.id}/test", {"address": "me@acme.test"})):
        assert post(client, PAGE + path, data, headers=HX).status_code == 404, path
    [row] = rows(rival)
    assert row.enabled and row.settings == {"from_email": "orders@acme.test"}
    assert "orders@acme.test" not in client.get(PAGE).get_data(as_text=True)
    assert audit_actions(rival) == ["provider.configured"]


def test_a_post_without_the_csrf_token_changes_nothing(client, login_as, store):
    login_as("owner")
    row = sendgrid(store)
    response = client.post(f"{PAGE}/{row.id}/enabled", data={"enabled": "0"})
    assert response.status_code == 400
    assert rows(store)[0].enabled is True


def test_test_message_goes_through_exactly_that_provider_and_shows_the_outcome(client, login_as, store,
                                                                               fake_sendgrid):
    login_as("owner")
    row = sendgrid(store, base_url=fake_sendgrid.url)
    configure_provider(store.id, "email", "sandbox", {})
    # Moved behind the sandbox and switched off: a test still goes through SendGrid itself.
    db.session.get(ProviderConfig, row.id).enabled = False
    db.session.commit()
    html = client.get(PAGE).get_data(as_text=True)
    assert f'<label for="test-address-{row.id}">Send to email address</label>' in html
    response = post(client, f"{PAGE}/{row.id}/test", {"address": " me@acme.test "}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<form class="provider-test" id="test-{row.id}"')
    assert "Accepted by SendGrid, id sg-1." in html
    [mail] = fake_sendgrid.mails
    assert mail["subject"] == "Test message from NotifyHub"
    assert mail["personalizations"][0]["to"] == [{"email": "me@acme.test"}]
    assert "Acme Goods" in mail["content"][0]["value"]
    assert db.session.scalar(select(func.count()).select_from(SandboxMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0  # health stays real
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "provider.test_sent")).one()
    assert entry.new["outcome"] == "accepted" and entry.new["to"] == "me@acme.test"

    invalid = post(client, f"{PAGE}/{row.id}/test", {"address": "not-an-address"}, headers=HX)
    assert invalid.status_code == 422
    assert "Enter an email address like name@example.com." in invalid.get_data(as_text=True)
    assert 'value="not-an-address"' in invalid.get_data(as_text=True)
    assert len(fake_sendgrid.mails) == 1

    fake_sendgrid.fail_with = Reply(503, {"errors": [{"message": "busy"}]})
    busy = post(client, f"{PAGE}/{row.id}/test", {"address": "me@acme.test"}, headers=HX).get_data(as_text=True)
    assert "Temporary failure: HTTP 503" in busy

    configure_provider(store.id, "email", "sendgrid", {"api_key": "SG.wrong-key-4321"}, base_url=fake_sendgrid.url)
    rejected = post(client, f"{PAGE}/{row.id}/test", {"address": "me@acme.test"}, headers=HX)
    html = rejected.get_data(as_text=True)
    assert rejected.status_code == 200
    assert "Rejected: credentials or settings not accepted by SendGrid (HTTP 401" in html
    assert "authorization grant is invalid" in html and "SG.wrong-key-4321" not in html
    plain = post(client, f"{PAGE}/{row.id}/test", {"address": "me@acme.test"})
    assert plain.status_code == 200 and "<h1>Providers</h1>" in plain.get_data(as_text=True)
    assert "Rejected: credentials" in plain.get_data(as_text=True)


@pytest.mark.parametrize(("channel", "address", "ok"), [
    ("sms", "+14155550100", True), ("sms", "0415 555 0100", False), ("sms", "+1415", False),
    ("push", "fcm:abcdefgh12345678", True), ("push", "abcdefgh", False),
    ("in_app", "customer:42", True), ("in_app", "42", False),
])
def test_test_address_is_checked_per_channel(client, login_as, store, channel, address, ok):
    login_as("owner")
    row = configure_provider(store.id, channel, "sandbox", {})
    response = post(client, f"{PAGE}/{row.id}/test", {"address": address}, headers=HX)
    assert (response.status_code == 200) is ok, response.get_data(as_text=True)
    sent = db.session.scalars(select(SandboxMessage)).all()
    assert [m.recipient for m in sent] == ([address] if ok else [])
    if ok:
        assert "Accepted by Sandbox (records, sends nothing), id sandbox-" in response.get_data(as_text=True)


def _notification(store, channel: str, created_at) -> Notification:
    row = Notification(store_id=store.id, source="shopify", message_type="order.cancelled", channel=channel,
                       priority="transactional", recipient="c@example.test", status="sent",
                       idempotency_key=f"health-{next(_keys)}", created_at=created_at)
    db.session.add(row)
    db.session.flush()
    return row


def _events(row: Notification, kind: str, provider: str, count: int, at, detail: str = "") -> None:
    for _ in range(count):
        db.session.add(NotificationEvent(notification_id=row.id, kind=kind, provider=provider, at=at, detail=detail))


def test_health_shows_the_success_rate_and_last_error_of_the_last_seven_days(client, login_as, store):
    login_as("owner")
    sendgrid(store)
    configure_provider(store.id, "email", "webhook", {"signing_secret": "s" * 20}, base_url="https://hooks.example")
    now = utcnow()
    recent, old = _notification(store, "email", now - timedelta(days=2)), _notification(store, "email",
                                                                                        now - timedelta(days=9))
    _events(recent, "sent", "sendgrid", 208, now - timedelta(days=2))
    _events(recent, "attempt", "sendgrid", 3, now - timedelta(days=2), "temporary failure: HTTP 503: busy")
    _events(recent, "attempt", "sendgrid", 1, now - timedelta(hours=3), "configuration/auth error: HTTP 401: bad key")
    _events(recent, "attempt", "sendgrid", 5, now - timedelta(hours=1),
            "sendgrid skipped: paused after repeated failures")
    _events(recent, "attempt", "sendgrid", 2, now - timedelta(hours=1), "not for this provider: apns token")
    _events(recent, "queued", None, 1, now)
    _events(old, "attempt", "sendgrid", 50, now - timedelta(days=9), "ancient failure")
    sms = _notification(store, "sms", now)  # same provider code on another channel counts there, not here
    _events(sms, "attempt", "webhook", 4, now, "temporary failure: timed out")
    rival = make_store("rival")
    _events(_notification(rival, "email", now), "attempt", "sendgrid", 40, now, "rival failure")
    _events(recent, "sent", "webhook", 3, now - timedelta(minutes=5))
    db.session.commit()
    html = client.get(PAGE).get_data(as_text=True)
    email = html[html.index('id="channel-email"'):html.index('id="channel-sms"')]
    assert "<strong>98%</strong> of 212 attempts, 7 days" in re.sub(r"\s+", " ", email)
    assert "configuration/auth error: HTTP 401: bad key" in email and "3 h ago" in email
    assert "<strong>100%</strong> of 3 attempts, 7 days" in re.sub(r"\s+", " ", email)
    for absent in ("ancient failure", "rival failure", "timed out", "paused after repeated"):
        assert absent not in html


def test_an_open_circuit_breaker_is_shown_as_paused(client, login_as, store, app):
    circuit = pytest.importorskip("webapp.channels.circuit")
    login_as("owner")
    sendgrid(store)
    threshold = app.config.get("CIRCUIT_FAILURE_THRESHOLD", 5)
    for _ in range(threshold):
        circuit.record_failure(store.id, "email", "sendgrid", settings_of(app))
    state = circuit.breaker_states(store.id)[("email", "sendgrid")]
    html = client.get(PAGE).get_data(as_text=True)
    assert f"Paused after {threshold} failures — retried at {state.open_until:%H:%M} UTC" in html


def test_a_provider_that_does_not_answer_in_time_is_reported_without_holding_the_page(app, store):
    def slow(request):
        time.sleep(1.5)
        return Reply(200, {"id": "late"})

    server = FakeServer(slow)
    try:
        row = configure_provider(store.id, "sms", "webhook", {"signing_secret": "s" * 20}, base_url=server.url)
        started = time.monotonic()
        outcome = send_test_message(store.id, row.id, "+14155550100", timeout=0.3)
        assert time.monotonic() - started < 1.2
        assert (outcome.ok, outcome.kind) == (False, "timeout")
        assert outcome.message == "Temporary failure: no answer from Outgoing webhook (HMAC-signed JSON) within " \
                                  "0.3 seconds."
    finally:
        server.close()


def test_in_production_the_page_takes_only_https_base_urls(client, login_as, store, app, monkeypatch):
    login_as("owner")
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    response = post(client, f"{PAGE}/channels/email", {**SENDGRID_FIELDS, "base_url": "http://10.0.0.5:8080"},
                    headers=HX)
    assert response.status_code == 422 and "must start with https://." in response.get_data(as_text=True)
    assert rows(store) == []
    # A public address (a literal one: this machine has no public DNS) is accepted.
    ok = post(client, f"{PAGE}/channels/email", {**SENDGRID_FIELDS, "base_url": "https://93.184.215.14"},
              headers=HX)
    assert ok.status_code == 200 and rows(store)[0].base_url == "https://93.184.215.14"
