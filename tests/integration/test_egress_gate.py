"""The egress gate: in production no merchant setting can make the server connect to an internal
address, whatever field holds it and however the address is spelled; development reaches loopback.

Every provider and integration destination is exercised the same way: point it at a local TCP
listener that counts connections, in each spelling of loopback, and send. In development (loopback
allowed) the listener must be reached, which proves the setting really is where the server
connects; in production it must not be reached at all.
"""
from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field

import pytest

from tests.fakes import apns as apns_fake
from tests.fakes import fcm as fcm_fake
from tests.fakes import team
from tests.runtime import reconfigure
from webapp.channels import egress
from webapp.channels.accounts import ProviderSettingsError, configure_provider
from webapp.channels.egress import EgressRefused, PrivateDestination, check_destination
from webapp.channels.models import ProviderConfig
from webapp.channels.providers.base import OutboundMessage, ProviderConfigError, ProviderError
from webapp.channels.providers.registry import providers
from webapp.events.integrations import DESTINATION_SETTINGS, set_secret
from webapp.extensions import db
from webapp.pipeline import bigcommerce_fetch

# Ways to write "this machine" that a URL parser or resolver turns into 127.0.0.1 (or ::1 / mapped).
LOOPBACK_SPELLINGS = ["127.0.0.1", "localhost", "2130706433", "0x7f000001", "0x7f.0.0.1", "127.1", "0177.1",
                      "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"]
# Internal addresses in every family the gate refuses, in several spellings.
INTERNAL = ["10.0.0.5", "012.0.0.5", "172.16.3.4", "192.168.1.10", "169.254.169.254", "2852039166",
            "0xa9fea9fe", "100.64.0.1", "100.100.100.200", "0.0.0.0", "0",  # noqa: S104 "224.0.0.1", "[::]",
            "[fd00:ec2::254]", "[fe80::1]", "[ff02::1]", "[::ffff:10.0.0.5]", "[::ffff:a9fe:a9fe]",
            "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]", "[::169.254.169.254]"]


class ConnectionCounter:
    """A TCP listener on 127.0.0.1 that accepts, counts and hangs up."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._closing = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self):
        self._closing = True
        self.sock.close()


@pytest.fixture
def listener():
    counter = ConnectionCounter()
    yield counter
    counter.close()


@dataclass
class Sample:
    """Settings that make a provider reach the network, with its destinations left to `aim`."""
    settings: dict
    recipient: str = ""
    uses_base_url: bool = True
    aim_fields: dict = field(default_factory=dict)  # field -> function(url, host, port) giving its value


def _key_file(url, host, port):
    info, _ = fcm_fake.make_service_account(f"{url}/token")
    return json.dumps(info)


APNS_KEY, _ = apns_fake.make_auth_key()
SAMPLES = {
    "360dialog": Sample({"api_key": "d360-key-0123456789"}, "+14155550142"),
    "apns": Sample({"team_id": apns_fake.TEAM_ID, "key_id": apns_fake.KEY_ID, "private_key": APNS_KEY,
                    "bundle_id": apns_fake.BUNDLE_ID}, f"apns:{apns_fake.DEVICE_TOKEN}"),
    "discord": Sample({"webhook_url": team.DISCORD_URL}),
    "fcm": Sample({"project_id": fcm_fake.PROJECT_ID}, "fcm:fcm-token-0123",
                  aim_fields={"service_account_json": _key_file}),
    "google_chat": Sample({"webhook_url": team.GCHAT_URL}),
    "mailgun": Sample({"domain": "mg.acme.test", "api_key": "key-0123456789", "from_email": "shop@acme.test"},
                      "ann@example.com"),
    "pagerduty": Sample({"routing_key": team.PAGERDUTY_KEY}),
    "plivo": Sample({"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "plivo-token-0123",
                     "from_number": "+14155550000"}, "+14155550142"),
    "sendgrid": Sample({"api_key": "SG.key-0123456789", "from_email": "shop@acme.test"}, "ann@example.com"),
    "ses": Sample({"region": "eu-west-1", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "s" * 40,
                   "from_email": "shop@acme.test"}, "ann@example.com"),
    "slack": Sample({"bot_token": team.SLACK_TOKEN, "channel": team.SLACK_CHANNEL}),
    "slack:webhook": Sample({"webhook_url": team.SLACK_HOOK_URL}),
    "smtp": Sample({"from_email": "shop@acme.test", "security": "none"}, "ann@example.com", uses_base_url=False,
                   aim_fields={"host": lambda url, host, port: host.strip("[]"),
                               "port": lambda url, host, port: str(port)}),
    "teams": Sample({"webhook_url": team.TEAMS_URL}),
    "telegram": Sample({"bot_token": team.TELEGRAM_TOKEN, "chat_id": team.TELEGRAM_CHAT}),
    "twilio": Sample({"account_sid": "AC" + "0" * 32, "auth_token": "twilio-token-0123", "from_number": "+14155550000"},
                     "+14155550142"),
    "unifonic": Sample({"app_sid": "unifonic-app-sid-0123", "sender_id": "ACME"}, "+14155550142"),
    "vonage": Sample({"api_key": "vonage-key", "api_secret": "vonage-secret-0123", "from_number": "+14155550000"},
                     "+14155550142"),
    "webhook": Sample({"signing_secret": "s" * 20}, "ann@example.com", uses_base_url=False,
                      aim_fields={"url": lambda url, host, port: f"{url}/hook"}),
}
# Providers that make no outbound connection at all.
LOCAL_ONLY = {"sandbox", "inbox"}
# Fields holding a URL the provider calls us at; the server never connects to them.
CALLBACK_FIELDS = {"status_callback_url"}


def provider_code(sample_name: str) -> str:
    return sample_name.split(":")[0]


def build(name: str, host: str, port: int):
    sample, code = SAMPLES[name], provider_code(name)
    url = f"http://{host}:{port}"
    values = dict(sample.settings) | {name: aim(url, host, port) for name, aim in sample.aim_fields.items()}
    cls = providers()[code]
    secret = {f.name for f in cls.spec.fields if f.secret}
    return cls(settings={k: v for k, v in values.items() if k not in secret},
               secrets={k: v for k, v in values.items() if k in secret},
               base_url=url if sample.uses_base_url else None)


def send(name: str, host: str, port: int) -> ProviderError:
    code = provider_code(name)
    spec = providers()[code].spec
    message = OutboundMessage(1, 1, spec.channels[0], SAMPLES[name].recipient, "Subject", "<p>Hi</p>", f"egress-{code}")
    try:
        provider = build(name, host, port)
        provider.send(message)
    except ProviderError as error:
        return error
    raise AssertionError(f"{code} reported a send to a listener that hangs up")


def test_every_provider_and_every_destination_field_is_covered():
    """A new provider, or a new field the server connects to, cannot be added without this file
    exercising it: every provider has a sample, every declared destination is aimed at the
    listener, and a field whose name says it is an address is declared one (or is a callback URL)."""
    assert set(providers()) - LOCAL_ONLY == {provider_code(name) for name in SAMPLES}
    for code, cls in providers().items():
        for config in cls.spec.fields:
            words = set(config.name.split("_"))
            looks_like_address = bool(words & {"url", "uri", "host", "endpoint", "server", "address"})
            if config.name in CALLBACK_FIELDS:
                assert config.connects_to is None, (code, config.name)
            elif looks_like_address or config.connects_to:
                assert config.connects_to, f"{code}.{config.name} looks like an address but declares no connects_to"
                samples = [sample for name, sample in SAMPLES.items() if provider_code(name) == code]
                assert any(config.name in sample.aim_fields or (sample.uses_base_url and config.name in sample.settings)
                           for sample in samples), f"{code}.{config.name} is a destination this test does not aim at"


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_production_never_connects_to_loopback_through_any_provider(app, listener, code):
    """(For a webhook URL a relay base URL replaces, the base URL is what is aimed: the URL's host
    must be the service's own, which the adapter checks before any connection.)"""
    reconfigure(app, APP_ENV="production")
    for spelling in LOOPBACK_SPELLINGS:
        error = send(code, spelling, listener.port)
        assert isinstance(error, ProviderConfigError), (code, spelling, error)
    assert listener.count == 0, f"{code} connected to loopback in production"
    # Production first: a connection made in development could otherwise be reused from the pool.
    reconfigure(app, APP_ENV="development")
    for spelling in LOOPBACK_SPELLINGS:
        before = listener.count
        send(code, spelling, listener.port)
        assert listener.count > before, f"{code} did not reach the listener at {spelling} in development"


def test_a_refusal_says_why_and_names_no_url(app, listener):
    reconfigure(app, APP_ENV="production")
    error = send("webhook", "127.1", listener.port)
    assert isinstance(error, EgressRefused)
    assert str(error) == ("the configured destination is a private or reserved address (127.0.0.1); only public "
                          "internet addresses are allowed")


@pytest.mark.parametrize("host", INTERNAL)
def test_every_internal_address_is_refused_in_every_mode(host):
    for production in (True, False):
        egress.set_policy(production=production)
        with pytest.raises(EgressRefused):
            egress.resolve(host, 443)


@pytest.mark.parametrize("host", ["[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::127.0.0.1]", "127.255.1.2"])
def test_loopback_is_refused_in_production_only(host):
    egress.set_policy(production=True)
    with pytest.raises(EgressRefused):
        egress.resolve(host, 443)
    egress.set_policy(production=False)
    assert egress.resolve(host, 443)


def test_public_addresses_pass():
    for host in ("93.184.215.14", "8.8.8.8", "[2606:4700:4700::1111]", "[::ffff:8.8.8.8]"):
        assert egress.resolve(host, 443, allow_loopback=False)


@pytest.mark.parametrize("destination", ["http://127.0.0.1:8080/admin", "https://localhost/x", "10.0.0.5",
                                         "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                                         "https://192.168.1.10/hook", "no-such-host.invalid",
                                         "http://2130706433/", "http://0x7f.1/", "https://shop.example@127.0.0.1/",
                                         "http://[::ffff:169.254.169.254]/", "https://100.64.1.1/"])
def test_saving_refuses_internal_or_unresolvable_destinations(destination):
    with pytest.raises(PrivateDestination):
        check_destination(destination)


def test_saving_in_production_checks_every_declared_destination(app, store):
    """Each provider's declared destinations, and its API base URL, are refused at save time with
    the field named; the URLs inside a key file too."""
    reconfigure(app, APP_ENV="production")
    for code, cls in providers().items():
        for config in [f for f in cls.spec.fields if f.connects_to] + [None]:
            value = "http://10.1.2.3/x" if config is None or config.connects_to == "url" else "10.1.2.3"
            if config is not None and config.connects_to == "key_file":
                value = json.dumps(fcm_fake.make_service_account("https://169.254.169.254/token")[0])
            values = {} if config is None else {config.name: value}
            with pytest.raises(ProviderSettingsError) as refused:
                configure_provider(store.id, cls.spec.channels[0], code, values,
                                   base_url=value if config is None else None, production=True)
            assert refused.value.fields == ("base_url" if config is None else config.name,), code
            assert "only public internet addresses are allowed" in str(refused.value)
            db.session.rollback()
    assert db.session.query(ProviderConfig).count() == 0


def test_development_saves_local_test_servers(app, store):
    configure_provider(store.id, "ops", "webhook", {"signing_secret": "s" * 20}, base_url="http://127.0.0.1:9000")
    assert db.session.query(ProviderConfig).count() == 1


# --- integrations ---------------------------------------------------------------------------------

def aim_bigcommerce(store, url: str) -> None:
    set_secret(store.id, "bigcommerce", "w" * 20, settings={"store_hash": "abc123", "api_base_url": url},
               api_token="bc-token-0123456789")


def test_the_bigcommerce_api_base_url_is_gated_at_connect_time(app, store, listener):
    assert DESTINATION_SETTINGS == {"bigcommerce": {"api_base_url": "API base URL"}}
    reconfigure(app, APP_ENV="production")
    for spelling in LOOPBACK_SPELLINGS:
        aim_bigcommerce(store, f"http://{spelling}:{listener.port}")
        with pytest.raises(EgressRefused):
            bigcommerce_fetch.fetch_order(store.id, "100")
    assert listener.count == 0
    reconfigure(app, APP_ENV="development")
    aim_bigcommerce(store, f"http://127.0.0.1:{listener.port}")
    with pytest.raises(bigcommerce_fetch.BigCommerceUnavailable):
        bigcommerce_fetch.fetch_order(store.id, "100")
    assert listener.count == 1


def test_the_integrations_page_refuses_an_internal_api_base_url_in_production(app, client, login_as, store):
    reconfigure(app, APP_ENV="production")
    login_as("owner")
    response = client.post("/settings/integrations/bigcommerce/secret",
                           data={"secret": "w" * 20, "store_hash": "abc123", "api_base_url": "https://[::ffff:10.0.0.1]/",
                                 "csrf_token": client.csrf})
    assert "API base URL" in response.get_data(as_text=True)
    assert "only public internet addresses are allowed" in response.get_data(as_text=True)
