"""Templates in the dashboard and through the API: who may edit, what is saved, what the next
message sends, and which layer the editor says is in use."""
import json

import pytest
from sqlalchemy import select

from tests.pipeline import connect_sources, post_shopify, run_worker, set_rule, shopify_order
from tests.unit.templating.test_safety import INJECTIONS, RUNAWAYS
from webapp.audit.models import AuditEntry
from webapp.dispatch.models import Notification
from webapp.events.api_keys import create_api_key
from webapp.extensions import db
from webapp.templating.models import MessageTemplate, MessageTemplateVersion

SMS = "/templates/order.cancelled/sms"


def save(client, path, locale, **fields):
    return client.post(path, data={"csrf_token": client.csrf, "locale": locale, **fields})


def test_marketers_and_owners_edit_templates_support_does_not(client, login_as, store):
    login_as("support")
    assert client.get("/templates").status_code == 403
    assert client.get(SMS).status_code == 403
    assert save(client, SMS, "en", body="x").status_code == 403


@pytest.mark.parametrize("role", ["owner", "marketer"])
def test_the_catalog_and_editor_open_for(role, client, login_as, store):
    login_as(role)
    page = client.get("/templates").get_data(as_text=True)
    assert "Order cancelled" in page and "Password reset" in page and "Campaign message" in page
    editor = client.get(SMS + "?locale=de").get_data(as_text=True)
    assert "Bestellung {{ order.number }} wurde storniert" in editor
    assert "Ihre Bestellung #1042 wurde storniert." in editor  # the preview with sample data


def test_the_editor_names_the_layer_in_use(client, login_as, store):
    login_as("marketer")
    assert "Default template — edit and save" in client.get(SMS + "?locale=en").get_data(as_text=True)
    assert save(client, SMS, "en", body="{{ store.name }}: cancelled {{ order.number }}").status_code == 302
    assert "Your template, version 1." in client.get(SMS + "?locale=en").get_data(as_text=True)
    other = client.get(SMS + "?locale=fr").get_data(as_text=True)
    assert "Your template, shown in English: no fr template — edit and save to use your own wording in French." in other


def test_an_invalid_template_is_not_saved_and_the_text_stays_with_the_error(client, login_as, store):
    login_as("marketer")
    response = save(client, SMS, "en", body="Hi\n{{ order.nmber }}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Not saved." in page and "line 2" in page and "order.nmber" in page
    assert "Hi\n{{ order.nmber }}" in page  # what the user typed is still there
    assert db.session.query(MessageTemplate).count() == 0


def test_a_saved_template_is_what_the_next_message_sends_and_history_restores(client, login_as, store):
    login_as("owner")
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", channels=("sms",))
    assert save(client, SMS, "en", body="{{ store.name }} v1 {{ order.number }}").status_code == 302
    assert save(client, SMS, "en", body="{{ store.name }} v2 {{ order.number }}").status_code == 302
    [first] = [v for v in db.session.scalars(select(MessageTemplateVersion)) if v.version == 1]
    response = client.post(f"/templates/versions/{first.id}/restore", data={"csrf_token": client.csrf})
    assert response.status_code == 302
    post_shopify(client, store, "orders/cancelled", shopify_order(), "tpl-1")
    run_worker()
    [sms] = db.session.scalars(select(Notification)).all()
    assert sms.body == "Acme Goods v1 #1001"
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"template.saved", "template.restored"} <= actions
    assert client.post(SMS + "/reset", data={"csrf_token": client.csrf, "locale": "en"}).status_code == 302
    assert db.session.query(MessageTemplate).count() == 0


def test_the_customers_locale_picks_the_layer(client, login_as, store):
    """pt-BR customer: the store's pt-BR template; fr customer: the store's own in its default locale
    (en); once that is reset, the platform's French default."""
    login_as("owner")
    save(client, SMS, "pt-BR", body="Loja {{ order.number }} cancelado")
    save(client, SMS, "en", body="Store {{ order.number }} cancelled")
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", channels=("sms",))

    def cancel(order_id: int, locale: str):
        post_shopify(client, store, "orders/cancelled",
                     shopify_order(id=order_id, name=f"#{order_id}", customer_locale=locale), f"loc-{order_id}")

    cancel(5001, "pt-BR")
    cancel(5002, "fr")
    client.post(SMS + "/reset", data={"csrf_token": client.csrf, "locale": "en"})
    cancel(5003, "fr")
    sent = [(row.locale, row.body) for row in db.session.scalars(select(Notification).order_by(Notification.id))]
    assert sent == [("pt-BR", "Loja #5001 cancelado"), ("en", "Store #5002 cancelled"),
                    ("fr", "Acme Goods: Votre commande #5003 a été annulée.")]


# --- the API ---------------------------------------------------------------------------------------

@pytest.fixture
def api(client, store):
    key = create_api_key(store.id, "templates").plaintext

    def call(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        return client.open(path, method=method, data=data, content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})
    return call


def test_the_api_lists_the_catalog_with_variables(api):
    catalog = api("GET", "/api/v1/templates").get_json()
    ready = next(t for t in catalog["templates"] if t["type"] == "order.ready")
    assert "pt-BR" in catalog["locales"] and "email" in ready["channels"]
    assert {"name": "order.number", "description": "The order number customers see", "sample": "#1042"} in \
        ready["variables"]


def test_the_api_gets_puts_and_deletes_a_template(api):
    path = "/api/v1/templates/order.ready/sms/de"
    assert api("GET", path).get_json()["layer"] == "default"
    saved = api("PUT", path, {"body": "{{ store.name }}: bereit {{ order.number }}"})
    assert saved.status_code == 200 and saved.get_json()["layer"] == "store" and saved.get_json()["version"] == 1
    assert api("GET", path).get_json()["body"] == "{{ store.name }}: bereit {{ order.number }}"
    assert api("DELETE", path).get_json()["layer"] == "default"
    assert api("GET", "/api/v1/templates/order.nope/sms/de").status_code == 404


def test_the_api_answers_422_with_line_and_column(api):
    response = api("PUT", "/api/v1/templates/order.ready/sms/en", {"body": "ok\n  {{ order.number }"})
    assert response.status_code == 422
    assert {k: response.get_json()[k] for k in ("line", "column")} == {"line": 2, "column": 3}
    assert response.get_json()["error"].startswith("Syntax error")


@pytest.mark.parametrize("payload", INJECTIONS + RUNAWAYS)
def test_the_api_refuses_every_injection_and_runaway_with_422(api, payload):
    response = api("PUT", "/api/v1/templates/order.ready/email/en", {"subject": "S", "body": payload})
    assert response.status_code == 422, payload
    assert api("POST", "/api/v1/templates/preview", {"type": "order.ready", "channel": "sms", "locale": "en",
                                                     "body": payload}).status_code == 422
    assert db.session.query(MessageTemplate).count() == 0


def test_the_api_previews_a_draft_with_sample_data_and_saves_nothing(api):
    response = api("POST", "/api/v1/templates/preview", {"type": "order.ready", "channel": "sms", "locale": "en",
                                                         "body": "{{ store.name }} · {{ order.number }}"})
    assert response.status_code == 200 and response.get_json()["body"] == "Acme Goods · #1042"
    assert db.session.query(MessageTemplate).count() == 0


def test_the_notification_page_names_the_template_layer(client, login_as, store):
    login_as("owner")
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", channels=("sms",))
    post_shopify(client, store, "orders/cancelled", shopify_order(customer_locale="ja"), "layer-1")
    [row] = db.session.scalars(select(Notification)).all()
    page = client.get(f"/activity/{row.id}").get_data(as_text=True)
    assert "Default template, shown in English: no ja template" in page


def test_each_rule_links_to_the_template_it_sends(client, login_as, store):
    login_as("owner")
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert 'href="/templates/order.cancelled/email"' in page and 'href="/templates/invoice.closed/email"' in page


def test_history_shows_what_each_version_changed(client, login_as, store):
    login_as("marketer")
    save(client, SMS, "en", body="{{ store.name }} first {{ order.number }}")
    save(client, SMS, "en", body="{{ store.name }} second {{ order.number }}")
    page = client.get(SMS + "?locale=en").get_data(as_text=True)
    assert "-{{ store.name }} first {{ order.number }}" in page
    assert "+{{ store.name }} second {{ order.number }}" in page


def test_a_refused_injection_is_logged_with_the_template_and_the_user(client, login_as, store, caplog):
    user = login_as("marketer")
    save(client, SMS, "en", body="{{ self.__init__.__globals__ }}")
    [line] = [r.getMessage() for r in caplog.records if "refused for user" in r.getMessage()]
    assert f"order.cancelled/sms/en of store {store.id} refused for user {user.id}" in line


def test_the_sms_segment_limit_is_a_setting(app, client, login_as, store):
    from tests.runtime import reconfigure

    login_as("marketer")
    reconfigure(app, TEMPLATE_MAX_SMS_SEGMENTS=1)
    response = save(client, SMS, "en", body="x" * 200)
    assert response.status_code == 400 and "the most allowed is 1" in response.get_data(as_text=True)


def test_send_test_delivers_the_draft_to_me_and_saves_nothing(client, login_as, store):
    from webapp.channels.models import SandboxMessage

    user = login_as("marketer")
    response = client.post("/templates/order.ready/email/test", data={
        "csrf_token": client.csrf, "locale": "en", "subject": "Draft {{ order.number }}",
        "body": "<p>Draft body for {{ customer.first_name }}</p>"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f"Test to {user.email}: Accepted by" in page
    assert "Draft {{ order.number }}" in page  # the draft is still on the page
    [sent] = db.session.scalars(select(SandboxMessage)).all()
    assert sent.recipient == user.email and sent.subject == "Draft #1042" and "Draft body for Ana" in sent.body
    assert db.session.query(MessageTemplate).count() == 0
    assert "template.test_sent" in set(db.session.scalars(select(AuditEntry.action)))


def test_history_says_who_changed_it(client, login_as, store, api):
    user = login_as("marketer")
    save(client, SMS, "en", body="{{ store.name }} by hand {{ order.number }}")
    api("PUT", "/api/v1/templates/order.cancelled/sms/en", {"body": "{{ store.name }} by API {{ order.number }}"})
    page = client.get(SMS + "?locale=en").get_data(as_text=True)
    assert f"<td>{user.email}</td>" in page and "<td>the API</td>" in page


def test_branding_is_saved_validated_and_used_by_the_next_email(client, login_as, store):
    login_as("marketer")
    bad = client.post("/templates/branding", data={"csrf_token": client.csrf, "accent": "red"}, follow_redirects=True)
    assert "Branding not saved: The accent colour is a hex colour" in bad.get_data(as_text=True)
    ok = client.post("/templates/branding", data={"csrf_token": client.csrf, "accent": "#c2410c",
                                                  "logo_url": "https://cdn.example.com/logo.png",
                                                  "address": "1 Main St, Lisbon"}, follow_redirects=True)
    assert "Branding saved" in ok.get_data(as_text=True)
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", channels=("email",))
    post_shopify(client, store, "orders/cancelled", shopify_order(), "brand-1")
    [email] = db.session.scalars(select(Notification)).all()
    assert "#c2410c" in email.body and 'src="https://cdn.example.com/logo.png"' in email.body
    assert "1 Main St, Lisbon" in email.body


def test_marketing_email_carries_an_unsubscribe_link_in_the_customers_language():
    from webapp.templating import catalog, defaults
    from webapp.templating.context import build_context
    from webapp.templating.layout import Branding
    from webapp.templating.message import render_message

    message_type = catalog.get("campaign.message")
    context = build_context(message_type, catalog.sample_context(message_type), locale="de")
    email = render_message("email", defaults.default_template("campaign.message", "email", "de"), context,
                           branding=Branding("Acme"), lang="de", marketing=True,
                           unsubscribe_label=defaults.unsubscribe_label("de"))
    assert ">Von diesen E-Mails abmelden</a>" in email.body and "https://notify.example.com/u/abc123" in email.body


def test_an_email_keeps_its_plain_text_part_written_or_generated(client, login_as, store):
    login_as("owner")
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", channels=("email",))
    post_shopify(client, store, "orders/cancelled", shopify_order(), "text-1")
    save(client, "/templates/order.cancelled/email", "en", subject="Cancelled {{ order.number }}",
         body="<p>Gone</p>", text="Plain: {{ order.number }} is cancelled")
    post_shopify(client, store, "orders/cancelled", shopify_order(id=9001, name="#9001"), "text-2")
    generated, written = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert "Your order was cancelled." in generated.body_text and "<" not in generated.body_text
    assert "Your order #1001 was cancelled" not in generated.body_text.split("\n")[0]  # no hidden preheader
    assert written.body_text == "Plain: #9001 is cancelled"


def test_push_and_in_app_messages_carry_the_templates_link(client, login_as, store):
    from tests.factories import make_customer
    from webapp.inbox.models import InboxMessage

    login_as("owner")
    save(client, "/templates/order.cancelled/in_app", "en", title="Cancelled {{ order.number }}",
         body="Sorry", link="https://shop.example.com/o/{{ order.number | urlencode }}")
    connect_sources(store)
    set_rule(store, "shopify", "cancelled", channels=("in_app",))
    make_customer(store, email="bob@example.com")
    post_shopify(client, store, "orders/cancelled", shopify_order(email="bob@example.com"), "link-1")
    run_worker()
    [row] = db.session.scalars(select(Notification)).all()
    assert row.link == "https://shop.example.com/o/%231001"
    [message] = db.session.scalars(select(InboxMessage)).all()
    assert message.link == row.link


def test_a_link_that_is_not_a_web_or_app_address_is_dropped():
    from webapp.notifications.planner import _safe_link

    assert _safe_link("javascript:alert(1)") is None and _safe_link("data:text/html,x") is None
    assert _safe_link("shop://orders/1") == "shop://orders/1" and _safe_link("https://x.test/a b") is None
