"""The team/ops chat adapters (Slack, Teams, Discord, Google Chat, Telegram, PagerDuty) against
local fakes that check each service's documented request and answer its documented bodies."""
from __future__ import annotations

import socket
import traceback

import pytest

from tests.fakes.http import Reply
from tests.fakes.team import (
    DISCORD_ID,
    DISCORD_TOKEN,
    DISCORD_URL,
    GCHAT_KEY,
    GCHAT_TOKEN,
    GCHAT_URL,
    PAGERDUTY_KEY,
    SLACK_CHANNEL,
    SLACK_HOOK_URL,
    SLACK_TOKEN,
    TEAMS_SIG,
    TEAMS_URL,
    TELEGRAM_CHAT,
    TELEGRAM_KICKED_CHAT,
    TELEGRAM_TOKEN,
    FakeDiscord,
    FakeGoogleChat,
    FakePagerDuty,
    FakeSlack,
    FakeTeams,
    FakeTelegram,
)
from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    RateLimitedError,
    TransientProviderError,
)
from webapp.channels.providers.pagerduty import PagerDutyProvider
from webapp.channels.providers.slack import SlackProvider
from webapp.channels.providers.team_webhooks import DiscordProvider, GoogleChatProvider, TeamsProvider
from webapp.channels.providers.telegram import TelegramProvider

TITLE = "12 order emails failed on every provider"
BODY = "SendGrid: 401 Unauthorized\nWebhook: 503 Service Unavailable\nSee https://hub.example/outbox?status=failed"


def alert(subject: str | None = TITLE, body: str = BODY, key: str = "alert:email-failing:acme") -> OutboundMessage:
    return OutboundMessage(notification_id=7, store_id=1, channel="ops", recipient="", subject=subject, body=body,
                           idempotency_key=key)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_no_secret(error: Exception, *secrets: str) -> None:
    text = "".join(traceback.format_exception(error)) + str(error)
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def slack():
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def teams():
    fake = FakeTeams()
    yield fake
    fake.close()


@pytest.fixture
def discord():
    fake = FakeDiscord()
    yield fake
    fake.close()


@pytest.fixture
def gchat():
    fake = FakeGoogleChat()
    yield fake
    fake.close()


@pytest.fixture
def telegram():
    fake = FakeTelegram()
    yield fake
    fake.close()


@pytest.fixture
def pagerduty():
    fake = FakePagerDuty()
    yield fake
    fake.close()


# --- registration --------------------------------------------------------------------------------

def test_team_providers_register_for_the_ops_channel_with_their_credentials_secret():
    from webapp.channels.providers.registry import providers

    found = providers()
    classes = {"slack": SlackProvider, "teams": TeamsProvider, "discord": DiscordProvider,
               "google_chat": GoogleChatProvider, "telegram": TelegramProvider, "pagerduty": PagerDutyProvider}
    for code, cls in classes.items():
        assert found[code] is cls and cls.spec.code == code and cls.spec.channels == ("ops",)
    secret = {code: {f.name for f in cls.spec.fields if f.secret} for code, cls in classes.items()}
    assert secret == {"slack": {"bot_token", "webhook_url"}, "teams": {"webhook_url"}, "discord": {"webhook_url"},
                      "google_chat": {"webhook_url"}, "telegram": {"bot_token"}, "pagerduty": {"routing_key"}}


def test_configured_slack_is_built_from_the_stored_settings_and_sends(app, store, slack):
    from webapp.channels.accounts import configure_provider
    from webapp.channels.providers.registry import provider_chain

    configure_provider(store.id, "ops", "slack", {"bot_token": SLACK_TOKEN, "channel": SLACK_CHANNEL},
                       base_url=slack.url + "/api")
    [(code, provider)] = provider_chain(store.id, "ops")
    assert code == "slack" and isinstance(provider, SlackProvider)
    assert provider.send(alert()).provider_message_id == f"{SLACK_CHANNEL}:1700000000.000001"


# --- Slack -----------------------------------------------------------------------------------------

def slack_bot(fake, token=SLACK_TOKEN, channel=SLACK_CHANNEL, base_url=None):
    return SlackProvider({"channel": channel}, {"bot_token": token}, base_url or fake.url + "/api")


def test_slack_bot_posts_chat_post_message_with_bearer_token(slack):
    result = slack_bot(slack).send(alert(body="a < b & c > d"))
    [request] = slack.requests
    assert request.method == "POST" and request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == {"channel": SLACK_CHANNEL, "text": f"*{TITLE}*\na &lt; b &amp; c &gt; d"}
    assert result.provider_message_id == f"{SLACK_CHANNEL}:1700000000.000001"


@pytest.mark.parametrize("reply, error", [
    (Reply(200, {"ok": False, "error": "invalid_auth"}), ProviderConfigError),
    (Reply(200, {"ok": False, "error": "token_revoked"}), ProviderConfigError),
    (Reply(200, {"ok": False, "error": "not_in_channel"}), ProviderConfigError),
    (Reply(200, {"ok": False, "error": "missing_scope", "needed": "chat:write", "provided": "channels:read"}),
     ProviderConfigError),
    (Reply(401, {"ok": False, "error": "not_authed"}), ProviderConfigError),
    (Reply(200, {"ok": False, "error": "msg_too_long"}), PermanentProviderError),
    (Reply(200, {"ok": False, "error": "internal_error"}), TransientProviderError),
    (Reply(503, b"<html>Service Unavailable</html>"), TransientProviderError),
])
def test_slack_bot_errors_are_classified(slack, reply, error):
    slack.fail_with = reply
    with pytest.raises(error) as raised:
        slack_bot(slack).send(alert())
    assert type(raised.value) is error and SLACK_TOKEN not in str(raised.value)


def test_slack_bot_wrong_token_or_channel_is_a_config_error(slack):
    with pytest.raises(ProviderConfigError, match="invalid_auth"):
        slack_bot(slack, token="xoxb-wrong-token").send(alert())
    with pytest.raises(ProviderConfigError, match="channel_not_found"):
        slack_bot(slack, channel="C0NOSUCH").send(alert())


def test_slack_rate_limit_carries_retry_after(slack):
    slack.fail_with = Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"})
    with pytest.raises(RateLimitedError) as raised:
        slack_bot(slack).send(alert())
    assert raised.value.retry_after == 30.0


def test_slack_incoming_webhook_posts_text_and_reads_plain_text_answers(slack):
    provider = SlackProvider({}, {"webhook_url": SLACK_HOOK_URL}, slack.url)
    assert provider.send(alert()).provider_message_id == ""
    [request] = slack.requests
    assert request.path == "/services/T00000000/B00000000/SlackHookSecretXXXXXXXX"
    assert request.json() == {"text": f"*{TITLE}*\n{BODY}"} and "Authorization" not in request.headers
    for reply, error in [(Reply(400, b"invalid_payload"), PermanentProviderError),
                         (Reply(403, b"action_prohibited"), ProviderConfigError),
                         (Reply(404, b"no_service"), ProviderConfigError),
                         (Reply(410, b"channel_is_archived"), ProviderConfigError),
                         (Reply(500, b"rollup_error"), TransientProviderError)]:
        slack.fail_with = reply
        with pytest.raises(error) as raised:
            provider.send(alert())
        assert type(raised.value) is error and reply.body.decode() in str(raised.value)
        assert "SlackHookSecret" not in str(raised.value)
    slack.fail_with = Reply(429, b"rate_limited", {"Retry-After": "2"})
    with pytest.raises(RateLimitedError) as raised:
        provider.send(alert())
    assert raised.value.retry_after == 2.0


def test_slack_needs_exactly_one_way_to_post():
    with pytest.raises(ProviderConfigError, match="needs"):
        SlackProvider({}, {}, None)
    with pytest.raises(ProviderConfigError, match="not both"):
        SlackProvider({"channel": SLACK_CHANNEL}, {"bot_token": SLACK_TOKEN, "webhook_url": SLACK_HOOK_URL})
    with pytest.raises(ProviderConfigError, match="channel"):
        SlackProvider({}, {"bot_token": SLACK_TOKEN})
    with pytest.raises(ProviderConfigError, match="xoxb-"):
        SlackProvider({"channel": SLACK_CHANNEL}, {"bot_token": "not-a-token"})
    with pytest.raises(ProviderConfigError) as raised:
        SlackProvider({}, {"webhook_url": DISCORD_URL})
    assert "hooks.slack.com" in str(raised.value) and DISCORD_TOKEN not in str(raised.value)


def test_slack_unreachable_is_transient_without_the_token_or_url():
    closed = closed_port_url()
    for provider in (SlackProvider({"channel": SLACK_CHANNEL}, {"bot_token": SLACK_TOKEN}, closed),
                     SlackProvider({}, {"webhook_url": SLACK_HOOK_URL}, closed)):
        with pytest.raises(TransientProviderError) as raised:
            provider.send(alert())
        assert_no_secret(raised.value, SLACK_TOKEN, "SlackHookSecret", closed)


# --- Microsoft Teams ---------------------------------------------------------------------------------

def test_teams_posts_an_adaptive_card_message_to_the_workflow(teams):
    result = TeamsProvider({}, {"webhook_url": TEAMS_URL}, teams.url).send(alert())
    [request] = teams.requests
    assert request.method == "POST" and request.path.startswith("/workflows/5f3c/triggers/manual/paths/invoke?")
    assert f"sig={TEAMS_SIG}" in request.path and request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    title, text = attachment["content"]["body"]
    assert (title["text"], title["weight"], text["text"], text["wrap"]) == (TITLE, "Bolder", BODY, True)
    assert result.provider_message_id == "08584000000000000001CU00"


def test_teams_legacy_connector_answer_and_its_embedded_errors(teams):
    teams.legacy = True
    provider = TeamsProvider({}, {"webhook_url": TEAMS_URL}, teams.url)
    assert provider.send(alert()).provider_message_id == ""
    teams.fail_with = Reply(200, b"Webhook message delivery failed with error: Microsoft Teams endpoint returned "
                                 b"HTTP error 429 with ContextId tcid=0,server=msgapi-production-eus-azsc2-4-170")
    with pytest.raises(RateLimitedError):
        provider.send(alert())


@pytest.mark.parametrize("reply, error", [
    (Reply(400, {"error": {"code": "TriggerInputSchemaMismatch", "message": "did not match its schema"}}),
     PermanentProviderError),
    (Reply(403, {"error": {"code": "AuthorizationFailed", "message": "forbidden"}}), ProviderConfigError),
    (Reply(404, {"error": {"code": "WorkflowNotFound", "message": "The workflow could not be found."}}),
     ProviderConfigError),
    (Reply(502, {"error": {"code": "BadGateway", "message": "upstream"}}), TransientProviderError),
])
def test_teams_errors_are_classified(teams, reply, error):
    teams.fail_with = reply
    with pytest.raises(error) as raised:
        TeamsProvider({}, {"webhook_url": TEAMS_URL}, teams.url).send(alert())
    assert type(raised.value) is error and reply.body["error"]["code"] in str(raised.value)
    assert TEAMS_SIG not in str(raised.value)


def test_teams_wrong_signature_and_rate_limit(teams):
    with pytest.raises(ProviderConfigError, match="DirectApiAuthorizationRequired"):
        TeamsProvider({}, {"webhook_url": TEAMS_URL.replace(TEAMS_SIG, "forged")}, teams.url).send(alert())
    teams.fail_with = Reply(429, {"error": {"code": "WorkflowTriggeredTooManyTimes", "message": "slow down"}},
                            {"Retry-After": "15"})
    with pytest.raises(RateLimitedError) as raised:
        TeamsProvider({}, {"webhook_url": TEAMS_URL}, teams.url).send(alert())
    assert raised.value.retry_after == 15.0


def test_teams_config_and_unreachable():
    with pytest.raises(ProviderConfigError, match="no webhook URL"):
        TeamsProvider({}, {}, None)
    with pytest.raises(ProviderConfigError, match="https://"):
        TeamsProvider({}, {"webhook_url": TEAMS_URL.replace("https://", "http://")})
    closed = closed_port_url()
    with pytest.raises(TransientProviderError) as raised:
        TeamsProvider({}, {"webhook_url": TEAMS_URL}, closed).send(alert())
    assert_no_secret(raised.value, TEAMS_SIG, closed)


# --- Discord ---------------------------------------------------------------------------------------

def test_discord_executes_the_webhook_with_wait_and_no_mentions(discord):
    result = DiscordProvider({}, {"webhook_url": DISCORD_URL}, discord.url).send(alert(body="@everyone " + BODY))
    [request] = discord.requests
    assert request.method == "POST" and request.path == f"/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}?wait=true"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"content": f"**{TITLE}**\n@everyone {BODY}", "allowed_mentions": {"parse": []}}
    assert result.provider_message_id == "1180000000000000001"


def test_discord_content_is_cut_to_2000_without_splitting_characters(discord):
    DiscordProvider({}, {"webhook_url": DISCORD_URL}, discord.url).send(alert(body="🚨" * 3000))
    content = discord.requests[0].json()["content"]
    assert len(content.encode("utf-16-le")) // 2 <= 2000 and content.endswith("🚨…")
    assert len(discord.messages) == 1


def test_discord_rate_limit_uses_the_bodys_retry_after(discord):
    discord.fail_with = Reply(429, {"message": "You are being rate limited.", "retry_after": 0.35, "global": False},
                              {"Retry-After": "1"})
    with pytest.raises(RateLimitedError) as raised:
        DiscordProvider({}, {"webhook_url": DISCORD_URL}, discord.url).send(alert())
    assert raised.value.retry_after == 0.35


@pytest.mark.parametrize("reply, error", [
    (Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": {}}), PermanentProviderError),
    (Reply(403, {"message": "Missing Permissions", "code": 50013}), ProviderConfigError),
    (Reply(500, {"message": "500: Internal Server Error", "code": 0}), TransientProviderError),
])
def test_discord_errors_are_classified(discord, reply, error):
    discord.fail_with = reply
    with pytest.raises(error) as raised:
        DiscordProvider({}, {"webhook_url": DISCORD_URL}, discord.url).send(alert())
    assert type(raised.value) is error and DISCORD_TOKEN not in str(raised.value)


def test_discord_wrong_token_or_deleted_webhook_is_a_config_error(discord):
    with pytest.raises(ProviderConfigError, match="Invalid Webhook Token"):
        DiscordProvider({}, {"webhook_url": DISCORD_URL[:-3] + "xyz"}, discord.url).send(alert())
    with pytest.raises(ProviderConfigError, match="Unknown Webhook"):
        DiscordProvider({}, {"webhook_url": DISCORD_URL.replace(DISCORD_ID, "42")}, discord.url).send(alert())


def test_discord_config_and_unreachable():
    with pytest.raises(ProviderConfigError):
        DiscordProvider({}, {}, None)
    with pytest.raises(ProviderConfigError, match="discord.com"):
        DiscordProvider({}, {"webhook_url": SLACK_HOOK_URL})
    with pytest.raises(ProviderConfigError, match="/webhooks/<id>/<token>"):
        DiscordProvider({}, {"webhook_url": "https://discord.com/api/webhooks/123"})
    closed = closed_port_url()
    with pytest.raises(TransientProviderError) as raised:
        DiscordProvider({}, {"webhook_url": DISCORD_URL}, closed).send(alert())
    assert_no_secret(raised.value, DISCORD_TOKEN, closed)


# --- Google Chat -----------------------------------------------------------------------------------

def test_google_chat_posts_text_to_the_space(gchat):
    result = GoogleChatProvider({}, {"webhook_url": GCHAT_URL}, gchat.url).send(alert(subject=None))
    [request] = gchat.requests
    assert request.method == "POST" and request.path == GCHAT_URL.removeprefix("https://chat.googleapis.com")
    assert request.headers["Content-Type"] == "application/json; charset=UTF-8"
    first, rest = BODY.split("\n", 1)
    assert request.json() == {"text": f"*{first}*\n{rest}"}
    assert result.provider_message_id == "spaces/AAAAops1234/messages/msg1.msg1"


def test_google_chat_bad_key_or_token_is_a_config_error(gchat):
    with pytest.raises(ProviderConfigError, match="API key not valid") as raised:
        GoogleChatProvider({}, {"webhook_url": GCHAT_URL.replace(GCHAT_KEY, "AIzaWrong")}, gchat.url).send(alert())
    assert "AIzaWrong" not in str(raised.value)
    with pytest.raises(ProviderConfigError, match="UNAUTHENTICATED"):
        GoogleChatProvider({}, {"webhook_url": GCHAT_URL.replace(GCHAT_TOKEN, "forged")}, gchat.url).send(alert())


@pytest.mark.parametrize("reply, error", [
    (Reply(400, {"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}),
     PermanentProviderError),
    (Reply(403, {"error": {"code": 403, "message": "The caller does not have permission",
                           "status": "PERMISSION_DENIED"}}), ProviderConfigError),
    (Reply(404, {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}),
     ProviderConfigError),
    (Reply(503, {"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}),
     TransientProviderError),
])
def test_google_chat_errors_are_classified(gchat, reply, error):
    gchat.fail_with = reply
    with pytest.raises(error) as raised:
        GoogleChatProvider({}, {"webhook_url": GCHAT_URL}, gchat.url).send(alert())
    assert type(raised.value) is error and reply.body["error"]["status"] in str(raised.value)


def test_google_chat_rate_limit(gchat):
    gchat.fail_with = Reply(429, {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                                            "status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "1"})
    with pytest.raises(RateLimitedError) as raised:
        GoogleChatProvider({}, {"webhook_url": GCHAT_URL}, gchat.url).send(alert())
    assert raised.value.retry_after == 1.0


def test_google_chat_config_and_unreachable():
    with pytest.raises(ProviderConfigError):
        GoogleChatProvider({}, {}, None)
    with pytest.raises(ProviderConfigError, match="key and token") as raised:
        GoogleChatProvider({}, {"webhook_url": GCHAT_URL.split("&token=")[0]})
    assert GCHAT_KEY not in str(raised.value)
    closed = closed_port_url()
    with pytest.raises(TransientProviderError) as raised:
        GoogleChatProvider({}, {"webhook_url": GCHAT_URL}, closed).send(alert())
    assert_no_secret(raised.value, GCHAT_TOKEN, GCHAT_KEY, closed)


# --- Telegram --------------------------------------------------------------------------------------

def telegram_bot(fake, token=TELEGRAM_TOKEN, chat=TELEGRAM_CHAT, base_url=None):
    return TelegramProvider({"chat_id": chat}, {"bot_token": token}, base_url or fake.url)


def test_telegram_sends_plain_text_to_the_chat(telegram):
    result = telegram_bot(telegram).send(alert(body="*not bold* <b>no html</b>"))
    [request] = telegram.requests
    assert request.method == "POST" and request.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["chat_id"] == int(TELEGRAM_CHAT) and body["text"] == f"{TITLE}\n\n*not bold* <b>no html</b>"
    assert "parse_mode" not in body
    assert result.provider_message_id == f"{TELEGRAM_CHAT}:101"


def test_telegram_wrong_token_blocked_bot_or_unknown_chat_are_config_errors(telegram):
    wrong = "987654321:AAwrongwrongwrongwrongwrongwrongwr"
    with pytest.raises(ProviderConfigError, match="401: Unauthorized") as raised:
        telegram_bot(telegram, token=wrong).send(alert())
    assert_no_secret(raised.value, wrong)
    with pytest.raises(ProviderConfigError, match="kicked"):
        telegram_bot(telegram, chat=TELEGRAM_KICKED_CHAT).send(alert())
    with pytest.raises(ProviderConfigError, match="chat not found"):
        telegram_bot(telegram, chat="-1000000000001").send(alert())


@pytest.mark.parametrize("reply, error", [
    (Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}),
     PermanentProviderError),
    (Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a "
                 "supergroup chat", "parameters": {"migrate_to_chat_id": -1001111111111}}), ProviderConfigError),
    (Reply(502, b"<html><head><title>502 Bad Gateway</title></head></html>"), TransientProviderError),
    (Reply(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}), TransientProviderError),
])
def test_telegram_errors_are_classified(telegram, reply, error):
    telegram.fail_with = reply
    with pytest.raises(error) as raised:
        telegram_bot(telegram).send(alert())
    assert type(raised.value) is error and TELEGRAM_TOKEN not in str(raised.value)


def test_telegram_flood_control_uses_parameters_retry_after(telegram):
    telegram.fail_with = Reply(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry "
                                     "after 34", "parameters": {"retry_after": 34}}, {"Retry-After": "34"})
    with pytest.raises(RateLimitedError) as raised:
        telegram_bot(telegram).send(alert())
    assert raised.value.retry_after == 34.0


def test_telegram_long_alerts_are_cut_to_4096(telegram):
    telegram_bot(telegram).send(alert(body="x" * 5000))
    assert len(telegram.messages[0]["text"]) == 4096


def test_telegram_config_and_unreachable_never_show_the_token():
    with pytest.raises(ProviderConfigError, match="bot token"):
        TelegramProvider({"chat_id": TELEGRAM_CHAT}, {})
    with pytest.raises(ProviderConfigError, match="chat ID"):
        TelegramProvider({}, {"bot_token": TELEGRAM_TOKEN})
    with pytest.raises(ProviderConfigError, match="chat ID"):
        TelegramProvider({"chat_id": "ops team"}, {"bot_token": TELEGRAM_TOKEN})
    with pytest.raises(ProviderConfigError) as raised:
        TelegramProvider({"chat_id": TELEGRAM_CHAT}, {"bot_token": "bot" + TELEGRAM_TOKEN + "/x"})
    assert TELEGRAM_TOKEN not in str(raised.value)
    closed = closed_port_url()
    with pytest.raises(TransientProviderError) as raised:
        TelegramProvider({"chat_id": TELEGRAM_CHAT}, {"bot_token": TELEGRAM_TOKEN}, closed).send(alert())
    assert_no_secret(raised.value, TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1], closed)


# --- PagerDuty -------------------------------------------------------------------------------------

def pd(fake, key=PAGERDUTY_KEY, **settings):
    return PagerDutyProvider(settings, {"routing_key": key}, fake.url)


def test_pagerduty_triggers_an_event_deduplicated_by_the_alert_key(pagerduty):
    result = pd(pagerduty).send(alert())
    [request] = pagerduty.requests
    assert request.method == "POST" and request.path == "/v2/enqueue"
    assert request.headers["Content-Type"] == "application/json" and "Authorization" not in request.headers
    event = request.json()
    assert (event["routing_key"], event["event_action"], event["dedup_key"]) == (
        PAGERDUTY_KEY, "trigger", "alert:email-failing:acme")
    assert event["payload"] == {"summary": TITLE, "source": "notifyhub", "severity": "error",
                                "custom_details": {"details": BODY}}
    assert result.provider_message_id == "alert:email-failing:acme"


def test_pagerduty_summary_from_first_line_severity_and_long_keys(pagerduty):
    pd(pagerduty, severity="critical").send(alert(subject=None, body="x" * 2000 + "\nmore", key="k" * 300))
    event = pagerduty.messages[0]
    assert len(event["payload"]["summary"]) == 1024 and event["payload"]["severity"] == "critical"
    assert len(event["dedup_key"]) <= 255 and event["payload"]["custom_details"]["details"].endswith("more")
    pd(pagerduty, severity="critical").send(alert(subject=None, body="x" * 2000 + "\nmore", key="k" * 300))
    assert pagerduty.messages[1]["dedup_key"] == event["dedup_key"]  # stable: the same alert group


@pytest.mark.parametrize("reply, error", [
    (Reply(400, {"status": "invalid event", "message": "Event object is invalid",
                 "errors": ["'payload.summary' is missing or blank"]}), PermanentProviderError),
    (Reply(403, {"status": "forbidden", "message": "Forbidden"}), ProviderConfigError),
    (Reply(500, {"status": "error", "message": "Internal server error"}), TransientProviderError),
    (Reply(503, b""), TransientProviderError),
])
def test_pagerduty_errors_are_classified(pagerduty, reply, error):
    pagerduty.fail_with = reply
    with pytest.raises(error) as raised:
        pd(pagerduty).send(alert())
    assert type(raised.value) is error and PAGERDUTY_KEY not in str(raised.value)


def test_pagerduty_unknown_routing_key_is_a_config_error_and_rate_limit_is_retried(pagerduty):
    with pytest.raises(ProviderConfigError, match="routing key"):
        pd(pagerduty, key="X" * 32).send(alert())
    pagerduty.fail_with = Reply(429, {"status": "throttle event", "message": "Requests for this service are arriving "
                                      "too quickly. Please retry later."}, {"Retry-After": "60"})
    with pytest.raises(RateLimitedError) as raised:
        pd(pagerduty).send(alert())
    assert raised.value.retry_after == 60.0


def test_pagerduty_config_and_unreachable():
    with pytest.raises(ProviderConfigError, match="no routing key"):
        PagerDutyProvider({}, {})
    with pytest.raises(ProviderConfigError, match="32-character") as raised:
        PagerDutyProvider({}, {"routing_key": "short-key-value"})
    assert "short-key-value" not in str(raised.value)
    with pytest.raises(ProviderConfigError, match="severity"):
        PagerDutyProvider({"severity": "apocalyptic"}, {"routing_key": PAGERDUTY_KEY})
    closed = closed_port_url()
    with pytest.raises(TransientProviderError) as raised:
        PagerDutyProvider({}, {"routing_key": PAGERDUTY_KEY}, closed).send(alert())
    assert_no_secret(raised.value, PAGERDUTY_KEY)
