"""PagerDuty Events API v2, for ops alerts: each alert triggers (or, with the same dedup_key,
adds to) an alert on the service the routing key belongs to.

POST {base}/v2/enqueue with {"routing_key", "event_action": "trigger", "dedup_key", "payload":
{"summary", "source", "severity", "custom_details"}}. Answers 202 {"status": "success", "message":
"Event processed", "dedup_key"}; 400 {"status": "invalid event", "message", "errors": [...]};
429 when the routing key's rate is exceeded; 5xx when PagerDuty could not take it (retry).
The alert group's idempotency key is the dedup_key, so repeated alerts of a group become one incident.
"""
from __future__ import annotations

import hashlib
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
from webapp.channels.providers.http_pool import json_body, post_json, refused, title_and_body, truncate

LABEL = "PagerDuty"
API_BASE = "https://events.pagerduty.com"
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_DETAILS = 100_000  # an event may be 512 KB in all; alerts are far smaller, this just bounds it
ROUTING_KEY_RE = re.compile(r"^[A-Za-z0-9]{32}$")

SPEC = ProviderSpec("pagerduty", "PagerDuty (Events API v2)", ("ops",), (
    ConfigField("routing_key", "Integration (routing) key, 32 characters", secret=True),
    ConfigField("severity", "Severity: critical, error (default), warning or info", required=False),
))


def dedup_key(key: str) -> str:
    """The idempotency key as it is when it fits PagerDuty's 255 characters, else a stable hash of it."""
    return key if len(key) <= MAX_DEDUP_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class PagerDutyProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.routing_key = str(secrets.get("routing_key") or "").strip()
        if not self.routing_key:
            raise ProviderConfigError("PagerDuty: no routing key configured")
        if not ROUTING_KEY_RE.match(self.routing_key):
            raise ProviderConfigError("PagerDuty: the routing key should be the 32-character integration key "
                                      "of an Events API v2 integration")
        self.severity = str(settings.get("severity") or "error").strip().lower()
        if self.severity not in SEVERITIES:
            raise ProviderConfigError(f"PagerDuty: severity must be one of {', '.join(SEVERITIES)}")
        self.url = f"{(base_url or API_BASE).rstrip('/')}/v2/enqueue"

    def event(self, message: OutboundMessage) -> dict:
        title, body = title_and_body(message)
        summary = truncate(" ".join((title or body or "NotifyHub alert").split()), MAX_SUMMARY)
        return {"routing_key": self.routing_key, "event_action": "trigger",
                "dedup_key": dedup_key(message.idempotency_key),
                "payload": {"summary": summary, "source": "notifyhub", "severity": self.severity,
                            "custom_details": {"details": truncate((message.body or "").strip(), MAX_DETAILS)}},
                "client": "NotifyHub"}

    def send(self, message: OutboundMessage) -> SendResult:
        event = self.event(message)
        response = post_json(LABEL, self.url, event)
        data = json_body(response)
        if 200 <= response.status_code < 300:
            key = data.get("dedup_key") if isinstance(data, dict) else None
            return SendResult(str(key or event["dedup_key"]))
        raise _error(response, data, self.routing_key)


def _error(response: httpx.Response, data, routing_key: str) -> ProviderError:
    if isinstance(data, dict):
        errors = data.get("errors") if isinstance(data.get("errors"), list) else []
        detail = "; ".join(str(part) for part in [data.get("message"), *errors] if part)
    else:
        detail = response.text[:200]
    lowered = detail.lower()
    # 401/403/404 or a complaint about the key: it is unknown, disabled or malformed (or the base URL
    # is wrong), so no event can get through.
    bad_key = "routing_key" in lowered or "routing key" in lowered or "integration key" in lowered
    return refused(LABEL, response, detail or response.reason_phrase, [routing_key], config=bad_key,
                   config_statuses=(401, 403, 404))
