"""A segment over the live customer list: order statistics, and each rule that excludes someone
counted, with the channel's consent rule and suppressions on top."""
from datetime import UTC, datetime
from decimal import Decimal

from tests.factories import make_store
from webapp.campaigns.audience import members, reach
from webapp.campaigns.segment_rules import parse
from webapp.consent.state import set_consent
from webapp.consent.suppression import suppress
from webapp.customers.gdpr import erased_address
from webapp.customers.models import Customer
from webapp.dispatch.models import Notification, NotificationEvent
from webapp.extensions import db
from webapp.orders.models import Order


def customer(store, email, *, tags=(), opted_in=True, muted=(), **fields):
    row = Customer(store_id=store.id, email=email, tags=list(tags), muted_topics=list(muted), **fields)
    db.session.add(row)
    db.session.commit()
    if opted_in:
        set_consent(row, "email", "opted_in", "checkout")
        db.session.commit()
    return row


def order(store, who, number, total, at):
    db.session.add(Order(store_id=store.id, source="shopify", external_id=number, number=number, customer_id=who.id,
                         status="delivered", total=Decimal(total), created_at=at))
    db.session.commit()


def segment(*conditions, match="all"):
    parsed_match, parsed, problems = parse(match, list(conditions))
    assert problems == []
    return parsed_match, parsed


def test_the_count_names_every_rule_that_excludes_someone(app, store):
    customer(store, "in@b.test", tags=["vip"])
    customer(store, "never-asked@b.test", tags=["vip"], opted_in=False)
    customer(store, None, tags=["vip"], phone="+14155550100")
    bounced = customer(store, "Bounced@B.test", tags=["vip"])
    customer(store, "muted@b.test", tags=["vip"], muted=["news"])
    customer(store, "other@b.test", tags=["casual"])
    suppress(store.id, "email", "bounced@b.test", "BOUNCE", "hard bounce", "sendgrid event", customer_id=bounced.id)
    # An erased customer's suppression is a digest; the same address coming back is still suppressed.
    suppress(store.id, "email", erased_address(store.id, "email", "back@b.test"), "COMPLAINT", "complaint", "ses")
    customer(store, "back@b.test", tags=["vip"])
    db.session.commit()

    counted = reach(store.id, *segment({"field": "tags", "op": "any_of", "value": ["VIP"]}), "email")
    assert counted.as_dict() == {"matched": 6, "reachable": 1, "excluded": {
        "no_address": 1, "suppressed": 2, "not_opted_in": 1, "topic_off": 1}}
    # SMS: only the one with a phone has an address, and nobody opted in to SMS.
    assert reach(store.id, *segment({"field": "tags", "op": "any_of", "value": ["vip"]}), "sms").as_dict()[
        "excluded"] == {"no_address": 5, "suppressed": 0, "not_opted_in": 1, "topic_off": 0}


def test_order_statistics_and_other_stores(app, store):
    regular, once, never = (customer(store, f"{name}@b.test") for name in ("regular", "once", "never"))
    for number, total in (("1", "40.00"), ("2", "75.50")):
        order(store, regular, number, total, datetime(2026, 11, int(number), tzinfo=UTC))
    order(store, once, "3", "10.00", datetime(2025, 5, 1, tzinfo=UTC))
    elsewhere = make_store("elsewhere")
    customer(elsewhere, "regular@b.test")

    def emails(*conditions, match="all"):
        ids = [m.customer_id for m in members(store.id, *segment(*conditions, match=match), "email")]
        return sorted(db.session.get(Customer, i).email.split("@")[0] for i in ids)

    assert emails({"field": "orders_count", "op": "gt", "value": 1}) == ["regular"]
    assert emails({"field": "total_spent", "op": "gt", "value": 100}) == ["regular"]
    assert emails({"field": "orders_count", "op": "eq", "value": 0}) == ["never"]
    assert emails({"field": "last_order_at", "op": "before", "value": "2026-01-01"}) == ["once"]
    assert emails({"field": "last_order_at", "op": "after", "value": "2026-10-31"},
                  {"field": "orders_count", "op": "eq", "value": 0}, match="any") == ["never", "regular"]
    assert emails() == ["never", "once", "regular"]


def test_customers_who_opened_or_clicked_a_recent_campaign(app, store):
    opener, clicker, quiet = (customer(store, f"{name}@b.test") for name in ("opener", "clicker", "quiet"))
    for who, kinds, day in ((opener, ("opened",), 20), (clicker, ("opened", "clicked"), 5), (quiet, (), 1)):
        row = Notification(store_id=store.id, customer_id=who.id, campaign_id=1, source="campaign",
                           message_type="campaign.message", channel="email", priority="marketing",
                           recipient=who.email, body="", status="delivered", idempotency_key=f"k-{who.id}")
        db.session.add(row)
        db.session.flush()
        for kind in kinds:
            db.session.add(NotificationEvent(notification_id=row.id, kind=kind, at=datetime(2026, 11, day, tzinfo=UTC)))
    db.session.commit()

    def who(conditions, match="all"):
        _, parsed, problems = parse(match, conditions)
        assert not problems
        return sorted(m.address for m in members(store.id, match, parsed, "email"))

    assert who([{"field": "last_opened_at", "op": "after", "value": "2026-11-01"}]) == ["clicker@b.test",
                                                                                         "opener@b.test"]
    assert who([{"field": "last_opened_at", "op": "after", "value": "2026-11-10"}]) == ["opener@b.test"]
    assert who([{"field": "last_clicked_at", "op": "after", "value": "2026-11-01"}]) == ["clicker@b.test"]
    assert who([{"field": "last_opened_at", "op": "before", "value": "2026-11-10"}]) == ["clicker@b.test"]
