"""Demo data for `make run`: a store, three staff users, a few customers and orders, some rules.

Idempotent: running it again changes nothing that already exists.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from webapp.accounts.models import Store, User
from webapp.accounts.provisioning import create_store, create_user
from webapp.campaigns.campaign_store import create_campaign
from webapp.campaigns.models import Segment
from webapp.campaigns.segment_store import create_segment
from webapp.consent.state import set_consent
from webapp.consent.vocabulary import OPTED_IN
from webapp.customers.models import Customer
from webapp.events.integrations import get_integration, set_secret
from webapp.events.normalized import CustomerData, LineItem, NormalizedEvent
from webapp.extensions import db
from webapp.notifications.models import NotificationRule
from webapp.notifications.rule_store import save_rules
from webapp.notifications.rules import RuleKey, RuleState
from webapp.orders.models import Order
from webapp.pipeline.ingest import ingest_event
from webapp.promotions import promotion_store
from webapp.promotions.balances import GiftCardRequest, issue_credit, issue_gift_card
from webapp.promotions.models import Promotion
from webapp.timeutil import utcnow
from webapp.vocabulary import ORDER_STATUSES

DEMO_SLUG = "demo"
DEMO_USERS = (
    ("owner@demo.test", "owner", "demo-owner-pass"),
    ("marketer@demo.test", "marketer", "demo-marketer-pass"),
    ("support@demo.test", "support", "demo-support-pass"),
)
CUSTOMERS = (
    ("Ana Souza", "ana@example.com", "+5511987654321", "pt-BR"),
    ("Bob Norman", "bob.norman@hostmail.com", "+16135550142", "en"),
    ("Chloé Martin", "chloe@example.fr", "+33612345678", "fr"),
    ("Dieter Weber", "dieter@example.de", None, "de"),
)
# Per customer above: shopper groups, tags, timezone, and the channels they opted in to marketing on.
CUSTOMER_PROFILES = (
    (["VIP"], ["runner", "newsletter"], "America/Sao_Paulo", ("email", "sms")),
    (["Retail"], ["newsletter"], "America/Toronto", ("email",)),
    (["VIP", "Wholesale"], [], "Europe/Paris", ()),
    (["Retail"], ["hiking"], "Europe/Berlin", ("email",)),
)
ORDERS = (
    ("shopify", "450789469", "#1001", 1, "processing", "409.94"),
    ("woocommerce", "727", "WC-727", 0, "delivered", "35.00"),
    ("bigcommerce", "118", "BC-118", 2, "ready", "129.50"),
    ("cto", "CTO-5521", "CTO-5521", 3, "initiated", "18.20"),
    ("retailcloud_online", "RC-9001", "RC-9001", 1, "cancelled", "64.00"),
)
ACTIVE_RULES = (
    ("shopify", "cancelled", {"email", "sms"}),
    ("shopify", "delivered", {"email", "sms"}),
    ("shopify", "ready", {"email"}),
    ("woocommerce", "processing", {"email"}),
    ("woocommerce", "delivered", {"email", "sms"}),
    ("bigcommerce", "cancelled", {"email"}),
    ("cto", "processing", {"email", "sms"}),  # what the README's API example triggers
)


DEMO_WEBHOOK_SECRETS = {"shopify": "demo-shopify-webhook-secret", "woocommerce": "demo-woocommerce-secret",
                        "bigcommerce": "demo-bigcommerce-header-secret"}


def seed_demo() -> Store:
    store = db.session.scalar(select(Store).where(Store.slug == DEMO_SLUG))
    if store is None:
        store = create_store(DEMO_SLUG, "Demo Outfitters", "en", "America/New_York", "USD")
    for email, role, password in DEMO_USERS:
        if not db.session.scalar(select(User.id).where(User.email == email)):
            create_user(store, email, role, password)
    if not db.session.scalar(select(Customer.id).where(Customer.store_id == store.id)):
        _seed_orders(store)
    # Only a store that never had rules gets the demo ones: an owner who switched them all off
    # keeps them off across restarts.
    if not db.session.scalar(select(NotificationRule.id).where(NotificationRule.store_id == store.id).limit(1)):
        rules = {RuleKey("order", source, status): RuleState(True, frozenset(channels))
                 for source, status, channels in ACTIVE_RULES}
        # Staff may send every status message by email or SMS from an order's page.
        rules |= {RuleKey("order", "manual", status.code): RuleState(True, frozenset({"email", "sms"}))
                  for status in ORDER_STATUSES}
        save_rules(store.id, None, rules)
    _seed_integrations(store)
    _seed_campaign(store)
    _seed_promotions(store)
    return store


DEMO_CAMPAIGN_BODY = ("<h1>Winter warmers are here</h1><p>Hello {{ customer.first_name or 'there' }}, our merino "
                      "range just landed.</p><p><a href=\"https://shop.example.com/winter\">Shop the range</a></p>")


def _seed_campaign(store: Store) -> None:
    """A segment of newsletter readers and a draft campaign to them, so Campaigns is not empty."""
    if db.session.scalar(select(Segment.id).where(Segment.store_id == store.id).limit(1)):
        return
    segment, _ = create_segment(store.id, "Newsletter readers", "all",
                                [{"field": "tags", "op": "any_of", "value": ["newsletter"]}])
    create_campaign(store, {"name": "Winter warmers", "channel": "email", "segment_id": segment.id,
                            "content": {"en": {"subject": "Winter warmers, {{ customer.first_name or 'friend' }}",
                                               "body": DEMO_CAMPAIGN_BODY}},
                            "utm": {"source": "newsletter", "medium": "email", "campaign": "winter-warmers"}})


DEMO_PROMOTIONS = (
    {"name": "VIP winter sale", "priority": 10, "conditions": [{"type": "customer_group", "group": "VIP"}],
     "actions": [{"type": "percentage_off_items", "percent": 15, "categories": ["Outerwear"]}]},
    {"name": "Welcome 10% (coupon)", "priority": 20,
     "conditions": [{"type": "coupon"}, {"type": "first_order"}],
     "actions": [{"type": "percentage_off_cart", "percent": 10}]},
    {"name": "Socks: buy 2, get 1 free", "priority": 30,
     "actions": [{"type": "buy_x_get_y", "buy": {"quantity": 2, "categories": ["Socks"]},
                  "get": {"quantity": 1, "categories": ["Socks"]}, "percent": 100}]},
    {"name": "Free shipping over 75", "priority": 90, "conditions": [{"type": "subtotal_above", "amount": "75.00"}],
     "actions": [{"type": "free_shipping", "max_shipping": "15.00"}]},
)


def _seed_promotions(store: Store) -> None:
    """Promotions (one with the coupon WELCOME10), a bundle, a gift card and some store credit, so
    the Promotions pages and the simulator have something to price."""
    if db.session.scalar(select(Promotion.id).where(Promotion.store_id == store.id).limit(1)):
        return
    for data in DEMO_PROMOTIONS:
        promotion, _ = promotion_store.create_promotion(store, data)
        if promotion.name.startswith("Welcome"):
            request, _ = promotion_store.parse_coupon_request({"code": "WELCOME10", "once_per_customer": True})
            promotion_store.add_coupons(promotion, request)
    promotion_store.create_bundle(store, {"name": "Trail kit", "items": [{"product": "Trail runner", "quantity": 1},
                                                                          {"product": "Merino socks", "quantity": 2}],
                                          "amount": "12.00"})
    issue_gift_card(store, GiftCardRequest("DEMO-GIFT-2026", Decimal("50.00"), store.currency, None, None,
                                           "Happy holidays!"))
    bob = db.session.scalar(select(Customer).where(Customer.store_id == store.id,
                                                   Customer.email == "bob.norman@hostmail.com"))
    if bob is not None:
        issue_credit(store, bob, Decimal("20.00"), store.currency, "goodwill: late delivery of WC-727")


def _seed_integrations(store: Store) -> None:
    """Webhook secrets (so the demo accepts signed webhooks) and a first event through the pipeline."""
    if get_integration(store.id, "shopify") is not None:
        return
    for source, secret in DEMO_WEBHOOK_SECRETS.items():
        set_secret(store.id, source, secret)
    _ingest_demo_event(store)


def _ingest_demo_event(store: Store) -> None:
    event = NormalizedEvent(
        source="shopify", kind="order", external_id="450789470", number="#1002", status="delivered",
        occurred_at=utcnow(), topic="fulfillment_events/create",
        customer=CustomerData(name="Ana Souza", email="ana@example.com", phone="+5511987654321", locale="pt-BR"),
        lines=(LineItem("Trail Runner 2", 1, Decimal("89.00")),), total=Decimal("89.00"), currency=store.currency)
    ingest_event(store, event, "demo:first-delivery")


def _seed_orders(store: Store) -> None:
    customers = [Customer(store_id=store.id, name=name, email=email, phone=phone, locale=locale, groups=groups,
                          tags=tags, timezone=timezone)
                 for (name, email, phone, locale), (groups, tags, timezone, _) in zip(CUSTOMERS, CUSTOMER_PROFILES,
                                                                                       strict=True)]
    db.session.add_all(customers)
    db.session.flush()
    for customer, (*_, opted_in) in zip(customers, CUSTOMER_PROFILES, strict=True):
        for channel in opted_in:
            set_consent(customer, channel, OPTED_IN, "checkout", actor="demo data")
    now = utcnow()
    for age, (source, external_id, number, customer, status, total) in enumerate(ORDERS):
        placed = now - timedelta(days=len(ORDERS) - age)
        db.session.add(Order(store_id=store.id, source=source, external_id=external_id, number=number,
                             customer_id=customers[customer].id, status=status, total=Decimal(total),
                             currency=store.currency, created_at=placed, updated_at=placed))
    db.session.commit()
