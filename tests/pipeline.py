"""Helpers for pipeline tests: signed webhooks from the real fixtures, rules, a real RQ worker."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from rq import Queue
from sqlalchemy import select

from jobs.worker import QUEUES, AppWorker
from webapp.channels.models import SandboxMessage
from webapp.dispatch.models import Notification
from webapp.events.integrations import set_secret
from webapp.events.signatures import hmac_sha256_base64
from webapp.extensions import db
from webapp.notifications.rule_store import load_rules, save_rules
from webapp.notifications.rules import RuleKey, RuleState
from webapp.redis_conn import get_redis

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHOPIFY_SECRET = "shpss_0123456789abcdef0123456789"
WOO_SECRET = "woo-secret-0123456789abcdef"
BIGCOMMERCE_SECRET = "bc-header-secret-0123456789"


def fixture(path: str) -> dict:
    return json.loads((FIXTURES / path).read_text())


def shopify_order(**changes) -> dict:
    order = copy.deepcopy(fixture("shopify/order.json")["order"])
    order.update(changes)
    return order


def set_rule(store, source: str, status: str, channels=("email", "sms"), active=True, kind="order") -> None:
    rules = load_rules(store.id)
    rules[RuleKey(kind, source, status)] = RuleState(active, frozenset(channels))
    save_rules(store.id, None, rules)


def connect_sources(store) -> None:
    set_secret(store.id, "shopify", SHOPIFY_SECRET)
    set_secret(store.id, "woocommerce", WOO_SECRET)
    set_secret(store.id, "bigcommerce", BIGCOMMERCE_SECRET)


def post_shopify(client, store, topic: str, payload: dict, webhook_id: str, secret: str = SHOPIFY_SECRET):
    body = json.dumps(payload).encode()
    return client.post(f"/webhooks/shopify/{store.slug}", data=body, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret, body), "X-Shopify-Shop-Domain": "acme.myshopify.com"})


def post_woocommerce(client, store, topic: str, payload: dict, secret: str = WOO_SECRET, delivery: str = "1"):
    body = json.dumps(payload).encode()
    return client.post(f"/webhooks/woocommerce/{store.slug}", data=body, headers={
        "Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": hmac_sha256_base64(secret, body)})


def run_worker() -> None:
    """A real RQ worker (the production class) drains every queue, then returns."""
    conn = get_redis()
    AppWorker([Queue(name, connection=conn) for name in QUEUES], connection=conn).work(burst=True)


def sandbox_messages(store_id: int) -> list[SandboxMessage]:
    return list(db.session.scalars(select(SandboxMessage).where(SandboxMessage.store_id == store_id)
                                   .order_by(SandboxMessage.channel)))


def notifications(store_id: int) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.store_id == store_id)
                                   .order_by(Notification.id)))
