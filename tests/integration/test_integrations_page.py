import re

from sqlalchemy import select

from tests.factories import make_store
from webapp.events.api_keys import create_api_key
from webapp.events.integrations import api_token_for, get_integration, secret_for
from webapp.events.models import ApiKey, IntegrationSecret
from webapp.extensions import db

SECRET = "whsec-0123456789-very-secret-AbCd"
PAGES = ("/settings/integrations", "/settings/integrations/status-mapping", "/activity", "/outbox", "/health", "/")


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, **kwargs)


def test_owner_sees_each_platforms_webhook_url_secret_field_and_status_mapping(client, login_as, store):
    login_as("owner")
    html = client.get("/settings/integrations").get_data(as_text=True)
    for source in ("shopify", "woocommerce", "bigcommerce"):
        assert f'value="http://localhost/webhooks/{source}/acme"' in html
        assert f'<label for="secret-{source}">' in html
        assert re.search(rf'<input type="password" id="secret-{source}" name="secret"', html)
    assert "BigCommerce webhooks carry only the order id" in html
    mapping = client.get("/settings/integrations/status-mapping").get_data(as_text=True)
    for label in ("Shopify", "WooCommerce", "BigCommerce"):
        assert f">{label}</h2>" in mapping
    assert "orders/cancelled" in mapping and "Cancelled" in mapping


def test_saved_secret_is_shown_only_by_its_hint_on_every_page(client, login_as, store):
    login_as("owner")
    response = post(client, "/settings/integrations/shopify/secret", {"secret": SECRET})
    assert response.status_code == 303
    assert secret_for(store.id, "shopify") == SECRET
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "••••AbCd" in page and "Replace secret" in page
    for path in PAGES:
        assert SECRET not in client.get(path).get_data(as_text=True), path
    htmx = post(client, "/settings/integrations/woocommerce/secret", {"secret": SECRET + "-wc"},
                headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "Saved." in htmx.get_data(as_text=True)
    assert SECRET not in htmx.get_data(as_text=True)


def test_too_short_secret_answers_400_with_the_message_and_stores_nothing(client, login_as, store):
    login_as("owner")
    response = post(client, "/settings/integrations/shopify/secret", {"secret": "short"})
    assert response.status_code == 400
    assert "at least 16 characters" in response.get_data(as_text=True)
    htmx = post(client, "/settings/integrations/shopify/secret", {"secret": "short"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert htmx.get_data(as_text=True).lstrip().startswith('<section class="card source-card"')
    assert db.session.scalar(select(IntegrationSecret)) is None


def test_bigcommerce_api_settings_are_saved_and_the_token_never_shown(client, login_as, store):
    login_as("owner")
    response = post(client, "/settings/integrations/bigcommerce/secret",
                    {"secret": SECRET, "store_hash": "abc123", "api_base_url": "https://api.bigcommerce.com",
                     "api_token": "bc-token-SECRET-9876"})
    assert response.status_code == 303
    row = get_integration(store.id, "bigcommerce")
    assert row.settings == {"store_hash": "abc123", "api_base_url": "https://api.bigcommerce.com"}
    assert api_token_for(row) == "bc-token-SECRET-9876"
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert 'value="abc123"' in html and "A token is saved" in html
    assert "bc-token-SECRET-9876" not in html and SECRET not in html
    bad = post(client, "/settings/integrations/bigcommerce/secret",
               {"secret": SECRET + "2", "store_hash": "abc123", "api_base_url": "http://169.254.169.254"})
    assert bad.status_code == 400 and "https://" in bad.get_data(as_text=True)
    assert secret_for(store.id, "bigcommerce") == SECRET  # unchanged


def test_new_api_key_is_shown_once_and_never_again(client, login_as, store):
    login_as("owner")
    response = post(client, "/settings/integrations/api-keys", {"name": "ERP sync"})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    plaintext = re.search(r'id="new-key-value"[^>]*value="(nh_[^"]+)"', html).group(1)
    assert "will not be shown again" in html
    assert response.headers["Cache-Control"] == "no-store"
    key = db.session.scalar(select(ApiKey).where(ApiKey.store_id == store.id))
    assert key.name == "ERP sync" and plaintext.startswith(key.prefix)
    for path in PAGES:
        page = client.get(path).get_data(as_text=True)
        assert plaintext not in page, path
    assert f"{key.prefix}…" in client.get("/settings/integrations").get_data(as_text=True)
    empty = post(client, "/settings/integrations/api-keys", {"name": "  "}, headers={"HX-Request": "true"})
    assert empty.status_code == 400 and "Give the key a name" in empty.get_data(as_text=True)


def test_revoking_marks_the_key_revoked_in_place_but_another_stores_key_is_404(client, login_as, store):
    foreign = create_api_key(make_store("rival").id, "Rival key").row
    owner = login_as("owner")
    key = create_api_key(store.id, "Old ERP", owner.id).row
    htmx = post(client, f"/settings/integrations/api-keys/{key.id}/revoke", headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert htmx.get_data(as_text=True).lstrip().startswith(f'<tr id="api-key-{key.id}"')
    assert "Revoked" in htmx.get_data(as_text=True)
    db.session.refresh(key)
    assert key.revoked_at is not None
    other = create_api_key(store.id, "Other", owner.id).row
    plain = post(client, f"/settings/integrations/api-keys/{other.id}/revoke")
    assert plain.status_code == 303
    assert "Rival key" not in client.get(plain.headers["Location"]).get_data(as_text=True)
    assert post(client, f"/settings/integrations/api-keys/{foreign.id}/revoke").status_code == 404
    db.session.refresh(foreign)
    assert foreign.revoked_at is None


def test_support_cannot_open_integrations(client, login_as, store):
    login_as("support")
    assert client.get("/settings/integrations").status_code == 403
    assert post(client, "/settings/integrations/shopify/secret", {"secret": SECRET}).status_code == 403
    assert "/settings/integrations" not in client.get("/").get_data(as_text=True)
