"""Vonage, Plivo, Unifonic (SMS) and 360dialog (WhatsApp) adapters against local stand-ins that
check the documented request and answer the documented success and error bodies."""
import socket

import pytest

from tests.fakes.dialog360 import D360_KEY, FakeDialog360, graph_error
from tests.fakes.http import Reply
from tests.fakes.plivo import PLIVO_AUTH_ID, PLIVO_TOKEN, FakePlivo, plivo_error
from tests.fakes.unifonic import UNIFONIC_APP_SID, UNIFONIC_SENDER, FakeUnifonic, unifonic_error
from tests.fakes.vonage import VONAGE_KEY, VONAGE_SECRET, FakeVonage, vonage_answer
from webapp.channels.providers import http_pool as http_common
from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    RateLimitedError,
    TransientProviderError,
)
from webapp.channels.providers.dialog360_whatsapp import Dialog360Provider
from webapp.channels.providers.plivo_sms import PlivoProvider
from webapp.channels.providers.unifonic_sms import UnifonicProvider
from webapp.channels.providers.vonage_sms import VonageProvider

BODY = "Acme Goods: Your order #1001 was cancelled."
CALLBACK = "https://hub.example/callbacks/sms/status"


def message(recipient="+16135550142", body=BODY, channel="sms") -> OutboundMessage:
    return OutboundMessage(notification_id=42, store_id=1, channel=channel, recipient=recipient, subject=None,
                           body=body, idempotency_key="notification-42")


def build(cls, values: dict, base_url: str | None):
    """Split the values into settings and secrets by the spec's secret flags, as configure_provider does."""
    secret = {f.name for f in cls.spec.fields if f.secret}
    assert set(values) <= {f.name for f in cls.spec.fields}
    return cls(settings={k: v for k, v in values.items() if k not in secret},
               secrets={k: v for k, v in values.items() if k in secret}, base_url=base_url)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# One server per module (closing one waits out serve_forever's half-second poll), reset for each test.
@pytest.fixture(scope="module")
def servers():
    fakes = {"vonage": FakeVonage(), "plivo": FakePlivo(), "unifonic": FakeUnifonic(), "dialog360": FakeDialog360()}
    yield fakes
    for fake in fakes.values():
        fake.close()


@pytest.fixture
def vonage(servers):
    servers["vonage"].reset()
    return servers["vonage"]


@pytest.fixture
def plivo(servers):
    servers["plivo"].reset()
    return servers["plivo"]


@pytest.fixture
def unifonic(servers):
    servers["unifonic"].reset()
    return servers["unifonic"]


@pytest.fixture
def dialog360(servers):
    servers["dialog360"].reset()
    return servers["dialog360"]


VONAGE_OK = {"api_key": VONAGE_KEY, "api_secret": VONAGE_SECRET, "from_number": "+14155550000"}
PLIVO_OK = {"auth_id": PLIVO_AUTH_ID, "auth_token": PLIVO_TOKEN, "from_number": "+14155550000"}
UNIFONIC_OK = {"app_sid": UNIFONIC_APP_SID, "sender_id": UNIFONIC_SENDER}
D360_OK = {"api_key": D360_KEY}


# --- the shared helper ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, digits", [("+16135550142", "16135550142"), ("whatsapp:+16135550142", "16135550142"),
                                         ("+1 (613) 555-0142", "16135550142"), ("0016135550142", "16135550142")])
def test_recipients_are_normalised_to_digits(raw, digits):
    assert http_common.phone_digits(raw, "X") == digits


@pytest.mark.parametrize("raw", ["", "+1613", "bob@example.com", "+1613555014<+1999", "+1234567890123456"])
def test_malformed_recipients_are_permanent_errors(raw):
    with pytest.raises(PermanentProviderError):
        http_common.phone_digits(raw, "X")


def test_retry_after_reads_seconds_and_http_dates():
    import httpx

    assert http_common.retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert http_common.retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert http_common.retry_after(httpx.Response(429)) is None
    past = http_common.retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert past == 0.0


def test_the_four_providers_register_through_their_entry_points():
    from importlib.metadata import entry_points

    loaded = {e.name: e.load() for e in entry_points(group="notifyhub.providers")
              if e.name in {"vonage", "plivo", "unifonic", "360dialog"}}
    assert loaded == {"vonage": VonageProvider, "plivo": PlivoProvider, "unifonic": UnifonicProvider,
                      "360dialog": Dialog360Provider}
    assert {cls.spec.code for cls in loaded.values()} == set(loaded)
    assert Dialog360Provider.spec.channels == ("whatsapp",)
    assert all(cls.spec.channels == ("sms",) for cls in (VonageProvider, PlivoProvider, UnifonicProvider))


@pytest.mark.parametrize("cls, values", [
    (VonageProvider, {"api_key": VONAGE_KEY, "from_number": "+14155550000"}),
    (VonageProvider, {"api_key": VONAGE_KEY, "api_secret": VONAGE_SECRET}),
    (PlivoProvider, {"auth_id": PLIVO_AUTH_ID, "from_number": "+14155550000"}),
    (PlivoProvider, {"auth_id": PLIVO_AUTH_ID, "auth_token": PLIVO_TOKEN}),
    (UnifonicProvider, {"sender_id": UNIFONIC_SENDER}),
    (Dialog360Provider, {"template_name": "order_update"}),
])
def test_missing_required_configuration_is_a_config_error(cls, values):
    with pytest.raises(ProviderConfigError) as caught:
        build(cls, values, None)
    for secret in (VONAGE_SECRET, PLIVO_TOKEN):
        assert secret not in str(caught.value)


@pytest.mark.parametrize("cls, values", [(VonageProvider, VONAGE_OK), (PlivoProvider, PLIVO_OK),
                                         (UnifonicProvider, UNIFONIC_OK), (Dialog360Provider, D360_OK)])
def test_connection_refused_is_transient(cls, values):
    provider = build(cls, values, closed_port_url())
    with pytest.raises(TransientProviderError) as caught:
        provider.send(message(channel="whatsapp" if cls is Dialog360Provider else "sms"))
    assert not isinstance(caught.value, RateLimitedError)


def test_an_unusable_base_url_is_a_config_error():
    with pytest.raises(ProviderConfigError, match="base URL"):
        build(PlivoProvider, PLIVO_OK, "ftp://127.0.0.1:1").send(message())


@pytest.mark.parametrize("cls, values, secret, fake_name", [
    (VonageProvider, VONAGE_OK, VONAGE_SECRET, "vonage"), (PlivoProvider, PLIVO_OK, PLIVO_TOKEN, "plivo"),
    (UnifonicProvider, UNIFONIC_OK, UNIFONIC_APP_SID, "unifonic"), (Dialog360Provider, D360_OK, D360_KEY, "dialog360")])
def test_a_secret_echoed_by_the_provider_never_reaches_the_error(request, cls, values, secret, fake_name):
    fake = request.getfixturevalue(fake_name)
    fake.fail_with = Reply(400, {"error": f"bad request from key {secret}", "message": f"key {secret}",
                                 "messages": [{"status": "3", "error-text": f"key {secret}"}]})
    with pytest.raises(PermanentProviderError) as caught:
        build(cls, values, fake.url).send(message())
    assert secret not in str(caught.value) and "****" in str(caught.value)


# --- Vonage --------------------------------------------------------------------------------------------

def test_vonage_sends_the_documented_form_and_returns_the_message_id(vonage):
    provider = build(VonageProvider, {**VONAGE_OK, "status_callback_url": CALLBACK}, vonage.url)
    result = provider.send(message())
    [request] = vonage.requests
    assert request.method == "POST" and request.path == "/sms/json"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    [sent] = vonage.messages
    assert (sent["api_key"], sent["api_secret"]) == (VONAGE_KEY, VONAGE_SECRET)
    assert (sent["from"], sent["to"], sent["text"]) == ("14155550000", "16135550142", BODY)
    assert sent["client-ref"] == "42" and sent["callback"] == CALLBACK and "type" not in sent
    assert result.provider_message_id == sent["message-id"]


def test_vonage_sends_non_gsm_text_as_unicode_and_keeps_an_alphanumeric_sender(vonage):
    provider = build(VonageProvider, {**VONAGE_OK, "from_number": "AcmeGoods"}, vonage.url)
    provider.send(message(body="طلبك #1001 أُلغي ✅"))
    [sent] = vonage.messages
    assert sent["type"] == "unicode" and sent["from"] == "AcmeGoods" and sent["text"] == "طلبك #1001 أُلغي ✅"


def test_vonage_bad_credentials_status_4_is_a_config_error(vonage):
    provider = build(VonageProvider, {**VONAGE_OK, "api_secret": "wrong-secret"}, vonage.url)
    with pytest.raises(ProviderConfigError, match="status 4: Bad Credentials") as caught:
        provider.send(message())
    assert "wrong-secret" not in str(caught.value)


def test_vonage_http_401_is_a_config_error(vonage):
    vonage.fail_with = Reply(401, {"type": "https://developer.vonage.com/api-errors#unauthorized",
                                   "title": "Unauthorized"})
    with pytest.raises(ProviderConfigError, match="401"):
        build(VonageProvider, VONAGE_OK, vonage.url).send(message())


@pytest.mark.parametrize("status, error", [("1", RateLimitedError), ("2", PermanentProviderError),
                                           ("3", PermanentProviderError), ("5", TransientProviderError),
                                           ("6", PermanentProviderError), ("7", PermanentProviderError),
                                           ("8", ProviderConfigError), ("9", ProviderConfigError),
                                           ("15", ProviderConfigError), ("29", PermanentProviderError),
                                           ("99", PermanentProviderError)])
def test_vonage_documented_statuses_map_to_error_types(vonage, status, error):
    vonage.fail_with = Reply(200, vonage_answer(status, "documented error"))
    with pytest.raises(error) as caught:
        build(VonageProvider, VONAGE_OK, vonage.url).send(message())
    assert type(caught.value) is error and f"status {status}" in str(caught.value)


def test_vonage_http_429_is_rate_limited_with_retry_after(vonage):
    vonage.fail_with = Reply(429, {"title": "Too Many Requests"}, {"Retry-After": "30"})
    with pytest.raises(RateLimitedError) as caught:
        build(VonageProvider, VONAGE_OK, vonage.url).send(message())
    assert caught.value.retry_after == 30.0


def test_vonage_5xx_is_transient(vonage):
    vonage.fail_with = Reply(503, b"<html>Service Unavailable</html>")
    with pytest.raises(TransientProviderError) as caught:
        build(VonageProvider, VONAGE_OK, vonage.url).send(message())
    assert not isinstance(caught.value, RateLimitedError) and "503" in str(caught.value)


def test_vonage_invalid_recipient_is_permanent(vonage):
    with pytest.raises(PermanentProviderError, match="status 6"):
        build(VonageProvider, VONAGE_OK, vonage.url).send(message("+9995550142"))
    with pytest.raises(PermanentProviderError, match="not an international phone number"):
        build(VonageProvider, VONAGE_OK, vonage.url).send(message("+1 613"))
    assert len(vonage.requests) == 1  # the malformed one never left


def test_vonage_a_failed_part_of_a_long_message_fails_the_send(vonage):
    vonage.fail_with = Reply(200, {"message-count": "2", "messages": [
        {"status": "0", "message-id": "0C01"}, {"status": "7", "error-text": "Number barred."}]})
    with pytest.raises(PermanentProviderError, match="status 7"):
        build(VonageProvider, VONAGE_OK, vonage.url).send(message())


# --- Plivo ---------------------------------------------------------------------------------------------

def test_plivo_sends_the_documented_json_with_basic_auth_and_returns_the_uuid(plivo):
    provider = build(PlivoProvider, {**PLIVO_OK, "status_callback_url": CALLBACK}, plivo.url)
    result = provider.send(message())
    [request] = plivo.requests
    assert request.method == "POST" and request.path == f"/v1/Account/{PLIVO_AUTH_ID}/Message/"
    assert request.headers["Content-Type"] == "application/json"
    [sent] = plivo.messages
    assert request.json() == {"src": "14155550000", "dst": "16135550142", "text": BODY, "url": CALLBACK,
                              "method": "POST"}
    assert result.provider_message_id == sent["message_uuid"]


def test_plivo_can_send_through_a_powerpack(plivo):
    provider = build(PlivoProvider, {"auth_id": PLIVO_AUTH_ID, "auth_token": PLIVO_TOKEN,
                                     "powerpack_uuid": "d35f2e82-d387-427f-8594-6fa07703b2e3"}, plivo.url)
    provider.send(message())
    assert plivo.requests[0].json() == {"powerpack_uuid": "d35f2e82-d387-427f-8594-6fa07703b2e3",
                                        "dst": "16135550142", "text": BODY}


def test_plivo_401_is_a_config_error(plivo):
    provider = build(PlivoProvider, {**PLIVO_OK, "auth_token": "wrong-token"}, plivo.url)
    with pytest.raises(ProviderConfigError, match="401: authentication failed") as caught:
        provider.send(message())
    assert "wrong-token" not in str(caught.value)


def test_plivo_429_is_rate_limited_with_retry_after(plivo):
    plivo.fail_with = Reply(429, {"api_id": "x", "error": "too many requests"}, {"Retry-After": "2.5"})
    with pytest.raises(RateLimitedError) as caught:
        build(PlivoProvider, PLIVO_OK, plivo.url).send(message())
    assert caught.value.retry_after == 2.5


def test_plivo_5xx_is_transient(plivo):
    plivo.fail_with = plivo_error(500, "server error")
    with pytest.raises(TransientProviderError) as caught:
        build(PlivoProvider, PLIVO_OK, plivo.url).send(message())
    assert not isinstance(caught.value, RateLimitedError)


def test_plivo_invalid_destination_is_permanent(plivo):
    with pytest.raises(PermanentProviderError, match="invalid dst"):
        build(PlivoProvider, PLIVO_OK, plivo.url).send(message("+9995550142"))


# --- Unifonic ------------------------------------------------------------------------------------------

def test_unifonic_sends_the_documented_form_and_returns_the_message_id(unifonic):
    result = build(UnifonicProvider, UNIFONIC_OK, unifonic.url).send(message("+966507679351"))
    [request] = unifonic.requests
    assert request.method == "POST" and request.path == "/rest/SMS/messages"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    [sent] = unifonic.messages
    assert (sent["AppSid"], sent["SenderID"], sent["Recipient"], sent["Body"]) == (
        UNIFONIC_APP_SID, UNIFONIC_SENDER, "966507679351", BODY)
    assert sent["CorrelationID"] == "42"
    assert result.provider_message_id == str(sent["MessageID"])


def test_unifonic_without_a_sender_id_leaves_the_account_default(unifonic):
    build(UnifonicProvider, {"app_sid": UNIFONIC_APP_SID}, unifonic.url).send(message())
    assert "SenderID" not in unifonic.messages[0]


def test_unifonic_accepts_success_as_the_string_true(unifonic):
    unifonic.fail_with = Reply(200, {"success": "true", "message": "", "errorCode": "ER-00",
                                     "data": {"MessageID": "7001"}})
    assert build(UnifonicProvider, UNIFONIC_OK, unifonic.url).send(message()).provider_message_id == "7001"


def test_unifonic_authentication_failure_is_a_config_error(unifonic):
    with pytest.raises(ProviderConfigError, match="401"):
        build(UnifonicProvider, {**UNIFONIC_OK, "app_sid": "wrong-appsid"}, unifonic.url).send(message())


@pytest.mark.parametrize("code, error", [("ER-01", ProviderConfigError), ("ER-08", ProviderConfigError),
                                         ("ER-02", PermanentProviderError), ("ER-05", PermanentProviderError),
                                         ("ER-77", PermanentProviderError)])
def test_unifonic_error_codes_map_to_error_types(unifonic, code, error):
    unifonic.fail_with = unifonic_error(code, "documented error")
    with pytest.raises(error, match=code) as caught:
        build(UnifonicProvider, UNIFONIC_OK, unifonic.url).send(message())
    assert type(caught.value) is error


def test_unifonic_invalid_recipient_is_permanent(unifonic):
    with pytest.raises(PermanentProviderError, match="ER-04 Dest num is too short"):
        build(UnifonicProvider, UNIFONIC_OK, unifonic.url).send(message("+96650767"))
    unifonic.fail_with = unifonic_error("ER-02", "Invalid destination number", status=400)
    with pytest.raises(PermanentProviderError, match="ER-02"):
        build(UnifonicProvider, UNIFONIC_OK, unifonic.url).send(message())


def test_unifonic_429_is_rate_limited_with_retry_after(unifonic):
    unifonic.fail_with = Reply(429, {"success": False, "message": "Too many requests generated by this user"},
                               {"Retry-After": "12"})
    with pytest.raises(RateLimitedError) as caught:
        build(UnifonicProvider, UNIFONIC_OK, unifonic.url).send(message())
    assert caught.value.retry_after == 12.0


def test_unifonic_5xx_is_transient(unifonic):
    unifonic.fail_with = Reply(599, {"success": False, "message": "Request failed", "errorCode": "ER-05"})
    with pytest.raises(TransientProviderError) as caught:
        build(UnifonicProvider, UNIFONIC_OK, unifonic.url).send(message())
    assert not isinstance(caught.value, RateLimitedError)


# --- 360dialog -----------------------------------------------------------------------------------------

def test_360dialog_sends_a_text_message_with_the_api_key_header(dialog360):
    result = build(Dialog360Provider, D360_OK, dialog360.url).send(message("whatsapp:+16135550142",
                                                                           channel="whatsapp"))
    [request] = dialog360.requests
    assert request.method == "POST" and request.path == "/messages"
    assert request.headers["D360-API-KEY"] == D360_KEY and request.headers["Content-Type"] == "application/json"
    assert request.json() == {"messaging_product": "whatsapp", "recipient_type": "individual",
                              "to": "16135550142", "type": "text", "text": {"body": BODY}}
    assert result.provider_message_id == dialog360.messages[0]["id"]


def test_360dialog_sends_a_template_with_the_text_as_its_body_parameter(dialog360):
    provider = build(Dialog360Provider, {**D360_OK, "template_name": "order_update", "template_language": "en_US"},
                     dialog360.url)
    provider.send(message("+16135550142", body="Acme Goods:\nYour order\t#1001      was cancelled.",
                          channel="whatsapp"))
    payload = dialog360.requests[0].json()
    assert payload["type"] == "template" and payload["to"] == "16135550142" and "text" not in payload
    assert payload["template"] == {"name": "order_update", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Acme Goods: Your order #1001   was cancelled."}]}]}


def test_360dialog_template_language_defaults_to_en(dialog360):
    build(Dialog360Provider, {**D360_OK, "template_name": "order_update"}, dialog360.url).send(message())
    assert dialog360.requests[0].json()["template"]["language"] == {"code": "en"}


def test_360dialog_unknown_template_is_a_config_error(dialog360):
    provider = build(Dialog360Provider, {**D360_OK, "template_name": "no_such_template"}, dialog360.url)
    with pytest.raises(ProviderConfigError, match="132001"):
        provider.send(message())


def test_360dialog_invalid_api_key_is_a_config_error(dialog360):
    with pytest.raises(ProviderConfigError, match="401: Invalid api_key") as caught:
        build(Dialog360Provider, {"api_key": "wrong-api-key"}, dialog360.url).send(message())
    assert "wrong-api-key" not in str(caught.value)


def test_360dialog_graph_code_190_is_a_config_error(dialog360):
    dialog360.fail_with = graph_error(190, "Access token has expired", "token expired", status=401)
    with pytest.raises(ProviderConfigError, match="code 190"):
        build(Dialog360Provider, D360_OK, dialog360.url).send(message())


def test_360dialog_recipient_not_in_allowed_list_is_permanent(dialog360):
    dialog360.allowed = {"15550001111"}
    with pytest.raises(PermanentProviderError, match="131030") as caught:
        build(Dialog360Provider, D360_OK, dialog360.url).send(message())
    assert "not in allowed list" in str(caught.value) and dialog360.messages == []


@pytest.mark.parametrize("code, status, error", [
    (131026, 400, PermanentProviderError), (100, 400, PermanentProviderError), (131047, 400, PermanentProviderError),
    (130429, 400, RateLimitedError), (131048, 400, RateLimitedError), (131056, 400, RateLimitedError),
    (131000, 500, TransientProviderError), (131000, 400, TransientProviderError),
    (131031, 400, ProviderConfigError), (999999, 400, PermanentProviderError), (999999, 502, TransientProviderError),
])
def test_360dialog_graph_error_codes_map_to_error_types(dialog360, code, status, error):
    dialog360.fail_with = graph_error(code, "documented error", "details", status=status)
    with pytest.raises(error) as caught:
        build(Dialog360Provider, D360_OK, dialog360.url).send(message())
    assert type(caught.value) is error and f"code {code}" in str(caught.value)


def test_360dialog_http_429_is_rate_limited_with_retry_after(dialog360):
    dialog360.fail_with = graph_error(130429, "Rate limit hit", "Cloud API message throughput has been reached.",
                                      status=429, headers={"Retry-After": "60"})
    with pytest.raises(RateLimitedError) as caught:
        build(Dialog360Provider, D360_OK, dialog360.url).send(message())
    assert caught.value.retry_after == 60.0
    dialog360.fail_with = Reply(429, b"Too Many Requests", {"Retry-After": "5"})
    with pytest.raises(RateLimitedError) as caught:
        build(Dialog360Provider, D360_OK, dialog360.url).send(message())
    assert caught.value.retry_after == 5.0


def test_360dialog_5xx_is_transient(dialog360):
    dialog360.fail_with = Reply(502, {"meta": {"success": False, "http_code": 502,
                                               "developer_message": "WhatsApp for Business API not available"}})
    with pytest.raises(TransientProviderError, match="502") as caught:
        build(Dialog360Provider, D360_OK, dialog360.url).send(message())
    assert not isinstance(caught.value, RateLimitedError)


def test_360dialog_malformed_recipient_never_leaves(dialog360):
    with pytest.raises(PermanentProviderError):
        build(Dialog360Provider, D360_OK, dialog360.url).send(message("whatsapp:bob"))
    assert dialog360.requests == []
