"""A provider shipped as a separate package appears on the Providers page with no change to NotifyHub:
pip-installed (tests/plugins/notifyhub_echo), found through the `notifyhub.providers` entry point,
added by the owner through the page, and tested through it; and it brings its own signed delivery
receipts, heard at the generic callback route."""
from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.pipeline import run_worker
from webapp.channels.accounts import configure_provider
from webapp.channels.models import ProviderConfig
from webapp.channels.providers.registry import provider_chain, providers, specs_for
from webapp.dispatch.models import Notification
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db

PLUGIN_SOURCE = Path(__file__).resolve().parents[1] / "plugins" / "notifyhub_echo"
PAGE = "/settings/providers"
HX = {"HX-Request": "true"}


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, **kwargs)


@pytest.fixture(scope="module")
def echo_site(tmp_path_factory) -> Path:
    """The plug-in pip-installed into a directory of its own (built from a copy, so the source tree
    stays clean). Offline: its pyproject names an in-tree build backend with no requirements."""
    source = tmp_path_factory.mktemp("echo-source") / "notifyhub_echo"
    shutil.copytree(PLUGIN_SOURCE, source, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("echo-site")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation",
                             "--disable-pip-version-check", "--target", str(target), str(source)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "notifyhub_echo.py").exists()
    return target


@pytest.fixture
def echo_installed(echo_site, monkeypatch):
    monkeypatch.syspath_prepend(str(echo_site))
    providers.cache_clear()
    yield
    monkeypatch.undo()
    sys.modules.pop("notifyhub_echo", None)
    providers.cache_clear()


def test_owner_adds_the_plugin_provider_through_the_page_and_sends_a_test(client, login_as, store, echo_installed):
    import notifyhub_echo

    assert "echo" in providers()
    assert [spec.label for spec in specs_for("ops")].count("Echo (plug-in)") == 1
    login_as("owner")
    form = client.get(f"{PAGE}/channels/ops/add", headers=HX).get_data(as_text=True)
    assert '<option value="echo" >Echo (plug-in)</option>' in form
    assert "Echo (plug-in)" not in client.get(f"{PAGE}/channels/email/add", headers=HX).get_data(as_text=True)
    fields = client.get(f"{PAGE}/channels/ops/fields?provider=echo", headers=HX).get_data(as_text=True)
    assert 'Room to echo into <span class="required">(required)</span>' in fields

    missing = post(client, f"{PAGE}/channels/ops", {"provider": "echo", "fields_for": "echo", "field-room": ""},
                   headers=HX)
    assert missing.status_code == 422 and "Echo (plug-in) needs: Room to echo into." in missing.get_data(as_text=True)
    added = post(client, f"{PAGE}/channels/ops", {"provider": "echo", "fields_for": "echo", "field-room": "ops-room"},
                 headers=HX)
    assert added.status_code == 200
    assert "Echo (plug-in) added to Team &amp; ops alerts as provider 1." in added.get_data(as_text=True)
    row = db.session.scalar(select(ProviderConfig).where(ProviderConfig.store_id == store.id))
    assert (row.channel, row.provider, row.settings) == ("ops", "echo", {"room": "ops-room"})
    assert [code for code, _ in provider_chain(store.id, "ops")] == ["echo"]

    page = client.get(PAGE).get_data(as_text=True)
    assert "Goes to the destination saved in Echo (plug-in)" in page  # ops needs no address
    tested = post(client, f"{PAGE}/{row.id}/test", {}, headers=HX)
    assert tested.status_code == 200
    assert "Accepted by Echo (plug-in), id echo-1." in tested.get_data(as_text=True)
    [sent] = notifyhub_echo.SENT
    assert sent["room"] == "ops-room" and sent["channel"] == "ops"
    assert sent["subject"] == "Test message from NotifyHub" and "Acme Goods" in sent["body"]


def test_without_the_plugin_on_the_path_it_is_not_offered(client, login_as, store):
    assert "echo" not in providers()
    assert "notifyhub_echo" not in sys.modules
    login_as("owner")
    assert "Echo (plug-in)" not in client.get(f"{PAGE}/channels/ops/add", headers=HX).get_data(as_text=True)
    assert client.post(f"/callbacks/echo/{store.slug}", data="{}").status_code == 404


def signed_receipt(client, store, event: dict, secret: str = "echo-signing-secret"):
    body = json.dumps(event).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(f"/callbacks/echo/{store.slug}", data=body, content_type="application/json",
                       headers={"X-Echo-Signature": signature})


def test_the_plugin_delivers_its_own_signed_receipt_through_the_generic_route(client, store, echo_installed):
    configure_provider(store.id, "sms", "echo", {"room": "sms-room", "signing_secret": "echo-signing-secret"})
    row = Notification(store_id=store.id, source="api", message_type="order.ready", channel="sms",
                       priority="transactional", recipient="+14155550100", body="Your order is ready",
                       idempotency_key="plugin-receipt-1")
    db.session.add(row)
    db.session.commit()
    enqueue_ids("transactional", [row.id])
    run_worker()
    db.session.expire_all()
    sent = db.session.get(Notification, row.id)
    assert (sent.status, sent.provider) == ("sent", "echo")

    event = {"event_id": "ev-1", "message_id": sent.provider_message_id, "status": "delivered"}
    assert signed_receipt(client, store, event, secret="not-the-secret").status_code == 403
    assert client.post(f"/callbacks/echo/{store.slug}", json=event).status_code == 403
    db.session.expire_all()
    assert db.session.get(Notification, row.id).status == "sent"

    assert signed_receipt(client, store, event).get_json() == {"status": "updated"}
    assert signed_receipt(client, store, event).get_json() == {"status": "ignored"}  # replayed
    db.session.expire_all()
    delivered = db.session.get(Notification, row.id)
    assert delivered.status == "delivered"
    assert [e.kind for e in delivered.events].count("delivered") == 1
