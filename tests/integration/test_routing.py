"""The Routing page, end to end: an owner's routing changes the channels of the next message of
that type, "first reachable" falls through to the next channel, reset returns to the default, and
quiet hours and the marketing cap are saved; nobody else may, and no store sees another's."""
from sqlalchemy import select

from tests.factories import make_customer, make_store
from webapp.audit.models import AuditEntry
from webapp.consent.models import ChannelSuppression
from webapp.customers.models import CustomerDevice
from webapp.extensions import db
from webapp.notifications.models import MessageRoute
from webapp.notifications.route_store import store_route
from webapp.notifications.routing import ALL, FIRST, Route, default_route
from webapp.notifications.send import send_message

ROUTE_URL = "/settings/routing/{}"


def post_route(client, message_type: str, mode: str, channels: list[str], action: str = "", **headers):
    """The type's form as a browser posts it: every channel's position, the ticked ones, the mode."""
    data = {"csrf_token": client.csrf, "mode": mode}
    ordered = channels + [c for c in ("email", "sms", "whatsapp", "push", "in_app") if c not in channels]
    for position, channel in enumerate(ordered, start=1):
        data[f"position:{channel}"] = str(position)
    data.update({f"use:{channel}": "1" for channel in channels})
    return client.post(ROUTE_URL.format(message_type) + action, data=data, headers=headers)


def channels_of_next(store, customer, message_type="payment.failed", key="k1") -> list[tuple[str, str]]:
    rows = send_message(store, customer, message_type, key=key, reason="test", data={"payment": {"amount": "5"}})
    return [(row.channel, row.status) for row in rows]


def test_page_lists_each_routable_type_by_group_with_its_default(client, login_as):
    login_as("owner")
    html = client.get("/settings/routing").get_data(as_text=True)
    for heading in ("Payments and shipping", "Account and privacy", "Marketing", "Quiet hours and frequency cap"):
        assert f">{heading}</h2>" in html
    assert "Payment failed</h3>" in html and "Password reset</h3>" in html and "Cart reminder (first)</h3>" in html
    assert "Order ready" not in html  # order statuses belong to Customer Notifications
    assert "Order and invoice statuses use the channels of" in html
    assert "routing governs every other message type" in html
    assert 'href="/settings/routing"' in html  # the nav link
    assert "Customised" not in html and html.count(">Default</span>") >= 14
    notifications = client.get("/settings/notifications").get_data(as_text=True)
    assert 'href="/settings/routing">Routing</a>' in notifications


def test_changing_routing_changes_the_channels_of_the_next_notification(client, login_as, store):
    owner = login_as("owner")
    customer = make_customer(store)
    assert channels_of_next(store, customer, key="before") == [("email", "pending"), ("sms", "pending")]

    response = post_route(client, "payment.failed", ALL, ["sms"])
    assert response.status_code == 302 and response.location.endswith("#route-payment-failed")
    assert store_route(store.id, "payment.failed") == Route(ALL, ("sms",))
    assert channels_of_next(store, customer, key="after") == [("sms", "pending")]
    page = client.get("/settings/routing").get_data(as_text=True)
    assert "Payment failed: saved, all of SMS." in page and "Customised</span>" in page

    [entry] = db.session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.target, entry.user_id) == ("message_route.updated", "payment.failed", owner.id)
    assert entry.old == {"mode": "all", "channels": ["email", "sms"]} and entry.new == {"mode": "all",
                                                                                        "channels": ["sms"]}


def test_first_reachable_gives_sms_without_an_app_and_email_when_sms_is_suppressed(client, login_as, store):
    login_as("owner")
    assert post_route(client, "payment.failed", FIRST, ["push", "sms", "email"]).status_code == 302
    customer = make_customer(store, phone="+14155550100")
    assert channels_of_next(store, customer, key="no-app") == [("sms", "pending")]

    db.session.add(ChannelSuppression(store_id=store.id, channel="sms", address="+14155550100", reason="STOP"))
    db.session.commit()
    assert channels_of_next(store, customer, key="stopped") == [("email", "pending")]

    db.session.add(CustomerDevice(store_id=store.id, customer_id=customer.id, platform="fcm", token="tok-1"))
    db.session.commit()
    assert channels_of_next(store, customer, key="app") == [("push", "pending")]


def test_reset_returns_to_the_default_and_is_audited(client, login_as, store):
    login_as("owner")
    post_route(client, "shipping.out_for_delivery", ALL, ["email"])
    assert store_route(store.id, "shipping.out_for_delivery") == Route(ALL, ("email",))
    response = post_route(client, "shipping.out_for_delivery", ALL, ["email"], "/reset", **{"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith("<form")
    assert "back to the default, first reachable of Push → SMS → Email." in html and ">Default</span>" in html
    assert store_route(store.id, "shipping.out_for_delivery") == default_route("shipping.out_for_delivery")
    assert db.session.scalar(select(MessageRoute)) is None
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["message_route.updated", "message_route.reset"]
    again = post_route(client, "shipping.out_for_delivery", ALL, ["email"], "/reset", **{"HX-Request": "true"})
    assert "already uses the default" in again.get_data(as_text=True)
    assert len(actions) == db.session.query(AuditEntry).count()


def test_saving_the_default_keeps_no_override(client, login_as, store):
    login_as("owner")
    post_route(client, "payment.confirmed", FIRST, ["sms", "email"])
    post_route(client, "payment.confirmed", ALL, ["email"])
    assert db.session.scalar(select(MessageRoute)) is None
    assert store_route(store.id, "payment.confirmed") == default_route("payment.confirmed")


def test_invalid_routes_are_refused_with_the_reason_and_nothing_saved(client, login_as, store):
    login_as("owner")
    cases = [("payment.failed", ALL, [], "choose at least one channel"),
             ("payment.failed", "sometimes", ["email"], "mode must be one of")]
    for message_type, mode, channels, problem in cases:
        response = post_route(client, message_type, mode, channels, **{"HX-Request": "true"})
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and problem in html and 'role="alert"' in html
    assert db.session.scalar(select(MessageRoute)) is None and db.session.scalar(select(AuditEntry)) is None
    # A channel the type cannot use is not offered at all (GDPR notices go by email only).
    page = client.get("/settings/routing").get_data(as_text=True)
    assert 'id="route-gdpr-export-ready-use-email"' in page and 'id="route-gdpr-export-ready-use-sms"' not in page
    assert post_route(client, "order.ready", ALL, ["email"]).status_code == 404
    assert post_route(client, "no.such", ALL, ["email"]).status_code == 404


def test_moving_a_channel_rerenders_unsaved_until_save(client, login_as, store):
    login_as("owner")
    data = {"csrf_token": client.csrf, "mode": FIRST, "move": "sms:up", "use:email": "1", "use:sms": "1",
            **{f"position:{c}": str(i) for i, c in enumerate(("email", "sms", "whatsapp", "push", "in_app"), 1)}}
    response = client.post(ROUTE_URL.format("payment.failed") + "/preview", data=data, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Unsaved changes" in html
    assert html.index('name="position:sms" value="1"') > 0 and 'name="position:email" value="2"' in html
    assert "Tries SMS, then Email" in html
    assert store_route(store.id, "payment.failed") == default_route("payment.failed")  # nothing saved


def test_marketer_and_support_may_not_see_or_change_routing(client, login_as, store):
    for role in ("marketer", "support"):
        login_as(role)
        assert client.get("/settings/routing").status_code == 403
        assert "/settings/routing" not in client.get("/").get_data(as_text=True)
        assert post_route(client, "payment.failed", ALL, ["sms"]).status_code == 403
        assert client.post("/settings/routing/limits", data={"csrf_token": client.csrf, "cap_day": "1"}
                           ).status_code == 403
        client.post("/logout", data={"csrf_token": client.csrf})
    assert db.session.scalar(select(MessageRoute)) is None and store.marketing_cap_day is None


def test_another_stores_routes_do_not_leak(client, login_as, store):
    other = make_store("other")
    login_as("owner", in_store=other)
    post_route(client, "payment.failed", ALL, ["sms"])
    assert store_route(other.id, "payment.failed") == Route(ALL, ("sms",))
    assert store_route(store.id, "payment.failed") == default_route("payment.failed")
    customer = make_customer(store)
    assert channels_of_next(store, customer) == [("email", "pending"), ("sms", "pending")]


def test_quiet_hours_and_cap_are_validated_saved_and_audited(client, login_as, store):
    owner = login_as("owner")
    bad = client.post("/settings/routing/limits", headers={"HX-Request": "true"},
                      data={"csrf_token": client.csrf, "quiet_start": "21:00", "quiet_end": "", "cap_day": "2"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "both a start and an end" in html and 'value="21:00"' in html
    db.session.refresh(store)
    assert store.quiet_hours_start is None and store.marketing_cap_day is None

    good = client.post("/settings/routing/limits", data={"csrf_token": client.csrf, "quiet_start": "21:00",
                                                         "quiet_end": "8:00", "cap_day": "2", "cap_week": ""})
    assert good.status_code == 302 and good.location.endswith("#limits")
    db.session.refresh(store)
    assert (store.quiet_hours_start, store.quiet_hours_end, store.marketing_cap_day, store.marketing_cap_week) == (
        "21:00", "08:00", 2, None)
    [entry] = db.session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.user_id, entry.new["cap_day"], entry.old["quiet_start"]) == (
        "store.send_limits_updated", owner.id, 2, None)
    page = client.get("/settings/routing").get_data(as_text=True)
    assert "Quiet hours and frequency cap saved." in page and 'value="08:00"' in page
