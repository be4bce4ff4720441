from sqlalchemy import select

from tests.factories import make_store, make_user
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.notifications.models import NotificationRule
from webapp.notifications.rule_store import load_rules
from webapp.notifications.rules import RuleKey, all_rule_keys

SHOPIFY_DELIVERED = RuleKey("order", "shopify", "delivered")


def full_form(client, ticks: dict[str, list[str]] | None = None, revision: int = 0) -> dict:
    """The settings form as a browser posts it: every row's marker, plus the ticked boxes."""
    data = {"csrf_token": client.csrf, "revision": str(revision)}
    for key in all_rule_keys():
        data[f"{key.field}:present"] = "1"
    for field, parts in (ticks or {}).items():
        for part in parts:
            data[f"{field}:{part}"] = "1"
    return data


def test_page_lists_every_source_status_and_channel(client, login_as):
    login_as("owner")
    html = client.get("/settings/notifications").get_data(as_text=True)
    for source in ("CTO", "Fanvista", "Shopify", "BigCommerce", "WooCommerce", "retailcloud Online"):
        for status in ("Initiated", "Sent for Processing", "Processing", "Ready", "Delivered", "Cancelled",
                       "Returned"):
            assert f"SMS for {source} · {status}</label>" in html
            assert f"Email for {source} · {status}</label>" in html
    assert "Invoice Notifications" in html
    assert "Email for Invoice · Closed</label>" in html and "SMS for Invoice · Cancelled</label>" in html


def test_save_persists_every_change_and_audits_it(client, login_as, store):
    owner = login_as("owner")
    form = full_form(client, {"order:shopify:delivered": ["active", "email", "sms"],
                              "invoice:invoice:closed": ["active", "email"]})
    response = client.post("/settings/notifications", data=form)
    assert response.status_code == 302
    rules = load_rules(store.id)
    assert rules[SHOPIFY_DELIVERED].active and rules[SHOPIFY_DELIVERED].channels == {"email", "sms"}
    assert rules[RuleKey("invoice", "invoice", "closed")].channels == {"email"}
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.target for e in entries] == ["Shopify · Delivered", "Invoice · Closed"]
    assert entries[0].user_id == owner.id
    assert entries[0].old == {"active": False, "channels": []}
    assert entries[0].new == {"active": True, "channels": ["email", "sms"]}
    assert "Saved 2 rules." in client.get("/settings/notifications").get_data(as_text=True)


def test_htmx_save_answers_the_form_partial_with_confirmation(client, login_as):
    login_as("owner")
    form = full_form(client, {"order:cto:ready": ["active", "sms"]})
    response = client.post("/settings/notifications", data=form, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith("<form") and "Saved 1 rule." in html


def test_preview_marks_unsaved_rows_without_saving(client, login_as, store):
    login_as("owner")
    form = full_form(client, {"order:shopify:delivered": ["active", "sms"]})
    response = client.post("/settings/notifications/preview", data=form, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "1</strong> rule with unsaved changes" in html and "Unsaved</span>" in html
    assert not load_rules(store.id)[SHOPIFY_DELIVERED].active


def test_save_without_csrf_token_changes_nothing(client, login_as, store):
    login_as("owner")
    form = full_form(client, {"order:shopify:delivered": ["active"]})
    del form["csrf_token"]
    assert client.post("/settings/notifications", data=form).status_code == 400
    htmx = client.post("/settings/notifications", data=form, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert db.session.scalar(select(NotificationRule.id)) is None


def test_csrf_token_in_htmx_header_is_accepted(client, login_as, store):
    login_as("owner")
    form = full_form(client, {"order:shopify:delivered": ["active", "email"]})
    del form["csrf_token"]
    response = client.post("/settings/notifications", data=form,
                           headers={"HX-Request": "true", "X-CSRFToken": client.csrf})
    assert response.status_code == 200
    assert load_rules(store.id)[SHOPIFY_DELIVERED].active


def test_malformed_post_is_refused_and_changes_nothing(client, login_as, store):
    login_as("owner")
    form = full_form(client, {"order:shopify:delivered": ["active", "pigeon"]})
    response = client.post("/settings/notifications", data=form)
    assert response.status_code == 400
    assert "Unknown field" in response.get_data(as_text=True)
    assert db.session.scalar(select(NotificationRule.id)) is None
    bad_revision = full_form(client) | {"revision": "abc"}
    assert client.post("/settings/notifications", data=bad_revision).status_code == 400


def test_stale_form_is_refused_but_keeps_the_users_edits(client, login_as, store):
    login_as("owner")
    client.post("/settings/notifications", data=full_form(client, {"order:cto:ready": ["active", "sms"]}))
    stale = full_form(client, {"order:shopify:delivered": ["active", "email"]}, revision=0)
    response = client.post("/settings/notifications", data=stale, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved these rules" in html
    assert 'id="order-shopify-delivered-active" name="order:shopify:delivered:active" value="1" checked' in html
    assert not load_rules(store.id)[SHOPIFY_DELIVERED].active


def test_support_user_can_neither_open_nor_post_settings(client, login_as, store):
    login_as("support")
    assert client.get("/settings/notifications").status_code == 403
    form = full_form(client, {"order:shopify:delivered": ["active"]})
    assert client.post("/settings/notifications", data=form).status_code == 403
    assert client.post("/settings/notifications/preview", data=form).status_code == 403
    assert db.session.scalar(select(NotificationRule.id)) is None
    assert "Customer Notifications" not in client.get("/").get_data(as_text=True)


def test_marketer_cannot_manage_settings(client, login_as):
    login_as("marketer")
    assert client.get("/settings/notifications").status_code == 403


def test_another_stores_owner_sees_only_their_own_rules(client, login_as, store):
    login_as("owner")
    client.post("/settings/notifications", data=full_form(client, {"order:shopify:delivered": ["active", "sms"]}))
    client.post("/logout", data={"csrf_token": client.csrf})

    other = make_store("other-store")
    login_as("owner", in_store=other)
    html = client.get("/settings/notifications").get_data(as_text=True)
    assert 'name="order:shopify:delivered:active" value="1" checked' not in html
    client.post("/settings/notifications", data=full_form(client, {"order:cto:ready": ["active"]}))
    assert load_rules(store.id)[SHOPIFY_DELIVERED].active  # untouched by the other store's save
    assert not load_rules(store.id)[RuleKey("order", "cto", "ready")].active


def test_audit_log_is_owner_only_and_store_scoped(client, login_as, store):
    login_as("owner")
    client.post("/settings/notifications", data=full_form(client, {"order:shopify:delivered": ["active"]}))
    html = client.get("/settings/audit").get_data(as_text=True)
    assert "Shopify · Delivered" in html and "Notification rule changed" in html
    assert '<span class="old">Inactive · no channels</span> → <strong>Active · no channels</strong>' in html
    client.post("/logout", data={"csrf_token": client.csrf})

    login_as("owner", in_store=make_store("elsewhere"))
    assert "Shopify · Delivered" not in client.get("/settings/audit").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": client.csrf})
    make_user(store, "support")
    login_as("support")
    assert client.get("/settings/audit").status_code == 403
