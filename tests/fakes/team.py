"""Local stand-ins for the team/ops chat services: Slack (Web API chat.postMessage and incoming
webhooks), Microsoft Teams (Workflows and legacy connector webhooks), Discord and Google Chat
webhooks, the Telegram Bot API and PagerDuty's Events API v2. Each checks the request the service
documents (method, path, credentials, content type, body fields) and answers with its documented
success and error bodies. `fail_with` makes the next answers a given error instead."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import FakeApi, Recorded, Reply

SLACK_TOKEN = "xoxb-1234567890-0987654321-SlackBotTokenSecret01"
SLACK_CHANNEL = "C0OPSALERTS"
SLACK_HOOK_PATH = "/services/T00000000/B00000000/SlackHookSecretXXXXXXXX"
SLACK_HOOK_URL = f"https://hooks.slack.com{SLACK_HOOK_PATH}"

TEAMS_SIG = "TeamsWorkflowSignatureSecret0123456789"
TEAMS_PATH = "/workflows/5f3c/triggers/manual/paths/invoke"
TEAMS_URL = (f"https://prod-42.westeurope.logic.azure.com{TEAMS_PATH}"
             f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SIG}")

DISCORD_ID = "1234567890123456789"
DISCORD_TOKEN = "DiscordWebhookTokenSecret-0123456789abcdefghij"
DISCORD_URL = f"https://discord.com/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}"

GCHAT_SPACE = "AAAAops1234"
GCHAT_KEY = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
GCHAT_TOKEN = "GoogleChatTokenSecret0123456789abcdef"
GCHAT_URL = f"https://chat.googleapis.com/v1/spaces/{GCHAT_SPACE}/messages?key={GCHAT_KEY}&token={GCHAT_TOKEN}"

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TELEGRAM_CHAT = "-1001234567890"
TELEGRAM_KICKED_CHAT = "-1009999999999"

PAGERDUTY_KEY = "R0UTINGKEY0123456789abcdefABCDEF"


def _json(request: Recorded):
    try:
        return json.loads(request.body)
    except ValueError:
        return None


class FakeSlack(FakeApi):
    """POST /api/chat.postMessage (Bearer bot token, JSON) answering HTTP 200 {"ok": ...}, and
    POST /services/T…/B…/… incoming webhooks answering 200 "ok" or a plain-text error code."""

    def handle(self, request):
        if request.path.startswith("/services/"):
            return self._webhook(request)
        if request.method != "POST" or request.path != "/api/chat.postMessage":
            return Reply(404, b"")
        auth = request.headers.get("Authorization")
        if not auth:
            return Reply(200, {"ok": False, "error": "not_authed"})
        if auth != f"Bearer {SLACK_TOKEN}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return Reply(200, {"ok": False, "error": "invalid_form_data"})
        body = _json(request) or {}
        if self.fail_with:
            return self.fail_with
        if body.get("channel") != SLACK_CHANNEL:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        if not body.get("text") and not body.get("blocks"):
            return Reply(200, {"ok": False, "error": "no_text"})
        ts = f"1700000000.{len(self.messages) + 1:06d}"
        self.messages.append({**body, "ts": ts})
        return Reply(200, {"ok": True, "channel": SLACK_CHANNEL, "ts": ts,
                           "message": {"type": "message", "subtype": "bot_message", "text": body["text"],
                                       "ts": ts, "bot_id": "B0NOTIFYHUB"}})

    def _webhook(self, request):
        if request.method != "POST":
            return Reply(405, b"invalid_method")
        if request.path != SLACK_HOOK_PATH:
            return Reply(404, b"no_service")
        if self.fail_with:
            return self.fail_with
        body = _json(request)
        if not request.headers.get("Content-Type", "").startswith("application/json") or not isinstance(body, dict) \
                or not (body.get("text") or body.get("blocks")):
            return Reply(400, b"invalid_payload")
        self.messages.append(body)
        return Reply(200, b"ok")


class FakeTeams(FakeApi):
    """A Workflows (Power Automate) webhook: POST the signed trigger URL with the Adaptive Card
    "message" envelope; 202 Accepted and a run id. `legacy = True` answers like an Office 365
    connector webhook instead: 200 with the body "1"."""

    def __init__(self):
        super().__init__()
        self.legacy = False

    def handle(self, request):
        parts = urlsplit(request.path)
        if request.method != "POST" or parts.path != TEAMS_PATH:
            return Reply(404, {"error": {"code": "WorkflowNotFound",
                                         "message": "The workflow could not be found."}})
        if parse_qs(parts.query).get("sig") != [TEAMS_SIG]:
            return Reply(401, {"error": {"code": "DirectApiAuthorizationRequired",
                                         "message": "The request must be authenticated only by Shared Access "
                                                    "scheme."}})
        if self.fail_with:
            return self.fail_with
        body = _json(request)
        ok = (request.headers.get("Content-Type", "").startswith("application/json") and isinstance(body, dict)
              and body.get("type") == "message" and len(body.get("attachments") or []) == 1)
        if ok:
            attachment = body["attachments"][0]
            card = attachment.get("content") or {}
            ok = (attachment.get("contentType") == "application/vnd.microsoft.card.adaptive"
                  and card.get("type") == "AdaptiveCard" and card.get("version")
                  and card.get("body") and all(b.get("type") == "TextBlock" and b.get("text") for b in card["body"]))
        if not ok:
            return Reply(400, {"error": {"code": "TriggerInputSchemaMismatch",
                                         "message": "The input body for trigger 'manual' of type 'Request' did not "
                                                    "match its schema definition."}})
        self.messages.append(body)
        if self.legacy:
            return Reply(200, b"1")
        return Reply(202, b"", {"x-ms-workflow-run-id": f"08584{len(self.messages):015d}CU00"})


class FakeDiscord(FakeApi):
    """POST /api/webhooks/{id}/{token}?wait=true, JSON; 200 with the message object."""

    def handle(self, request):
        parts = urlsplit(request.path)
        prefix = f"/api/webhooks/{DISCORD_ID}/"
        if request.method != "POST" or not parts.path.startswith("/api/webhooks/"):
            return Reply(404, {"message": "404: Not Found", "code": 0})
        if not parts.path.startswith(prefix):
            return Reply(404, {"message": "Unknown Webhook", "code": 10015})
        if parts.path != prefix + DISCORD_TOKEN:
            return Reply(401, {"message": "Invalid Webhook Token", "code": 50027})
        if self.fail_with:
            return self.fail_with
        body = _json(request)
        if not request.headers.get("Content-Type", "").startswith("application/json") or not isinstance(body, dict):
            return Reply(400, {"message": "Cannot send an empty message", "code": 50006})
        content = body.get("content") or ""
        if not content and not body.get("embeds"):
            return Reply(400, {"message": "Cannot send an empty message", "code": 50006})
        if len(content.encode("utf-16-le")) // 2 > 2000:
            return Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": {"content": {"_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}})
        assert body.get("allowed_mentions") == {"parse": []}, "alerts must not ping anyone"
        if parse_qs(parts.query).get("wait") != ["true"]:
            self.messages.append(body)
            return Reply(204, b"")
        message_id = str(1180000000000000000 + len(self.messages) + 1)
        self.messages.append({**body, "id": message_id})
        return Reply(200, {"id": message_id, "type": 0, "content": content, "channel_id": "1100000000000000001",
                           "webhook_id": DISCORD_ID, "author": {"id": DISCORD_ID, "username": "NotifyHub",
                                                                "bot": True},
                           "timestamp": "2026-11-22T10:00:00.000000+00:00", "mentions": [], "embeds": []})


class FakeGoogleChat(FakeApi):
    """POST /v1/spaces/{space}/messages?key=…&token=…, JSON UTF-8; 200 with the Message resource."""

    def handle(self, request):
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if request.method != "POST" or parts.path != f"/v1/spaces/{GCHAT_SPACE}/messages":
            return Reply(404, {"error": {"code": 404, "message": "Requested entity was not found.",
                                         "status": "NOT_FOUND"}})
        if query.get("key") != GCHAT_KEY:
            return Reply(400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                         "status": "INVALID_ARGUMENT"}})
        if query.get("token") != GCHAT_TOKEN:
            return Reply(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                         "status": "UNAUTHENTICATED"}})
        if self.fail_with:
            return self.fail_with
        assert request.headers.get("Content-Type") == "application/json; charset=UTF-8"
        body = _json(request)
        if not isinstance(body, dict) or not body.get("text"):
            return Reply(400, {"error": {"code": 400, "message": "Message cannot be empty. Discarding empty "
                                         "create message request.", "status": "INVALID_ARGUMENT"}})
        name = f"spaces/{GCHAT_SPACE}/messages/msg{len(self.messages) + 1}.msg{len(self.messages) + 1}"
        self.messages.append({**body, "name": name})
        return Reply(200, {"name": name, "sender": {"name": "users/114022495153014004089", "type": "BOT"},
                           "text": body["text"], "createTime": "2026-11-22T10:00:00.000000Z",
                           "space": {"name": f"spaces/{GCHAT_SPACE}", "type": "ROOM"},
                           "thread": {"name": f"spaces/{GCHAT_SPACE}/threads/t{len(self.messages)}"}})


class FakeTelegram(FakeApi):
    """POST /bot{token}/sendMessage, JSON {chat_id, text}; {"ok": true, "result": Message}."""

    def handle(self, request):
        if request.method != "POST" or not request.path.startswith("/bot"):
            return Reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, _, method = request.path[len("/bot"):].partition("/")
        if token != TELEGRAM_TOKEN:
            return Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method != "sendMessage":
            return Reply(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
        if self.fail_with:
            return self.fail_with
        assert request.headers.get("Content-Type", "").startswith("application/json")
        body = _json(request) or {}
        assert "parse_mode" not in body, "alerts go as plain text"
        chat_id = str(body.get("chat_id", ""))
        if chat_id == TELEGRAM_KICKED_CHAT:
            return Reply(403, {"ok": False, "error_code": 403,
                               "description": "Forbidden: bot was kicked from the supergroup chat"})
        if chat_id != TELEGRAM_CHAT:
            return Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        text = body.get("text") or ""
        if not text.strip():
            return Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"})
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"})
        message_id = len(self.messages) + 101
        self.messages.append({**body, "message_id": message_id})
        return Reply(200, {"ok": True, "result": {
            "message_id": message_id, "date": 1700000000, "text": text,
            "from": {"id": 123456789, "is_bot": True, "first_name": "NotifyHub", "username": "notifyhub_bot"},
            "chat": {"id": int(TELEGRAM_CHAT), "title": "Acme ops", "type": "supergroup"}}})


class FakePagerDuty(FakeApi):
    """POST /v2/enqueue, JSON event; 202 {"status": "success", "message": "Event processed", "dedup_key"}."""

    def handle(self, request):
        if request.method != "POST" or request.path != "/v2/enqueue":
            return Reply(404, {"status": "Not found", "message": "Not found"})
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return Reply(400, {"status": "invalid event", "message": "Event object is invalid",
                               "errors": ["Request body is not valid JSON"]})
        if self.fail_with:
            return self.fail_with
        event = _json(request) or {}
        errors = []
        key = event.get("routing_key") or ""
        if len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        elif key != PAGERDUTY_KEY:
            errors.append("Invalid routing key")
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is missing or blank")
        payload = event.get("payload") or {}
        for field in ("summary", "source", "severity"):
            if not payload.get(field):
                errors.append(f"'payload.{field}' is missing or blank")
        if payload.get("severity") and payload["severity"] not in ("critical", "error", "warning", "info"):
            errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
        if len(payload.get("summary") or "") > 1024:
            errors.append("'payload.summary' is too long (must be at most 1024 characters)")
        if len(event.get("dedup_key") or "") > 255:
            errors.append("'dedup_key' is too long (must be at most 255 characters)")
        if errors:
            return Reply(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})
        dedup_key = event.get("dedup_key") or f"generated-{len(self.messages) + 1}"
        self.messages.append(event)
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key})
