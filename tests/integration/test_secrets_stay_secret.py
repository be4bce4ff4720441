"""Credentials never appear in clear text: not in the database, pages, logs or RQ job data."""
import logging

import pytest
from sqlalchemy import text

from tests.fakes.providers import SENDGRID_KEY, TWILIO_SID, TWILIO_TOKEN, FakeSendGrid, FakeTwilio
from tests.pipeline import SHOPIFY_SECRET, connect_sources, post_shopify, set_rule, shopify_order
from webapp.channels.accounts import configure_provider
from webapp.events.api_keys import create_api_key
from webapp.extensions import db
from webapp.redis_conn import get_redis


@pytest.fixture
def fakes():
    twilio, sendgrid = FakeTwilio(), FakeSendGrid()
    yield twilio, sendgrid
    twilio.close()
    sendgrid.close()


def database_text() -> str:
    chunks = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608 - our own table names
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


def redis_text() -> str:
    conn = get_redis()
    chunks = []
    for key in conn.scan_iter(count=1000):
        kind = conn.type(key)
        if kind == b"hash":
            chunks.append(repr(conn.hgetall(key)))
        elif kind == b"string":
            chunks.append(repr(conn.get(key)))
        elif kind == b"list":
            chunks.append(repr(conn.lrange(key, 0, -1)))
        elif kind == b"zset":
            chunks.append(repr(conn.zrange(key, 0, -1)))
    return "\n".join(chunks)


def test_no_secret_in_database_pages_logs_or_job_data(client, login_as, store, fakes, caplog):
    twilio, sendgrid = fakes
    caplog.set_level(logging.DEBUG)
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    configure_provider(store.id, "sms", "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                   "from_number": "+14155550000"}, base_url=twilio.url)
    configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY, "from_email": "o@acme.test"},
                       base_url=sendgrid.url)
    # The rest of the secret-bearing kinds: a Mailgun key and signing key, chat webhook URLs and a bot
    # token (credentials inside a URL), a cloud secret key, a private key, the inbox token secret.
    others = {"Mailgun key": "key-mailgun-0123456789abcdef", "Mailgun signing key": "mg-signing-0123456789abcd",
              "Slack webhook URL": "https://hooks.slack.com/services/T000/B000/slacksecret0123456789",
              "Telegram token": "123456:telegram-secret-0123456789abcdefghijkl",
              "SES secret key": "ses-secret-access-key-0123456789abcdef",
              "Webhook signing secret": "webhook-signing-secret-0123456789"}
    configure_provider(store.id, "email", "mailgun", {"domain": "mg.acme.test", "api_key": others["Mailgun key"],
                                                      "from_email": "o@acme.test",
                                                      "webhook_signing_key": others["Mailgun signing key"]},
                       enabled=False)
    configure_provider(store.id, "email", "ses", {"region": "us-east-1", "access_key_id": "AKIAEXAMPLE0000",
                                                  "secret_access_key": others["SES secret key"],
                                                  "from_email": "o@acme.test"}, enabled=False)
    configure_provider(store.id, "ops", "slack", {"webhook_url": others["Slack webhook URL"]})
    configure_provider(store.id, "ops", "telegram", {"bot_token": others["Telegram token"], "chat_id": "-1001"})
    configure_provider(store.id, "ops", "webhook", {"url": "https://hooks.example/x",
                                                    "signing_secret": others["Webhook signing secret"]})
    from webapp.inbox.secrets import rotate_inbox_secret

    others["Inbox secret"] = rotate_inbox_secret(store.id)
    api_key = create_api_key(store.id, "ERP").plaintext
    post_shopify(client, store, "orders/cancelled", shopify_order(), "wh-s1")
    queued_jobs = redis_text()  # before the worker consumes them
    from tests.pipeline import run_worker

    run_worker()
    owner = login_as("owner")
    pages = "".join(client.get(path).get_data(as_text=True) for path in (
        "/", "/activity", "/outbox", "/health", "/settings/integrations", "/settings/audit",
        "/settings/notifications", "/settings/providers", f"/activity/{1}", f"/activity/{2}"))
    for config_id in range(1, 8):  # every provider's edit form
        pages += client.get(f"/settings/providers/{config_id}/edit").get_data(as_text=True)
    secrets = {"Twilio auth token": TWILIO_TOKEN, "SendGrid key": SENDGRID_KEY, "Shopify secret": SHOPIFY_SECRET,
               "API key": api_key, **others}
    places = {"database": database_text(), "pages": pages, "logs": caplog.text,
              "RQ job data": queued_jobs + redis_text()}
    leaks = [f"{name} in {place}" for name, secret in secrets.items() for place, haystack in places.items()
             if secret in haystack]
    assert leaks == []
    assert owner.email in pages  # the page grab really rendered signed-in pages
    assert pages.count("leave blank to keep") >= 7  # …and every provider's edit form, secrets masked
    assert len(twilio.messages) == 1 and len(sendgrid.mails) == 1
