"""In production a store's provider settings cannot point the server at internal addresses."""
import pytest

from tests.runtime import reconfigure
from webapp.channels.accounts import ProviderSettingsError, configure_provider
from webapp.channels.egress import PrivateDestination, check_public
from webapp.channels.models import ProviderConfig
from webapp.extensions import db


@pytest.mark.parametrize("destination", ["http://127.0.0.1:8080/admin", "https://localhost/x", "10.0.0.5",
                                         "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                                         "https://192.168.1.10/hook", "no-such-host.invalid"])
def test_internal_or_unresolvable_destinations_are_refused(destination):
    with pytest.raises(PrivateDestination):
        check_public(destination)


def test_a_public_address_passes():
    check_public("https://93.184.215.14/hook")  # a literal public address: no DNS needed


@pytest.mark.parametrize("values,base_url,field", [
    ({"url": "http://127.0.0.1:9000/hook", "signing_secret": "s" * 20}, None, "url"),
    ({"signing_secret": "s" * 20}, "http://10.1.2.3", "base_url"),
])
def test_production_refuses_internal_webhook_destinations(app, store, values, base_url, field):
    settings = reconfigure(app, APP_ENV="production")
    with pytest.raises(ProviderSettingsError) as refused:
        configure_provider(store.id, "ops", "webhook", values, base_url=base_url, production=settings.production)
    assert refused.value.fields == (field,) and "public internet addresses" in str(refused.value)
    db.session.rollback()
    assert db.session.query(ProviderConfig).count() == 0


def test_production_refuses_an_internal_smtp_host(app, store):
    settings = reconfigure(app, APP_ENV="production")
    with pytest.raises(ProviderSettingsError, match="SMTP host"):
        configure_provider(store.id, "email", "smtp", {"host": "127.0.0.1", "from_email": "o@acme.test"},
                           production=settings.production)


def test_development_allows_local_test_servers(app, store):
    configure_provider(store.id, "ops", "webhook", {"signing_secret": "s" * 20}, base_url="http://127.0.0.1:9000")
    assert db.session.query(ProviderConfig).count() == 1
