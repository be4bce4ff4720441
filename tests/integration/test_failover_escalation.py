"""Failover, the shared circuit breaker and grouped escalation alerts, end to end through a real
RQ worker and local provider servers."""
import time

import pytest
from rq import Queue

from jobs.worker import QUEUES, AppWorker
from tests.fakes.http import FakeServer, Reply
from tests.fakes.providers import SENDGRID_KEY, FakeSendGrid
from tests.pipeline import connect_sources, notifications, post_shopify, run_worker, set_rule, shopify_order
from tests.runtime import reconfigure, settings_of
from webapp.channels import circuit
from webapp.channels.accounts import configure_provider
from webapp.dispatch.models import EscalationAlert, NotificationEvent
from webapp.extensions import db
from webapp.redis_conn import get_redis


@pytest.fixture
def sendgrid():
    fake = FakeSendGrid()
    yield fake
    fake.close()


@pytest.fixture
def servers():
    started = []

    def start(handler=lambda request: Reply(200, {"id": f"ok-{len(started)}"})):
        server = FakeServer(handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def run_worker_with_scheduler(wait: float) -> None:
    """Let the grouping window pass, then a burst worker moves due scheduled jobs and runs them."""
    time.sleep(wait)
    conn = get_redis()
    AppWorker([Queue(name, connection=conn) for name in QUEUES], connection=conn).work(
        burst=True, with_scheduler=True)


def email_chain(store, sendgrid, backup_url):
    configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY, "from_email": "orders@acme.test"},
                       base_url=sendgrid.url)
    configure_provider(store.id, "email", "webhook", {"signing_secret": "s" * 20}, base_url=backup_url)


def email_that_always_fails(store, sendgrid, ops_url: str) -> None:
    """Cancellation emails through a SendGrid whose key is refused, and an ops channel at ops_url."""
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("email",))
    configure_provider(store.id, "email", "sendgrid", {"api_key": "SG.wrong-key-0000", "from_email": "o@acme.test"},
                       base_url=sendgrid.url)
    configure_provider(store.id, "ops", "webhook", {"signing_secret": "o" * 20}, base_url=ops_url)


def cancel_orders(client, store, count: int, prefix: str) -> None:
    for i in range(count):
        response = post_shopify(client, store, "orders/cancelled",
                                shopify_order(id=900000 + 100 * ord(prefix) + i, name=f"#{prefix}{i}"),
                                f"wh-{prefix}-{i}")
        assert response.status_code == 200


def test_a_stopped_primary_fails_over_and_the_breaker_skips_it_for_later_mail(app, client, store, sendgrid,
                                                                              servers):
    backup = servers()
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("email",))
    email_chain(store, sendgrid, backup.url)
    sendgrid.close()  # the primary is down: connections are refused
    cancel_orders(client, store, 4, "F")
    run_worker()
    rows = notifications(store.id)
    assert [(r.status, r.provider) for r in rows] == [("sent", "webhook")] * 4
    assert len(backup.requests) == 4
    # The first message spent its retries on SendGrid (4); the fifth failure in a row opened the
    # breaker, so the messages after it went straight to the backup.
    sendgrid_attempts = db.session.query(NotificationEvent).filter(
        NotificationEvent.provider == "sendgrid", NotificationEvent.kind == "attempt").all()
    tried = [e for e in sendgrid_attempts if "skipped" not in e.detail]
    skipped = [e for e in sendgrid_attempts if "skipped" in e.detail]
    assert len(tried) == app.config["CIRCUIT_FAILURE_THRESHOLD"]
    assert len(skipped) >= 2
    state = circuit.breaker_states(store.id)[("email", "sendgrid")]
    assert state.is_open and state.consecutive_failures == 5


def test_an_unreachable_twilio_fails_over_instead_of_leaving_the_sms_in_sending(app, client, store, servers):
    from tests.fakes.providers import TWILIO_SID, TWILIO_TOKEN

    backup = servers()
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("sms",))
    configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                   "from_number": "+14155550000"}, base_url="http://127.0.0.1:9")
    configure_provider(store.id, "sms", "webhook", {"signing_secret": "s" * 20}, base_url=backup.url)
    cancel_orders(client, store, 1, "T")
    run_worker()
    [row] = notifications(store.id)
    assert (row.status, row.provider) == ("sent", "webhook")
    assert any("Twilio unreachable" in e.detail for e in row.events)


def test_the_breaker_probes_once_after_the_cool_down_and_closes_on_success(app, store):
    reconfigure(app, CIRCUIT_FAILURE_THRESHOLD=2, CIRCUIT_COOLDOWN_SECONDS=0.2)
    for _ in range(2):
        circuit.record_failure(store.id, "sms", "twilio", settings_of(app))
    assert not circuit.allow(store.id, "sms", "twilio", settings_of(app))
    time.sleep(0.25)
    # Half-open: one probe goes through, every other caller keeps skipping.
    assert circuit.allow(store.id, "sms", "twilio", settings_of(app))
    assert not circuit.allow(store.id, "sms", "twilio", settings_of(app))
    circuit.record_success(store.id, "sms", "twilio")
    assert circuit.allow(store.id, "sms", "twilio", settings_of(app))
    assert circuit.breaker_states(store.id) == {}


def test_breakers_are_per_store_and_shared_through_redis(app, store):
    reconfigure(app, CIRCUIT_FAILURE_THRESHOLD=1)
    circuit.record_failure(store.id, "email", "sendgrid", settings_of(app))
    assert not circuit.allow(store.id, "email", "sendgrid", settings_of(app))
    assert circuit.allow(store.id + 1, "email", "sendgrid", settings_of(app))
    assert circuit.allow(store.id, "sms", "sendgrid", settings_of(app))


def test_exhausting_every_provider_raises_one_grouped_alert_on_the_ops_channel(app, client, store, sendgrid,
                                                                               servers):
    reconfigure(app, ALERT_GROUP_SECONDS=1.0)
    ops = servers()
    backup = servers(lambda request: Reply(403, {"error": "endpoint disabled"}))
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", ("email",))
    email_chain(store, sendgrid, backup.url)
    configure_provider(store.id, "ops", "webhook", {"signing_secret": "o" * 20}, base_url=ops.url)
    sendgrid.fail_with = Reply(401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
    cancel_orders(client, store, 3, "X")
    run_worker()
    assert [r.status for r in notifications(store.id)] == ["failed"] * 3
    assert ops.requests == []  # the group is still collecting
    run_worker_with_scheduler(1.1)
    [alert_request] = ops.requests
    alert = alert_request.json()
    assert alert["channel"] == "ops"
    assert alert["subject"].startswith("3 messages could not be delivered: Email failed on every provider")
    assert "sendgrid, webhook" in alert["subject"]
    assert "#X0" in alert["body"] and "notification" in alert["body"]
    [row] = db.session.query(EscalationAlert).all()
    assert (row.status, row.count, row.provider, row.open_key) == ("sent", 3, "webhook", None)


def test_a_new_failure_after_the_alert_went_out_opens_a_new_group(app, client, store, sendgrid, servers):
    reconfigure(app, ALERT_GROUP_SECONDS=0.0)
    ops = servers()
    email_that_always_fails(store, sendgrid, ops_url=ops.url)
    cancel_orders(client, store, 1, "A")
    run_worker()
    cancel_orders(client, store, 1, "B")
    run_worker()
    assert [r.json()["subject"][:30] for r in ops.requests] == ["1 message could not be deliver"] * 2
    assert db.session.query(EscalationAlert).count() == 2


def test_marketing_and_rejected_recipients_do_not_page_anyone(app, store):
    from webapp.dispatch import escalation
    from webapp.dispatch.models import Notification

    row = Notification(store_id=store.id, source="api", message_type="promo", channel="email", priority="marketing",
                       recipient="a@b.test", idempotency_key="k-marketing", status="failed")
    db.session.add(row)
    db.session.commit()
    escalation.note_failure(row, ["sendgrid"], settings_of(app))
    db.session.commit()
    assert db.session.query(EscalationAlert).count() == 0


def test_an_ops_channel_that_stays_down_is_retried_then_the_alert_is_marked_failed(app, client, store, sendgrid,
                                                                                     servers):
    from webapp.dispatch.escalation import MAX_SEND_ATTEMPTS, send_alert

    reconfigure(app, ALERT_GROUP_SECONDS=0.0)
    dead_ops = servers(lambda request: Reply(500, {}))
    email_that_always_fails(store, sendgrid, ops_url=dead_ops.url)
    cancel_orders(client, store, 1, "C")
    run_worker()
    [alert] = db.session.query(EscalationAlert).all()
    assert (alert.status, alert.attempts) == ("open", 1) and "HTTP 500" in alert.error  # retry scheduled
    for _ in range(MAX_SEND_ATTEMPTS - 1):
        send_alert(alert.id, settings_of(app))
    db.session.expire_all()
    alert = db.session.get(EscalationAlert, alert.id)
    assert (alert.status, alert.attempts) == ("failed", MAX_SEND_ATTEMPTS)
    assert len(dead_ops.requests) == MAX_SEND_ATTEMPTS


def test_a_misconfigured_ops_channel_fails_the_alert_at_once(app, client, store, sendgrid, servers):
    reconfigure(app, ALERT_GROUP_SECONDS=0.0)
    refusing = servers(lambda request: Reply(401, {"error": "bad signature"}))
    email_that_always_fails(store, sendgrid, ops_url=refusing.url)
    cancel_orders(client, store, 1, "M")
    run_worker()
    [alert] = db.session.query(EscalationAlert).all()
    assert (alert.status, alert.attempts) == ("failed", 1)


def test_a_group_is_sent_once_even_when_its_job_runs_twice(app, client, store, sendgrid, servers):
    from webapp.dispatch.escalation import send_alert

    reconfigure(app, ALERT_GROUP_SECONDS=60.0)  # the scheduled job stays in the future
    ops = servers()
    email_that_always_fails(store, sendgrid, ops_url=ops.url)
    cancel_orders(client, store, 1, "D")
    run_worker()
    [alert] = db.session.query(EscalationAlert).all()
    assert send_alert(alert.id, settings_of(app)).startswith("sent via webhook")
    assert send_alert(alert.id, settings_of(app)) == "not-open"  # e.g. the sweep's re-enqueue arriving late
    assert len(ops.requests) == 1


def test_without_redis_the_breaker_fails_open_and_never_raises(app, store):
    """No shared state to consult: every provider is tried, and recording outcomes is a no-op."""
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    for name in ("redis", "redis-enqueue"):
        app.extensions.pop(name, None)
    settings = reconfigure(app, CIRCUIT_FAILURE_THRESHOLD=1)
    for _ in range(3):
        circuit.record_failure(store.id, "email", "sendgrid", settings)
    assert circuit.allow(store.id, "email", "sendgrid", settings)
    circuit.record_success(store.id, "email", "sendgrid")
    assert circuit.breaker_states(store.id) == {}
