"""A local stand-in for 360dialog's WhatsApp Cloud API proxy (POST /messages with D360-API-KEY),
answering Cloud API successes and Graph-API-shaped errors."""
from __future__ import annotations

import json

from tests.fakes.http import FakeApi, Recorded, Reply

D360_KEY = "d360-api-key-0123456789"


def graph_error(code: int, message: str, details: str, status: int = 400, error_type: str = "OAuthException",
                headers: dict | None = None) -> Reply:
    return Reply(status, {"error": {"message": f"(#{code}) {message}", "type": error_type, "code": code,
                                    "error_data": {"messaging_product": "whatsapp", "details": details},
                                    "fbtrace_id": "AazB4-fake-trace"}}, headers or {})


class FakeDialog360(FakeApi):
    def __init__(self, allowed: set[str] | None = None, templates: set[str] = frozenset({"order_update"})):
        super().__init__()
        # Test numbers may only message an allow-list of recipients (Meta error 131030).
        self.allowed = allowed
        self.templates = templates

    def handle(self, request: Recorded) -> Reply:
        if request.headers.get("D360-API-KEY") != D360_KEY:
            return Reply(401, {"meta": {"success": False, "http_code": 401, "developer_message": "Invalid api_key"}})
        if request.method != "POST" or request.path != "/messages":
            return Reply(404, {"meta": {"success": False, "http_code": 404, "developer_message": "Not found"}})
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return graph_error(100, "Invalid parameter", "Content-Type must be application/json")
        payload = json.loads(request.body)
        if self.fail_with:
            return self.fail_with
        if payload.get("messaging_product") != "whatsapp" or payload.get("recipient_type") != "individual":
            return graph_error(100, "Invalid parameter", "messaging_product must be whatsapp")
        to = payload.get("to", "")
        if not to.isdigit():
            return graph_error(100, "Invalid parameter", "Parameter 'to' must be a phone number")
        if self.allowed is not None and to not in self.allowed:
            return graph_error(131030, "Recipient phone number not in allowed list",
                               "Recipient phone number not in allowed list: Add recipient phone number to "
                               "recipient list and try again.")
        if payload.get("type") == "text":
            if not payload.get("text", {}).get("body"):
                return graph_error(100, "Invalid parameter", "text.body is required")
        elif payload.get("type") == "template":
            template = payload.get("template", {})
            if template.get("name") not in self.templates:
                return graph_error(132001, "Template name does not exist in the translation",
                                   f"template name ({template.get('name')}) does not exist in "
                                   f"{template.get('language', {}).get('code')}", status=404)
        else:
            return graph_error(131051, "Unsupported message type", "Message type is not currently supported")
        message_id = f"wamid.HBgLMTYxMzU1NTAxNDIVAgARGBI{len(self.messages) + 1:04d}"
        self.messages.append({**payload, "id": message_id})
        return Reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                           "messages": [{"id": message_id}]})

    def reset(self):
        super().reset()
        self.allowed = None
