"""The push adapters against local stand-ins: FCM HTTP v1 (with its OAuth2 token endpoint) and
APNs (a real HTTP/2 server), checking the exact requests, the answers' classification, token
caching and FCM's concurrent batches."""
import datetime
import json
from dataclasses import replace

import jwt
import pytest

from tests.fakes import apns as fake_apns
from tests.fakes.apns import FakeApns
from tests.fakes.fcm import INVALID_TOKEN, PROJECT_ID, SCOPE, UNREGISTERED_TOKEN, FakeFcm, fcm_error
from tests.fakes.http import Reply
from webapp.channels.providers import apns_push, fcm_push
from webapp.channels.providers.apns_push import ApnsProvider
from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    RateLimitedError,
    RecipientGone,
    RecipientNotServed,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.fcm_push import FcmProvider

FCM_TOKEN = "eW3kQ0c1Rz2:APA91bH7xLq0VY-example_registration_token"


@pytest.fixture(autouse=True)
def fresh_token_caches():
    fcm_push.forget_credentials()
    apns_push.forget_tokens()
    yield
    fcm_push.forget_credentials()
    apns_push.forget_tokens()


@pytest.fixture(scope="module")
def fcm_server():
    fake = FakeFcm()
    yield fake
    fake.close()


@pytest.fixture
def fcm(fcm_server):
    fcm_server.reset()  # with the credential cache emptied too, each test starts without a token
    return fcm_server


@pytest.fixture
def apns():
    fake = FakeApns()
    yield fake
    fake.close()


def push(recipient: str, notification_id: int = 41, subject: str | None = "Order #1001 shipped",
         body: str = "Your parcel is on its way.") -> OutboundMessage:
    return OutboundMessage(notification_id=notification_id, store_id=7, channel="push", recipient=recipient,
                           subject=subject, body=body, idempotency_key=f"key-{notification_id}-{recipient[-6:]}")


def fcm_provider(fcm: FakeFcm, **settings) -> FcmProvider:
    return FcmProvider(settings=settings, secrets={"service_account_json": fcm.key_json}, base_url=fcm.url)


def apns_provider(apns: FakeApns, **settings) -> ApnsProvider:
    settings = {"team_id": fake_apns.TEAM_ID, "key_id": fake_apns.KEY_ID, "bundle_id": fake_apns.BUNDLE_ID,
                **settings}
    return ApnsProvider(settings=settings, secrets={"private_key": apns.private_key}, base_url=apns.url)


# --- FCM ---------------------------------------------------------------------------------------------

def test_fcm_registers_as_a_push_provider_with_a_secret_key_field():
    from webapp.channels.providers.registry import providers

    assert providers()["fcm"] is FcmProvider and providers()["apns"] is ApnsProvider
    assert FcmProvider.spec.channels == ("push",) and FcmProvider.spec.max_batch == 500
    fields = {f.name: f for f in FcmProvider.spec.fields}
    assert fields["service_account_json"].secret and not fields["project_id"].required


def test_fcm_sends_the_documented_request_with_an_oauth_token(fcm):
    result = fcm_provider(fcm).send(push(f"fcm:{FCM_TOKEN}"))

    assert result == SendResult(f"projects/{PROJECT_ID}/messages/0:1700000000000001%fake")
    token_request, send = fcm.requests
    assert token_request.method == "POST" and token_request.path == "/token"
    [grant] = fcm.grants  # the assertion verified with the service account's public key
    assert grant["iss"] == fcm.service_account["client_email"] and grant["scope"] == SCOPE
    assert send.method == "POST" and send.path == f"/v1/projects/{PROJECT_ID}/messages:send"
    assert send.headers["Authorization"] == "Bearer ya29.fake-access-token-1"
    assert send.headers["Content-Type"].startswith("application/json")
    assert send.json() == {"message": {"token": FCM_TOKEN,
                                       "notification": {"title": "Order #1001 shipped",
                                                        "body": "Your parcel is on its way."},
                                       "data": {"notification_id": "41"}}}


def test_fcm_leaves_the_title_out_when_there_is_no_subject(fcm):
    fcm_provider(fcm).send(push(f"fcm:{FCM_TOKEN}", subject=None, body="Back in stock"))
    assert fcm.messages[0]["notification"] == {"body": "Back in stock"}


def test_fcm_project_id_setting_overrides_the_key_files(fcm):
    with pytest.raises(ProviderConfigError, match="404"):  # the fake only knows the key file's project
        fcm_provider(fcm, project_id="some-other-project").send(push(f"fcm:{FCM_TOKEN}"))
    assert fcm.sends[0].path == "/v1/projects/some-other-project/messages:send"


def test_fcm_fetches_one_access_token_for_many_sends(fcm):
    first, second = fcm_provider(fcm), fcm_provider(fcm)  # a provider is built per job; the token outlives it
    for provider in (first, second, first):
        provider.send(push(f"fcm:{FCM_TOKEN}"))
    assert len(fcm.token_requests) == 1 and len(fcm.messages) == 3
    assert {r.headers["Authorization"] for r in fcm.sends} == {"Bearer ya29.fake-access-token-1"}


def test_fcm_fetches_a_new_token_when_the_cached_one_nears_expiry(fcm):
    provider = fcm_provider(fcm)
    provider.send(push(f"fcm:{FCM_TOKEN}"))
    [account] = fcm_push._accounts.values()
    account.credentials.expiry = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + \
        datetime.timedelta(seconds=60)  # google-auth refreshes a few minutes before expiry
    provider.send(push(f"fcm:{FCM_TOKEN}"))
    assert len(fcm.token_requests) == 2
    assert fcm.sends[-1].headers["Authorization"] == "Bearer ya29.fake-access-token-2"


def test_fcm_401_is_a_config_error_and_drops_the_token_for_the_next_send(fcm):
    provider = fcm_provider(fcm)
    provider.send(push(f"fcm:{FCM_TOKEN}"))
    fcm.revoke_tokens()
    with pytest.raises(ProviderConfigError, match="401") as refused:
        provider.send(push(f"fcm:{FCM_TOKEN}"))
    assert "ya29" not in str(refused.value)
    assert provider.send(push(f"fcm:{FCM_TOKEN}")).provider_message_id.endswith("2%fake")
    assert len(fcm.token_requests) == 2
    assert fcm.sends[-1].headers["Authorization"] == "Bearer ya29.fake-access-token-2"


@pytest.mark.parametrize("reply, error", [
    (fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"), ProviderConfigError),
    (fcm_error(401, "UNAUTHENTICATED", "Auth error from APNS or Web Push Service", "THIRD_PARTY_AUTH_ERROR"),
     ProviderConfigError),
    (fcm_error(403, "PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied"),
     ProviderConfigError),
    (fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"), TransientProviderError),
    (fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"), TransientProviderError),
    (Reply(502, b"<html>Bad Gateway</html>"), TransientProviderError),
])
def test_fcm_error_answers_are_classified(fcm, reply, error):
    fcm.fail_with = reply
    with pytest.raises(error) as raised:
        fcm_provider(fcm).send(push(f"fcm:{FCM_TOKEN}"))
    assert type(raised.value) is error and str(reply.status) in str(raised.value)


def test_fcm_third_party_auth_error_keeps_the_access_token(fcm):
    provider = fcm_provider(fcm)
    fcm.fail_with = fcm_error(401, "UNAUTHENTICATED", "Auth error from APNS", "THIRD_PARTY_AUTH_ERROR")
    with pytest.raises(ProviderConfigError, match="THIRD_PARTY_AUTH_ERROR"):
        provider.send(push(f"fcm:{FCM_TOKEN}"))
    fcm.fail_with = None
    provider.send(push(f"fcm:{FCM_TOKEN}"))
    assert len(fcm.token_requests) == 1  # the APNs credentials in Firebase were refused, not our token


def test_fcm_quota_exceeded_is_rate_limited_with_retry_after(fcm):
    fcm.fail_with = Reply(429, fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", "QUOTA_EXCEEDED").body,
                          {"Retry-After": "30"})
    with pytest.raises(RateLimitedError, match="QUOTA_EXCEEDED") as limited:
        fcm_provider(fcm).send(push(f"fcm:{FCM_TOKEN}"))
    assert limited.value.retry_after == 30


@pytest.mark.parametrize("token, code", [(UNREGISTERED_TOKEN, "UNREGISTERED"), (INVALID_TOKEN, "INVALID_ARGUMENT")])
def test_fcm_unregistered_or_invalid_tokens_are_permanent(fcm, token, code):
    with pytest.raises(PermanentProviderError, match=code) as raised:
        fcm_provider(fcm).send(push(f"fcm:{token}"))
    # An unregistered token is gone for good (delivery then forgets the device); an invalid argument is not.
    assert isinstance(raised.value, RecipientGone) == (code == "UNREGISTERED")


def test_fcm_does_not_serve_apns_devices(fcm):
    provider = fcm_provider(fcm)
    with pytest.raises(RecipientNotServed):
        provider.send(push("apns:" + "ab" * 32))
    with pytest.raises(PermanentProviderError):
        provider.send(push(FCM_TOKEN.split(":")[1]))  # no "<platform>:" prefix at all
    assert fcm.requests == []


def test_fcm_batch_sends_each_message_and_reports_each_outcome_in_order(fcm):
    messages = [push(f"fcm:{FCM_TOKEN}-{n}", notification_id=n) for n in range(1, 5)]
    messages.insert(2, push(f"fcm:{UNREGISTERED_TOKEN}", notification_id=90))
    messages.append(push("apns:" + "ab" * 32, notification_id=91))

    outcomes = fcm_provider(fcm).send_batch(messages)

    assert len(outcomes) == 6
    assert [type(o) for o in outcomes] == [SendResult, SendResult, RecipientGone, SendResult, SendResult,
                                           RecipientNotServed]
    assert "UNREGISTERED" in str(outcomes[2])
    sent = {m["data"]["notification_id"]: m["token"] for m in fcm.messages}
    assert sent == {str(n): f"{FCM_TOKEN}-{n}" for n in range(1, 5)}
    names = {o.provider_message_id for o in outcomes if isinstance(o, SendResult)}
    assert len(names) == 4 and all(name.startswith(f"projects/{PROJECT_ID}/messages/") for name in names)
    assert len(fcm.token_requests) == 1


def test_fcm_batch_reports_a_refused_token_request_for_every_message(fcm):
    fcm.token_fail_with = Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    outcomes = fcm_provider(fcm).send_batch([push(f"fcm:{FCM_TOKEN}-{n}", notification_id=n) for n in range(3)])
    assert all(isinstance(o, ProviderConfigError) and "invalid_grant" in str(o) for o in outcomes)
    assert fcm.sends == []


def test_fcm_refused_token_request_is_a_config_error_without_secrets(fcm):
    fcm.token_fail_with = Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    with pytest.raises(ProviderConfigError, match="invalid_grant") as refused:
        fcm_provider(fcm).send(push(f"fcm:{FCM_TOKEN}"))
    assert "PRIVATE KEY" not in str(refused.value) and fcm.sends == []


@pytest.mark.parametrize("key_json, match", [
    ("", "no service account key"),
    ("{not json", "not valid JSON"),
    (json.dumps({"type": "authorized_user", "client_id": "x"}), "not a service account key"),
])
def test_fcm_unusable_key_files_are_config_errors(key_json, match):
    with pytest.raises(ProviderConfigError, match=match):
        FcmProvider(secrets={"service_account_json": key_json})


def test_fcm_broken_private_key_or_missing_project_is_reported_without_the_key(fcm):
    info = dict(fcm.service_account)
    broken = {**info, "private_key": info["private_key"].replace("A", "B", 40)}
    with pytest.raises(ProviderConfigError) as raised:
        FcmProvider(secrets={"service_account_json": json.dumps(broken)})
    assert "PRIVATE KEY" not in str(raised.value) and broken["private_key"][40:80] not in str(raised.value)
    no_project = {k: v for k, v in info.items() if k != "project_id"}
    with pytest.raises(ProviderConfigError, match="project ID"):
        FcmProvider(secrets={"service_account_json": json.dumps(no_project)})
    assert FcmProvider(settings={"project_id": "p-1"}, secrets={"service_account_json": json.dumps(no_project)})


# --- APNs --------------------------------------------------------------------------------------------

def test_apns_registers_as_a_push_provider_with_a_secret_key_field():
    fields = {f.name: f for f in ApnsProvider.spec.fields}
    assert ApnsProvider.spec.channels == ("push",) and fields["private_key"].secret
    assert not fields["environment"].required
    assert not any(f.secret for name, f in fields.items() if name != "private_key")


def test_apns_sends_the_documented_request_over_http2(apns):
    result = apns_provider(apns).send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))

    [request] = apns.requests
    # Over http:// httpx only speaks HTTP/2 (prior knowledge) when HTTP/1.1 is switched off, as the
    # adapter's client does: APNs speaks nothing else.
    assert request.http_version == "2"
    assert request.method == "POST" and request.path == f"/3/device/{fake_apns.DEVICE_TOKEN}"
    assert request.headers["apns-topic"] == fake_apns.BUNDLE_ID
    assert request.headers["apns-push-type"] == "alert" and request.headers["apns-priority"] == "10"
    assert request.headers["apns-expiration"] == "0"
    assert request.headers["content-type"] == "application/json"
    scheme, token = request.headers["authorization"].split(" ")
    assert scheme == "bearer"
    assert jwt.get_unverified_header(token)["kid"] == fake_apns.KEY_ID
    claims = jwt.decode(token, apns.public_key, algorithms=["ES256"])
    assert claims["iss"] == fake_apns.TEAM_ID and isinstance(claims["iat"], int)
    assert request.json() == {"aps": {"alert": {"title": "Order #1001 shipped", "body": "Your parcel is on its way."},
                                      "sound": "default"},
                              "notification_id": "41"}
    assert result.provider_message_id == request.headers["apns-id"]  # the fake echoes it, as APNs does


def test_apns_takes_the_id_apple_answers_with(apns):
    provider = apns_provider(apns)
    apns.fail_with = Reply(200, b"", {"apns-id": "EC1BF194-B3B2-424A-89A9-5A918A6E6B5D"})
    assert provider.send(push(f"apns:{fake_apns.DEVICE_TOKEN}")).provider_message_id == \
        "EC1BF194-B3B2-424A-89A9-5A918A6E6B5D"


def age_provider_tokens(seconds: float) -> None:
    """Make the cached provider tokens look `seconds` older than they are."""
    for key, (token, issued) in list(apns_push._tokens.items()):
        apns_push._tokens[key] = (token, issued - seconds)


def test_apns_reuses_one_provider_token_for_fifty_minutes(apns):
    first, second = apns_provider(apns), apns_provider(apns)
    for provider in (first, second, first):
        provider.send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    tokens = [r.headers["authorization"] for r in apns.requests]
    assert len(set(tokens)) == 1 and len(apns.notifications) == 3

    age_provider_tokens(49 * 60)
    first.send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    assert apns.requests[-1].headers["authorization"] == tokens[0]
    age_provider_tokens(2 * 60)  # now 51 minutes old: signed anew before Apple would refuse it
    second.send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    renewed = apns.requests[-1].headers["authorization"]
    assert renewed != tokens[0] and apns.requests[-1].http_version == "2"
    claims = jwt.decode(renewed.split(" ")[1], apns.public_key, algorithms=["ES256"])
    assert claims["iss"] == fake_apns.TEAM_ID
    first.send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    assert apns.requests[-1].headers["authorization"] == renewed


@pytest.mark.parametrize("why", ["ExpiredProviderToken", "InvalidProviderToken", "MissingProviderToken"])
def test_apns_refused_provider_token_is_a_config_error_and_is_replaced(apns, why):
    provider = apns_provider(apns)
    apns.fail_with = Reply(403, {"reason": why})
    with pytest.raises(ProviderConfigError, match=why) as refused:
        provider.send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    first_token = apns.requests[0].headers["authorization"]
    assert first_token.split(" ")[1] not in str(refused.value)
    apns.fail_with = None
    provider.send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    assert apns.requests[1].headers["authorization"] != first_token


def test_apns_key_the_server_cannot_verify_is_a_config_error(apns):
    other_key, _ = fake_apns.make_auth_key()
    provider = ApnsProvider(settings={"team_id": fake_apns.TEAM_ID, "key_id": fake_apns.KEY_ID,
                                      "bundle_id": fake_apns.BUNDLE_ID},
                            secrets={"private_key": other_key}, base_url=apns.url)
    with pytest.raises(ProviderConfigError, match="InvalidProviderToken"):
        provider.send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))


def test_apns_wrong_bundle_id_is_a_config_error(apns):
    with pytest.raises(ProviderConfigError, match="TopicDisallowed"):
        apns_provider(apns, bundle_id="com.example.other").send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))


@pytest.mark.parametrize("why", ["TooManyRequests", "TooManyProviderTokenUpdates"])
def test_apns_429_is_rate_limited_with_retry_after(apns, why):
    apns.fail_with = Reply(429, {"reason": why}, {"retry-after": "120"})
    with pytest.raises(RateLimitedError, match=why) as limited:
        apns_provider(apns).send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    assert limited.value.retry_after == 120


@pytest.mark.parametrize("status, why", [(500, "InternalServerError"), (503, "ServiceUnavailable"),
                                         (503, "Shutdown")])
def test_apns_server_errors_are_transient(apns, status, why):
    apns.fail_with = Reply(status, {"reason": why})
    with pytest.raises(TransientProviderError, match=why) as raised:
        apns_provider(apns).send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))
    assert not isinstance(raised.value, RateLimitedError)


@pytest.mark.parametrize("device, why", [(fake_apns.UNREGISTERED_TOKEN, "Unregistered"),
                                         (fake_apns.WRONG_APP_TOKEN, "DeviceTokenNotForTopic")])
def test_apns_unregistered_or_foreign_tokens_are_permanent(apns, device, why):
    with pytest.raises(PermanentProviderError, match=why) as raised:
        apns_provider(apns).send(push(f"apns:{device}"))
    assert isinstance(raised.value, RecipientGone) == (why == "Unregistered")


def test_apns_bad_device_token_answer_is_permanent(apns):
    apns.fail_with = Reply(400, {"reason": "BadDeviceToken"})
    with pytest.raises(PermanentProviderError, match="BadDeviceToken"):
        apns_provider(apns).send(push(f"apns:{fake_apns.DEVICE_TOKEN}"))


def test_apns_does_not_serve_fcm_devices_or_send_malformed_tokens(apns):
    provider = apns_provider(apns)
    with pytest.raises(RecipientNotServed):
        provider.send(push(f"fcm:{FCM_TOKEN}"))
    with pytest.raises(PermanentProviderError, match="hexadecimal"):
        provider.send(push("apns:../../3/device/x?y"))
    assert apns.requests == []


def test_apns_settings_are_checked_and_choose_the_host():
    pem, _ = fake_apns.make_auth_key()
    settings = {"team_id": fake_apns.TEAM_ID, "key_id": fake_apns.KEY_ID, "bundle_id": fake_apns.BUNDLE_ID}
    assert ApnsProvider(settings, {"private_key": pem}).base == "https://api.push.apple.com"
    assert ApnsProvider({**settings, "environment": "sandbox"}, {"private_key": pem}).base == \
        "https://api.sandbox.push.apple.com"
    with pytest.raises(ProviderConfigError, match="environment"):
        ApnsProvider({**settings, "environment": "staging"}, {"private_key": pem})
    with pytest.raises(ProviderConfigError, match="team ID"):
        ApnsProvider({**settings, "team_id": "acme"}, {"private_key": pem})
    with pytest.raises(ProviderConfigError, match="no auth key"):
        ApnsProvider(settings, {})
    with pytest.raises(ProviderConfigError, match="not a readable") as unreadable:
        ApnsProvider(settings, {"private_key": pem[:120]})
    assert pem[40:100] not in str(unreadable.value)

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(ProviderConfigError, match="P-256"):
        ApnsProvider(settings, {"private_key": rsa_pem})



def test_the_messages_link_reaches_the_app_through_fcm_and_apns(fcm, apns):
    link = "https://shop.example.com/orders/1001"
    fcm_provider(fcm).send(replace(push(f"fcm:{FCM_TOKEN}"), link=link))
    assert fcm.requests[-1].json()["message"]["data"] == {"notification_id": "41", "link": link}
    apns_provider(apns).send(replace(push(f"apns:{fake_apns.DEVICE_TOKEN}"), link=link))
    assert apns.requests[-1].json()["link"] == link
