"""Telegram, for ops alerts: a bot posts to the configured chat through the Bot API.

POST {base}/bot<token>/sendMessage with JSON {chat_id, text}; parse_mode is left off, so the alert
is sent as plain text and nothing in it needs escaping. Answers {"ok": true, "result": {message_id}}
or {"ok": false, "error_code", "description", "parameters": {"retry_after", "migrate_to_chat_id"}}.

The token is part of the URL path. No reason built here quotes the URL or an httpx exception (whose
text includes the URL), and the token is masked in anything the API echoes back.
"""
from __future__ import annotations

import re

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
    classify,
    json_body,
    post_json,
    reason,
    retry_after,
    seconds,
    title_and_body,
    truncate,
)

LABEL = "Telegram"
API_BASE = "https://api.telegram.org"
MAX_TEXT = 4096
TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
CHAT_RE = re.compile(r"^(-?\d+|@[A-Za-z][A-Za-z0-9_]{3,})$")
# 400 descriptions that mean the configured chat is wrong, not this message.
CHAT_PROBLEMS = ("chat not found", "chat_id is empty", "upgraded to a supergroup", "peer_id_invalid",
                 "not enough rights", "have no rights", "need administrator rights", "chat_write_forbidden",
                 "group chat was deactivated", "user not found")

SPEC = ProviderSpec("telegram", "Telegram (bot)", ("ops",), (
    ConfigField("bot_token", "Bot token (from @BotFather)", secret=True),
    ConfigField("chat_id", "Chat ID (e.g. -1001234567890) or @channelusername"),
))


class TelegramProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.token = str(secrets.get("bot_token") or "").strip()
        self.chat_id = str(settings.get("chat_id") or "").strip()
        if not self.token:
            raise ProviderConfigError("Telegram: no bot token configured")
        if not TOKEN_RE.match(self.token):
            raise ProviderConfigError("Telegram: the bot token should look like 123456789:AA… (as @BotFather gives it)")
        if not self.chat_id:
            raise ProviderConfigError("Telegram: no chat ID configured")
        if not CHAT_RE.match(self.chat_id):
            raise ProviderConfigError("Telegram: the chat ID should be a number (e.g. -1001234567890) "
                                      "or a @channelusername")
        self.url = f"{(base_url or API_BASE).rstrip('/')}/bot{self.token}/sendMessage"

    @staticmethod
    def text(message: OutboundMessage) -> str:
        title, body = title_and_body(message)
        return truncate("\n\n".join(part for part in (title, body) if part), MAX_TEXT, utf16=True)

    def send(self, message: OutboundMessage) -> SendResult:
        chat: int | str = int(self.chat_id) if self.chat_id.lstrip("-").isdigit() else self.chat_id
        response = post_json(LABEL, self.url, {"chat_id": chat, "text": self.text(message),
                                               "link_preview_options": {"is_disabled": True}})
        data = json_body(response)
        if response.status_code == 200 and isinstance(data, dict) and data.get("ok") is True:
            result = data.get("result") if isinstance(data.get("result"), dict) else {}
            return SendResult(f"{result.get('chat', {}).get('id', self.chat_id)}:{result.get('message_id', '')}")
        raise _error(response, data, self.token)


def _error(response: httpx.Response, data, token: str) -> ProviderError:
    if isinstance(data, dict):
        code = data.get("error_code") if isinstance(data.get("error_code"), int) else response.status_code
        description = str(data.get("description") or "")
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
    else:
        code, description, parameters = response.status_code, response.text[:200], {}
    detail = description or response.reason_phrase
    if parameters.get("migrate_to_chat_id"):
        detail += f" (the chat is now {parameters['migrate_to_chat_id']}: update the chat ID)"
    why = reason(LABEL, code, detail, [token])
    wait = seconds(parameters.get("retry_after"))
    # 401: the token is wrong or revoked; 404: the token is malformed (or the base URL is wrong);
    # 403: the bot was blocked, kicked or never added. All mean the configuration cannot deliver.
    chat_problem = code == 400 and any(p in description.lower() for p in CHAT_PROBLEMS)
    return classify(code, why, wait if wait is not None else retry_after(response), config=chat_problem,
                    config_statuses=(401, 403, 404))
