"""Plivo's requests to us: message status (/status, the `url` given when sending) and inbound
messages (/inbound, the number's message_url).

Verified with Plivo's signature V3: X-Plivo-Signature-V3 is base64(HMAC-SHA256(auth token,
string + "." + X-Plivo-Signature-V3-Nonce)); for a POST the string is the URL without its query,
"?", the URL's own query parameters sorted ("k=v&…") and "." when it has any, then the posted
parameters sorted by name, each written name + value with no separator; for a GET it is the URL
without its query, "?", and all query parameters sorted ("k=v&…"). The header may carry several
signatures separated by commas (docs.plivo.com, signature validation; plivo-python signature_v3).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit

from webapp.channels.providers.callbacks import (
    FORBIDDEN,
    CallbackContext,
    ConsentSignal,
    InboundRequest,
    ParsedCallback,
    Receipt,
    ReplayKey,
    keyword_signal,
)

OUTCOMES = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed", "rejected": "failed",
            "read": "opened"}


def signed_string(method: str, url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    query = sorted(parse_qsl(parts.query, keep_blank_values=True))
    if method.upper() == "GET":
        merged = sorted({*query, *params.items()})
        return f"{base}?{'&'.join(f'{k}={v}' for k, v in merged)}" if merged else base
    if not params:
        return f"{base}?{'&'.join(f'{k}={v}' for k, v in query)}" if query else base
    own = "&".join(f"{k}={v}" for k, v in query)
    return f"{base}?{own + '.' if own else ''}{''.join(k + params[k] for k in sorted(params))}"


def signature_v3(auth_token: str, method: str, url: str, params: dict[str, str], nonce: str) -> str:
    digest = hmac.new(auth_token.encode(), f"{signed_string(method, url, params)}.{nonce}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


class PlivoCallbacks:
    kinds = ("status", "inbound")

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        given = [s.strip() for s in request.header("X-Plivo-Signature-V3").split(",") if s.strip()]
        nonce = request.header("X-Plivo-Signature-V3-Nonce")
        if not (given and nonce):
            return False
        params = {} if request.method == "GET" else dict(request.form)
        for account in context.accounts:
            token = account.value("auth_token")
            if token:
                expected = signature_v3(token, request.method, request.url, params, nonce)
                if any(hmac.compare_digest(expected, s) for s in given):
                    return True
        return False

    def rejected(self, request: InboundRequest):
        return FORBIDDEN

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback:
        params = dict(request.form)
        if request.kind == "inbound":
            return ParsedCallback(consent=_inbound(params))
        return ParsedCallback(receipts=_receipt(params))


def _receipt(params: dict[str, str]) -> tuple[Receipt, ...]:
    status, uuid = params.get("Status", "").lower(), params.get("MessageUUID", "")
    outcome = OUTCOMES.get(status)
    if not (outcome and uuid):
        return ()
    code = params.get("ErrorCode", "")
    detail = f"Plivo status {status}" + (f", error {code}" if code and code != "000" else "")
    return (Receipt((uuid,), outcome, detail, replay_key=ReplayKey("plivo-status", f"{uuid}:{status}")),)


def _inbound(params: dict[str, str]) -> tuple[ConsentSignal, ...]:
    channel = "whatsapp" if params.get("Type", "").lower() == "whatsapp" else "sms"
    signal = keyword_signal(channel, params.get("From"), params.get("Text"), "plivo inbound",
                            params.get("MessageUUID"), "plivo-inbound")
    return (signal,) if signal else ()
