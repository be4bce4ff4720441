"""Vonage SMS API's requests to us: delivery receipts (/status) and inbound SMS (/inbound).

Both are verified as Vonage's signed webhooks: with signing on for the account, every request
carries `sig`, `timestamp` and `nonce`; `sig` is computed over every other parameter, sorted by
name, each written "&name=value" with "&" and "=" in values replaced by "_", then either MD5 of
that string followed by the signature secret ("md5hash", Vonage's default) or an HMAC of it keyed
with the secret (md5, sha1, sha256, sha512), compared without regard to case
(developer.vonage.com/en/getting-started/concepts/signing-messages). Without a signature secret
configured nothing is accepted. Parameters arrive as a query string (GET), a form or JSON (POST).
"""
from __future__ import annotations

import hashlib
import hmac

from webapp.channels.providers.callbacks import (
    FORBIDDEN,
    CallbackContext,
    ConsentSignal,
    InboundRequest,
    ParsedCallback,
    Receipt,
    ReplayKey,
    fresh,
    keyword_signal,
)

HMAC_METHODS = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
# DLR statuses: final ones change the notification; "buffered" is a delay worth showing; "accepted"
# (taken by the network) and "unknown" say nothing new.
OUTCOMES = {"delivered": "delivered", "expired": "undelivered", "failed": "failed", "rejected": "failed",
            "undelivered": "undelivered", "buffered": "deferred"}
ERRORS = {"1": "unknown", "2": "absent subscriber (temporary)", "3": "absent subscriber (permanent)",
          "4": "call barred by user", "5": "portability error", "6": "anti-spam rejection", "7": "handset busy",
          "8": "network error", "9": "illegal number", "10": "illegal message", "11": "unroutable",
          "12": "destination unreachable", "13": "subscriber age restriction", "14": "number blocked by carrier",
          "15": "prepaid insufficient funds", "99": "general error"}


def params_of(request: InboundRequest) -> dict[str, str]:
    body = request.json() if request.header("Content-Type").startswith("application/json") else None
    source = body if isinstance(body, dict) else request.form
    return {str(k): "" if v is None else str(v) for k, v in source.items()}


def signature(params: dict[str, str], secret: str, method: str = "md5hash") -> str:
    text = "".join(f"&{key}={str(params[key]).replace('&', '_').replace('=', '_')}"
                   for key in sorted(params) if key != "sig")
    if method == "md5hash":
        return hashlib.md5((text + secret).encode()).hexdigest()  # noqa: S324 - Vonage's documented scheme
    return hmac.new(secret.encode(), text.encode(), HMAC_METHODS[method]).hexdigest()


class VonageCallbacks:
    kinds = ("status", "inbound")

    def verify(self, request: InboundRequest, context: CallbackContext) -> bool:
        params = params_of(request)
        given = params.get("sig", "").lower()
        if not given or not fresh(params.get("timestamp")):
            return False
        for account in context.accounts:
            secret = account.value("signature_secret")
            method = account.value("signature_method").lower() or "md5hash"
            if secret and (method == "md5hash" or method in HMAC_METHODS) and \
                    hmac.compare_digest(signature(params, secret, method).lower(), given):
                return True
        return False

    def rejected(self, request: InboundRequest):
        return FORBIDDEN

    def parse(self, request: InboundRequest, context: CallbackContext) -> ParsedCallback:
        params = params_of(request)
        replay = (ReplayKey("vonage", params["nonce"]),) if params.get("nonce") else ()
        if request.kind == "inbound":
            return ParsedCallback(consent=_inbound(params), replay_keys=replay)
        return ParsedCallback(receipts=_receipt(params), replay_keys=replay)


def _receipt(params: dict[str, str]) -> tuple[Receipt, ...]:
    status, message_id = params.get("status", "").lower(), params.get("messageId", "")
    outcome = OUTCOMES.get(status)
    if not (outcome and message_id):
        return ()
    code = params.get("err-code", "")
    detail = f"Vonage status {status}" + (f", error {code} ({ERRORS.get(code, 'unlisted')})" if code not in ("", "0")
                                          else "")
    key = ReplayKey("vonage-dlr", f"{message_id}:{status}:{code}")
    return (Receipt((message_id,), outcome, detail, replay_key=key),)


def _inbound(params: dict[str, str]) -> tuple[ConsentSignal, ...]:
    signal = keyword_signal("sms", params.get("msisdn"), params.get("text"), "vonage inbound",
                            params.get("messageId"), "vonage-inbound")
    return (signal,) if signal else ()
