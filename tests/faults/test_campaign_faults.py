"""Campaigns under faults, with real `rq worker` processes (the production AppWorker, with RQ's
scheduler, which the pump's delayed passes and the delivery retries need): a worker SIGKILLed twice
mid-send still mails every eligible recipient exactly once and nobody opted out or suppressed, and
the campaign's counts equal what the provider received; after a provider outage, "resend to failed"
mails exactly the recipients whose message failed. Everything is counted at the recording provider
by recipient, not only by idempotency key (a resend has a key of its own)."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.faults.harness import OutageProvider, statuses, use_provider
from tests.workers import WorkerProcess, wait_for
from webapp.campaigns.models import DONE, PAUSED, WAITING, CampaignRecipient
from webapp.channels.circuit import breaker_states
from webapp.consent.actions import BOUNCE
from webapp.consent.bulk import set_consents
from webapp.consent.suppression import suppress
from webapp.customers.fields import ConsentChange
from webapp.customers.models import Customer
from webapp.dispatch.models import FAILED, SENT, Notification
from webapp.events.api_keys import create_api_key
from webapp.extensions import db

CONTENT = {"en": {"subject": "Winter sale, {{ customer.first_name or 'friend' }}",
                  "body": "<p>Hello {{ customer.name or 'there' }}, <a href=\"https://shop.example.com/sale\">shop"
                          "</a></p>"}}
KILL_AFTER = (50, 120)  # messages accepted by the provider at which the running worker is killed


@pytest.fixture
def outage_provider():
    fake = OutageProvider(delay=0.02)
    yield fake
    fake.close()


@pytest.fixture
def auth(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'marketing').plaintext}"}


@dataclass(frozen=True)
class Audience:
    eligible: frozenset[str]
    opted_out: frozenset[str]
    suppressed: frozenset[str]


def make_audience(store, count: int) -> Audience:
    """`count` VIP customers opted in to email, but every 40th (from the 4th) opted out and every
    40th (from the 24th) opted in with a bounced, suppressed address."""
    people = [Customer(store_id=store.id, email=f"r{i:03d}@shop.test", name=f"Reader {i}", locale="en",
                       tags=["vip"]) for i in range(count)]
    db.session.add_all(people)
    db.session.flush()
    opted_out = {person.email for i, person in enumerate(people) if i % 40 == 3}
    suppressed = {person.email for i, person in enumerate(people) if i % 40 == 23}
    set_consents([ConsentChange(store.id, person.id, "email", "opted_out" if person.email in opted_out else "opted_in",
                                person.email) for person in people], "checkout")
    for person in people:
        if person.email in suppressed:
            suppress(store.id, "email", person.email, BOUNCE, "bounced", "test", customer_id=person.id)
    db.session.commit()
    everyone = {person.email for person in people}
    return Audience(frozenset(everyone - opted_out - suppressed), frozenset(opted_out), frozenset(suppressed))


def launch(client, auth) -> int:
    """A segment of the VIPs, an email campaign to it, sent now: all through the API."""
    segment = client.post("/api/v1/segments", headers=auth, json={
        "name": "VIPs", "match": "all", "conditions": [{"field": "tags", "op": "any_of", "value": ["vip"]}]})
    assert segment.status_code == 201, segment.get_json()
    composed = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Winter", "channel": "email", "segment_id": segment.get_json()["id"], "content": CONTENT})
    assert composed.status_code == 201, composed.get_json()
    campaign_id = composed.get_json()["id"]
    sent = client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=auth)
    assert sent.status_code == 202, sent.get_json()
    return campaign_id


def campaign_status(client, auth, campaign_id: int) -> dict:
    db.session.rollback()  # a fresh read: the API answers from this test's session
    answer = client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def control(client, auth, campaign_id: int, action: str) -> dict:
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/{action}", headers=auth)
    assert answer.status_code == 200, (action, answer.get_json())
    return answer.get_json()


def describe(client, auth, store_id: int, campaign_id: int, provider: OutageProvider, logs: list[Path]) -> str:
    """Where the run stands, for a failure message: the campaign's counts, the outbox, the provider,
    the breakers and the end of the last worker's log."""
    status = campaign_status(client, auth, campaign_id)
    counts = {key: value for key, value in status["counts"].items() if key not in ("per_minute", "seconds_left")}
    tail = ""
    if logs and logs[-1].exists():
        tail = "\n  ".join(logs[-1].read_text(errors="replace").splitlines()[-15:])
    return (f"campaign {status['status']} ({status['status_reason']}); counts {counts}; outbox {dict(statuses())}; "
            f"provider accepted {len(provider.accepted)}, calls {sum(provider.calls.values())}, "
            f"refused {sum(provider.refused.values())}; breakers {breaker_states(store_id)}"
            f"\n  last worker log:\n  {tail}")


def wait_or_explain(condition, timeout: float, what: str, explain) -> None:
    try:
        wait_for(condition, timeout, what, interval=0.2)
    except AssertionError as timeout_error:
        raise AssertionError(f"{timeout_error}: {explain()}") from None


def recipients_whose_message(campaign_id: int, status: str) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(
        select(CampaignRecipient.address).join(Notification, Notification.id == CampaignRecipient.notification_id)
        .where(CampaignRecipient.campaign_id == campaign_id, Notification.status == status)))


def waiting_recipients(campaign_id: int) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(CampaignRecipient.address).where(
        CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == WAITING)))


def page_counts(app, client, campaign_id: int) -> dict[str, int] | None:
    """The counts the dashboard's campaign page shows (its progress panel's `data-count` cells), or
    None when the app has no campaign page."""
    if "campaigns.detail" not in app.view_functions:
        return None
    path = app.url_map.bind("localhost").build("campaigns.detail", {"campaign_id": campaign_id})
    db.session.rollback()
    answer = client.get(path)
    assert answer.status_code == 200, answer.status_code
    return {name: int(value) for name, value in
            re.findall(r'data-count="(\w+)">\s*(\d+)\s*<', answer.get_data(as_text=True))}


def test_two_sigkills_during_a_campaign_mail_each_eligible_recipient_once(
        app, client, own_redis, store, auth, outage_provider, login_as, tmp_path):
    provider = outage_provider
    use_provider(store, provider.server.url, channels=("email",))
    audience = make_audience(store, 200)
    campaign_id = launch(client, auth)
    logs: list[Path] = []

    def explain() -> str:
        return describe(client, auth, store.id, campaign_id, provider, logs)

    for round_number, threshold in enumerate(KILL_AFTER):
        logs.append(tmp_path / f"worker{round_number}.log")
        worker = WorkerProcess(app, own_redis.url, logs[-1], with_scheduler=True)
        try:
            wait_or_explain(lambda threshold=threshold: len(provider.accepted) >= threshold, 45,
                            f"{threshold} messages at the provider", explain)
            worker.kill()  # mid-send: a provider call is very likely in flight
        finally:
            worker.stop()
    assert len(provider.accepted) < len(audience.eligible), "the campaign finished before the last kill"
    logs.append(tmp_path / "worker-last.log")
    last = WorkerProcess(app, own_redis.url, logs[-1], with_scheduler=True)
    try:
        wait_or_explain(lambda: campaign_status(client, auth, campaign_id)["status"] == DONE, 90,
                        "the campaign to be done", explain)
    finally:
        last.stop()

    mailed = provider.accepted_by_recipient()
    assert not mailed.keys() & audience.opted_out, "opted-out customers were mailed"
    assert not mailed.keys() & audience.suppressed, "suppressed addresses were mailed"
    assert mailed == Counter({address: 1 for address in audience.eligible}), (
        f"missing: {sorted(audience.eligible - mailed.keys())[:10]}; "
        f"twice: {sorted(a for a, n in mailed.items() if n > 1)[:10]}")
    # A kill interrupts at most the one provider call in flight; the provider dropped its resend.
    assert sum(provider.calls.values()) - len(provider.accepted) <= len(KILL_AFTER), dict(
        (key, n) for key, n in provider.calls.items() if n > 1)
    # The outbox agrees with the provider, message by message.
    db.session.rollback()
    sent_keys = set(db.session.scalars(select(Notification.idempotency_key).where(
        Notification.campaign_id == campaign_id, Notification.status == SENT)))
    assert sent_keys == set(provider.accepted)

    counts = campaign_status(client, auth, campaign_id)["counts"]
    assert counts["sent"] + counts["delivered"] == len(provider.accepted), counts
    assert (counts["total"], counts["eligible"], counts["excluded"]) == (200, len(audience.eligible), 10), counts
    assert (counts["waiting"], counts["queued"], counts["failed"], counts["suppressed"], counts["percent"]) == \
        (0, 0, 0, 0, 100), counts
    assert counts["reasons"] == {"not opted in": len(audience.opted_out), "suppressed": len(audience.suppressed)}

    login_as("marketer")
    shown = page_counts(app, client, campaign_id)
    if shown is not None:  # the dashboard's page, where it exists, shows the same numbers
        assert set(shown) >= {"sent", "delivered", "failed", "excluded"}, shown
        assert shown["sent"] + shown["delivered"] == len(provider.accepted), shown
        assert shown == {key: counts[key] for key in shown}, (shown, counts)


def test_resend_to_failed_after_a_provider_outage_mails_exactly_those_that_failed(
        app, client, own_redis, store, auth, outage_provider, tmp_path, monkeypatch):
    # An outage the breaker does not catch (its threshold out of reach): each message spends its
    # retries and fails. (When the breaker does open, the campaign pauses and holds its messages
    # back instead: tests/integration/test_campaigns.py.)
    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "1000000")
    provider = outage_provider
    use_provider(store, provider.server.url, channels=("email",))
    audience = make_audience(store, 150)
    campaign_id = launch(client, auth)
    logs = [tmp_path / "worker.log"]

    def explain() -> str:
        return describe(client, auth, store.id, campaign_id, provider, logs)

    def settled() -> bool:
        status = campaign_status(client, auth, campaign_id)
        return status["status"] in (DONE, PAUSED) and status["counts"]["queued"] == 0

    worker = WorkerProcess(app, own_redis.url, logs[-1], with_scheduler=True)
    try:
        wait_or_explain(lambda: len(provider.accepted) >= 40, 45, "40 messages at the provider", explain)
        provider.down = True
        # Each message tried during the outage fails after its retries; the rest go once it is back.
        wait_or_explain(lambda: len(recipients_whose_message(campaign_id, FAILED)) >= 10, 45,
                        "10 messages to fail during the outage", explain)
        provider.down = False
        wait_or_explain(settled, 60, "every message to be sent or failed", explain)

        before = provider.accepted_by_recipient()
        failed = recipients_whose_message(campaign_id, FAILED)
        waiting = waiting_recipients(campaign_id)  # taken back when the pump paused the campaign
        assert failed and before, explain()
        assert not failed & before.keys(), "a message the provider accepted is marked failed"
        assert set(before.values()) == {1}, "someone was mailed twice before the resend"
        assert before.keys() | failed | waiting == audience.eligible, explain()
        counts = campaign_status(client, auth, campaign_id)["counts"]
        assert (counts["failed"], counts["sent"] + counts["delivered"]) == (len(failed), len(before)), counts

        # The provider is back; once its breaker's pause is over, resend (and resume a paused campaign).
        wait_or_explain(lambda: not any(state.is_open for state in breaker_states(store.id).values()), 30,
                        "the provider's breaker to close", explain)
        answer = control(client, auth, campaign_id, "resend-failed")
        assert answer["resent"] == len(failed), answer
        if answer["status"] == PAUSED:
            assert control(client, auth, campaign_id, "resume")["status"] == "sending"
        wait_or_explain(lambda: campaign_status(client, auth, campaign_id)["status"] == DONE, 60,
                        "the campaign to be done after the resend", explain)
    finally:
        worker.stop()

    after = provider.accepted_by_recipient()
    new = Counter({address: after[address] - before[address] for address in after if after[address] > before[address]})
    assert not new.keys() & before.keys(), f"mailed again though already mailed: {sorted(new.keys() & before.keys())}"
    assert new == Counter({address: 1 for address in failed | waiting}), (
        f"failed but not resent: {sorted(failed - new.keys())[:10]}; "
        f"resent though not failed: {sorted(new.keys() - failed - waiting)[:10]}; "
        f"more than once: {sorted(a for a, n in new.items() if n > 1)[:10]}")
    assert not after.keys() & (audience.opted_out | audience.suppressed)
    # The resend went out under new keys (round 2), to exactly the recipients that had failed.
    db.session.rollback()
    resent = set(db.session.scalars(select(CampaignRecipient.address).where(
        CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.round == 2)))
    assert resent == failed
    counts = campaign_status(client, auth, campaign_id)["counts"]
    assert (counts["failed"], counts["waiting"], counts["queued"]) == (0, 0, 0), counts
    assert counts["sent"] + counts["delivered"] == len(audience.eligible) == sum(after.values()), counts
