"""Slack, for ops alerts: through a bot token and the Web API's chat.postMessage, or through an
incoming-webhook URL. Exactly one of the two is configured.

chat.postMessage answers HTTP 200 with {"ok": true, "channel", "ts"} or {"ok": false, "error": code}
(and HTTP 429 with Retry-After when rate limited). An incoming webhook answers 200 "ok", or a
plain-text error code with a 4xx status (400 invalid_payload, 403 action_prohibited, 404 no_service /
channel_not_found, 410 channel_is_archived) or 5xx.
"""
from __future__ import annotations

import httpx

from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    ProviderConfigError,
    ProviderError,
    ProviderSpec,
    RateLimitedError,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.http_pool import (
    GONE_STATUSES,
    classify,
    json_body,
    post_json,
    reason,
    refused,
    retry_after,
    title_and_body,
    truncate,
)
from webapp.channels.providers.http_pool import webhook_url as checked_webhook_url

LABEL = "Slack"
API_BASE = "https://slack.com/api"
MAX_TEXT = 39_000  # Slack truncates text beyond 40,000 characters; stay under it ourselves

SPEC = ProviderSpec("slack", "Slack", ("ops",), (
    ConfigField("bot_token", "Bot token (xoxb-…), with channel ID", secret=True, required=False),
    ConfigField("channel", "Channel ID (C…), for the bot token", required=False),
    ConfigField("webhook_url", "Incoming webhook URL (instead of a bot token)", secret=True, required=False,
                connects_to="url"),
))

# chat.postMessage error codes meaning the token, its scopes or the configured channel are wrong:
# nothing sent through this configuration can succeed, so fail over.
CONFIG_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "channel_not_found", "not_in_channel", "is_archived", "access_denied",
    "team_access_not_granted", "ekm_access_denied", "org_login_required", "restricted_action",
    "not_allowed_token_type", "invalid_token", "two_factor_setup_required", "enterprise_is_restricted",
})
TRANSIENT_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
# Incoming-webhook plain-text errors that mean the webhook (or its channel) is gone or barred.
WEBHOOK_CONFIG_ERRORS = frozenset({"no_service", "no_active_hooks", "no_team", "team_disabled",
                                   "channel_not_found", "channel_is_archived", "action_prohibited",
                                   "invalid_token", "posting_to_general_channel_denied"})


def escape(text: str) -> str:
    """Slack's mrkdwn control characters, escaped as its docs require."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_text(message: OutboundMessage) -> str:
    title, body = title_and_body(message)
    text = "\n".join(part for part in (f"*{escape(title)}*" if title else "", escape(body)) if part)
    return truncate(text, MAX_TEXT)


class SlackProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.token = (secrets.get("bot_token") or "").strip()
        self.channel = (settings.get("channel") or "").strip()
        hook = (secrets.get("webhook_url") or "").strip()
        if self.token and hook:
            raise ProviderConfigError("Slack: configure either a bot token and channel or a webhook URL, not both")
        if hook:
            self.webhook = checked_webhook_url(LABEL, hook, base_url, hosts=("hooks.slack.com",),
                                               path_prefix="/services/")
            return
        self.webhook = None
        if not self.token:
            raise ProviderConfigError("Slack: needs a bot token and channel ID, or an incoming webhook URL")
        if not self.token.startswith(("xoxb-", "xoxp-", "xoxe.")):
            raise ProviderConfigError("Slack: the bot token should start with xoxb-")
        if not self.channel:
            raise ProviderConfigError("Slack: a bot token needs the channel ID to post to")
        self.api = (base_url or API_BASE).rstrip("/")

    def send(self, message: OutboundMessage) -> SendResult:
        text = alert_text(message)
        if self.webhook:
            return self._send_webhook(text)
        response = post_json(LABEL, f"{self.api}/chat.postMessage", {"channel": self.channel, "text": text},
                             headers={"Authorization": f"Bearer {self.token}"},
                             content_type="application/json; charset=utf-8")
        data = json_body(response)
        if response.status_code == 200 and isinstance(data, dict) and data.get("ok") is True:
            return SendResult(f"{data.get('channel') or self.channel}:{data.get('ts', '')}")
        raise _api_error(response, data, self.token)

    def _send_webhook(self, text: str) -> SendResult:
        response = post_json(LABEL, self.webhook, {"text": text})
        body = response.text.strip()
        if response.status_code == 200:
            # The webhook has no message id; "ok" is its whole answer.
            return SendResult("")
        raise refused(LABEL, response, body[:200] or response.reason_phrase, config=body in WEBHOOK_CONFIG_ERRORS,
                      config_statuses=GONE_STATUSES)


def _api_error(response: httpx.Response, data, token: str) -> ProviderError:
    code = response.status_code
    error = str(data.get("error") or "") if isinstance(data, dict) else ""
    why = reason(LABEL, code, error or response.text[:200] or response.reason_phrase, [token])
    # chat.postMessage reports most failures as HTTP 200 {"ok": false}, so its error code is read
    # before the status (though a 429 stays rate limited whatever the code says).
    if error in RATE_LIMIT_ERRORS:
        return RateLimitedError(why, retry_after(response))
    if error in TRANSIENT_ERRORS and code != 429:
        return TransientProviderError(why)
    return classify(code, why, retry_after(response), config=error in CONFIG_ERRORS,
                    config_statuses=GONE_STATUSES)
