"""Chat services reached through one incoming-webhook URL each, for ops alerts: Microsoft Teams,
Discord and Google Chat. The URL is the credential (it embeds a token or signature), so it is a
secret field and no reason ever quotes it.

- Teams: the Adaptive Card "message" envelope, accepted both by Workflows (Power Automate) webhooks,
  which answer 202, and by legacy connector webhooks, which answer 200 "1" (or, when Teams itself
  refused the card, 200 with "... returned HTTP error <code> ...").
- Discord: POST {url}?wait=true with {"content", "allowed_mentions": {"parse": []}}; 200 with the
  message object; 429 with {"message", "retry_after", "global"} and Retry-After; 401/403/404 (invalid
  token, unknown webhook) mean the URL no longer works; 400 {"code", "message", "errors"}.
- Google Chat: POST the URL (it carries key and token) with {"text"}; 200 with the message resource
  {"name": "spaces/…/messages/…"}; errors are {"error": {"code", "message", "status"}}.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    ProviderConfigError,
    ProviderError,
    ProviderSpec,
    SendResult,
)
from webapp.channels.providers.http_pool import (
    GONE_STATUSES,
    classify,
    json_body,
    post_json,
    reason,
    retry_after,
    seconds,
    title_and_body,
    truncate,
    webhook_url,
)

WEBHOOK_FIELD = ConfigField("webhook_url", "Incoming webhook URL", secret=True, connects_to="url")


def _classify(label: str, response: httpx.Response, detail: str, *, config: bool = False,
              retry: float | None = None, secrets: tuple[str, ...] = ()) -> ProviderError:
    """The common reading of a refused webhook POST. `config` marks an answer that is about the
    webhook itself rather than this message; `retry` is a wait the body gave (preferred over the
    Retry-After header, which some services round up to whole seconds)."""
    why = reason(label, response.status_code, detail or response.reason_phrase, secrets)
    wait = retry if retry is not None else retry_after(response)
    return classify(response.status_code, why, wait, config=config, config_statuses=GONE_STATUSES)


class TeamsProvider:
    spec = ProviderSpec("teams", "Microsoft Teams (incoming webhook / Workflows)", ("ops",), (WEBHOOK_FIELD,))
    label = "Microsoft Teams"
    MAX_BODY = 20_000  # a Teams message may be ~28 KB in all, card JSON included
    LEGACY_ERROR = re.compile(r"HTTP error (\d{3})")
    # Workflows error codes meaning the flow behind the URL is gone, off, or the signature is wrong.
    CONFIG_CODES = frozenset({"WorkflowNotFound", "WorkflowTriggerIsNotEnabled", "DirectApiAuthorizationRequired",
                              "DirectApiInvalidAuthorizationScheme", "InvalidAuthenticationToken"})

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        # Teams webhook hosts vary (*.webhook.office.com, *.logic.azure.com, *.powerplatform.com...):
        # only the scheme is checked.
        self.url = webhook_url(self.label, (secrets or {}).get("webhook_url"), base_url)

    @staticmethod
    def payload(message: OutboundMessage) -> dict:
        title, body = title_and_body(message)
        blocks = []
        if title:
            blocks.append({"type": "TextBlock", "text": truncate(title, 500), "size": "Medium", "weight": "Bolder",
                           "wrap": True})
        if body:
            blocks.append({"type": "TextBlock", "text": truncate(body, TeamsProvider.MAX_BODY), "wrap": True})
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4", "body": blocks}
        return {"type": "message",
                "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
                                 "content": card}]}

    def send(self, message: OutboundMessage) -> SendResult:
        response = post_json(self.label, self.url, self.payload(message))
        code, text = response.status_code, response.text.strip()
        if 200 <= code < 300:
            refused = self.LEGACY_ERROR.search(text) if code == 200 and text not in ("", "1") else None
            if refused:
                # A legacy connector accepted the POST but Teams refused the card: the real status is
                # inside the text ("Webhook message delivery failed with error: ... HTTP error 429 ...").
                inner = int(refused.group(1))
                # Not about the webhook itself (it took the POST), so no status here is a config error.
                raise classify(inner, reason(self.label, inner, text[:200]), retry_after(response), config_statuses=())
            run = (response.headers.get("x-ms-workflow-run-id") or response.headers.get("request-id")
                   or response.headers.get("x-ms-request-id") or "")
            return SendResult(run)
        data = json_body(response)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            detail = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
        else:
            detail = text[:200]
        about_webhook = isinstance(error, dict) and str(error.get("code", "")) in self.CONFIG_CODES
        raise _classify(self.label, response, detail, config=about_webhook)


class DiscordProvider:
    spec = ProviderSpec("discord", "Discord (webhook)", ("ops",), (WEBHOOK_FIELD,))
    label = "Discord"
    MAX_CONTENT = 2000
    HOSTS = ("discord.com", "discordapp.com")
    # Discord error codes about the webhook itself: unknown webhook, invalid webhook token.
    CONFIG_CODES = frozenset({10015, 50027})

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        url = webhook_url(self.label, (secrets or {}).get("webhook_url"), base_url, hosts=self.HOSTS,
                          path_prefix="/api/")
        if not re.search(r"/webhooks/\d+/[\w-]+$", urlsplit(url).path):
            raise ProviderConfigError("Discord: the webhook URL should end in /webhooks/<id>/<token>")
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "wait"] + [("wait", "true")]
        self.url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

    @classmethod
    def payload(cls, message: OutboundMessage) -> dict:
        title, body = title_and_body(message)
        text = "\n".join(part for part in (f"**{title}**" if title else "", body) if part)
        # Discord counts length like JavaScript does (UTF-16 units); "parse": [] means no @everyone,
        # role or user pings whatever the alert text holds.
        return {"content": truncate(text, cls.MAX_CONTENT, utf16=True), "allowed_mentions": {"parse": []}}

    def send(self, message: OutboundMessage) -> SendResult:
        response = post_json(self.label, self.url, self.payload(message))
        data = json_body(response)
        if 200 <= response.status_code < 300:
            return SendResult(str(data.get("id", "")) if isinstance(data, dict) else "")
        if isinstance(data, dict):
            detail = str(data.get("message") or "")
            if data.get("code"):
                detail = f"{detail} (code {data['code']})"
            if data.get("global"):
                detail += " (global rate limit)"
            config = data.get("code") in self.CONFIG_CODES
            retry = seconds(data.get("retry_after"))
        else:
            detail, config, retry = response.text[:200], False, None
        raise _classify(self.label, response, detail, config=config, retry=retry)


class GoogleChatProvider:
    spec = ProviderSpec("google_chat", "Google Chat (webhook)", ("ops",), (WEBHOOK_FIELD,))
    label = "Google Chat"
    MAX_TEXT = 4096

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        url = webhook_url(self.label, (secrets or {}).get("webhook_url"), base_url,
                          hosts=("chat.googleapis.com",), path_prefix="/v1/spaces/")
        query = dict(parse_qsl(urlsplit(url).query))
        if not query.get("key") or not query.get("token"):
            raise ProviderConfigError("Google Chat: the webhook URL should carry its key and token parameters")
        self.url = url
        self.secrets = (query["key"], query["token"])

    @classmethod
    def payload(cls, message: OutboundMessage) -> dict:
        title, body = title_and_body(message)
        text = "\n".join(part for part in (f"*{title}*" if title else "", body) if part)
        return {"text": truncate(text, cls.MAX_TEXT)}

    def send(self, message: OutboundMessage) -> SendResult:
        response = post_json(self.label, self.url, self.payload(message),
                             content_type="application/json; charset=UTF-8")
        data = json_body(response)
        if 200 <= response.status_code < 300:
            return SendResult(str(data.get("name", "")) if isinstance(data, dict) else "")
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            status, text = str(error.get("status") or ""), str(error.get("message") or "")
            detail = f"{status}: {text}".strip(": ")
            # A 400 about the key ("API key not valid") is the URL's fault, not the message's.
            config = status in ("UNAUTHENTICATED", "PERMISSION_DENIED", "NOT_FOUND") or "API key" in text
        else:
            detail, config = response.text[:200], False
        raise _classify(self.label, response, detail, config=config, secrets=self.secrets)
