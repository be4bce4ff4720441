"""Local stand-ins for Twilio's Messages API and SendGrid's v3 mail/send, checking the request
each documents and answering with their documented success and error bodies."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from tests.fakes.http import FakeApi, Reply

TWILIO_SID = "AC00000000000000000000000000000001"
TWILIO_TOKEN = "twilio-auth-token-0123456789"
SENDGRID_KEY = "SG.test-key.0123456789abcdef"


class FakeTwilio(FakeApi):
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth SID:token, form body."""

    def handle(self, request):
        expected_auth = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected_auth:
            return Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if request.method != "POST" or request.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return Reply(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if self.fail_with:
            return self.fail_with
        if not form.get("To", "").removeprefix("whatsapp:").startswith("+"):
            return Reply(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                               "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
        assert form.get("Body") and (form.get("From") or form.get("MessagingServiceSid"))
        sid = f"SM{len(self.messages) + 1:032d}"
        self.messages.append({**form, "sid": sid})
        return Reply(201, {"sid": sid, "account_sid": TWILIO_SID, "to": form["To"], "from": form.get("From"),
                           "body": form["Body"], "status": "queued", "num_segments": "1",
                           "messaging_service_sid": form.get("MessagingServiceSid"),
                           "uri": f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{sid}.json"})


class FakeSendGrid(FakeApi):
    """POST /v3/mail/send with `Authorization: Bearer <key>` and a JSON body; 202 and X-Message-Id.

    A body the v3 reference or its documented limits refuse is answered 400 with SendGrid's error
    shape: more than 1,000 personalizations or recipients, an address twice, substitutions over
    10,000 bytes in a personalization or not strings, reserved headers, custom args over 10,000 bytes,
    no subject, no content or text/plain not first. `deliveries` holds what each recipient would get:
    the personalization's substitutions applied to the subject and the text and HTML content (not to
    headers, which substitutions do not reach), the mail's headers and custom args overlaid with the
    personalization's.

    With keep_alive=True the server speaks HTTP/1.1 and keeps connections open, as SendGrid does, and
    `connections` counts the TCP connections it accepted (to check clients reuse them)."""

    def __init__(self, keep_alive: bool = False):
        super().__init__(keep_alive)
        self.mails: list[dict] = self.messages  # the same list: SendGrid sends mails
        self.deliveries: list[dict] = []

    def reset(self) -> None:
        super().reset()
        self.deliveries.clear()

    def handle(self, request):
        if request.headers.get("Authorization") != f"Bearer {SENDGRID_KEY}":
            return Reply(401, {"errors": [{"message": "The provided authorization grant is invalid, expired, "
                                                      "or revoked", "field": None, "help": None}]})
        if request.method != "POST" or request.path != "/v3/mail/send":
            return Reply(404, {"errors": [{"message": "not found"}]})
        # Header names are case-insensitive: urllib-built requests send "Content-type".
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers["content-type"] == "application/json"
        if self.fail_with:
            return self.fail_with
        mail = json.loads(request.body)
        problem = sendgrid_problem(mail)
        if problem:
            field, message = problem
            return Reply(400, {"errors": [{"message": message, "field": field, "help": None}]})
        self.mails.append(mail)
        message_id = f"sg-{len(self.mails)}"
        self.deliveries.extend(sendgrid_deliveries(mail, message_id))
        return Reply(202, b"", {"X-Message-Id": message_id})


SENDGRID_PERSONALIZATIONS = 1000  # per request, and as many recipients (to + cc + bcc) in all
SENDGRID_SUBSTITUTION_BYTES = 10_000  # per personalization
SENDGRID_CUSTOM_ARG_BYTES = 10_000
SENDGRID_RESERVED_HEADERS = {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
                             "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc"}


def sendgrid_problem(mail: dict) -> tuple[str, str] | None:
    """(field, message) for what SendGrid would refuse in a mail/send body, else None."""
    personalizations = mail.get("personalizations") or []
    if not personalizations:
        return "personalizations", "You must have at least one personalization."
    if len(personalizations) > SENDGRID_PERSONALIZATIONS:
        return "personalizations", (f"The personalization block is limited to 1000 personalizations per API "
                                    f"request. You have provided {len(personalizations)} personalizations.")
    return (_addresses_problem(personalizations) or _content_problem(mail)
            or _strings_problem("headers", mail.get("headers"), None) or _custom_args_problem(mail, {})
            or next(filter(None, (_personalization_problem(i, p, mail) for i, p in enumerate(personalizations))),
                    None))


def _addresses_problem(personalizations: list[dict]) -> tuple[str, str] | None:
    addresses = [r.get("email", "") for p in personalizations for kind in ("to", "cc", "bcc") for r in p.get(kind, [])]
    if len(addresses) > SENDGRID_PERSONALIZATIONS:
        return "personalizations", "There is a limit of 1000 total recipients (to + cc + bcc) per request."
    if any(not p.get("to") for p in personalizations):
        return "personalizations.to", "The to parameter is required for all personalization objects."
    if any(not isinstance(a, str) or "@" not in a for a in addresses):
        return "personalizations.to.email", "Does not contain a valid address."
    if len({a.lower() for a in addresses}) != len(addresses):
        return "personalizations", ("Each unique email address in the personalizations array should only be "
                                    "included once. You have included email address more than once.")
    return None


def _content_problem(mail: dict) -> tuple[str, str] | None:
    content = mail.get("content") or []
    if not content or any(not isinstance(c.get("value"), str) or not c["value"] for c in content):
        return "content", "Unless a valid template_id is provided, the content parameter is required."
    types = [c.get("type") for c in content]
    if "text/plain" in types and types[0] != "text/plain":
        return "content", "If present, text/plain content must be first, followed by text/html."
    if not mail.get("subject") and any(not p.get("subject") for p in mail["personalizations"]):
        return "subject", "The subject is required."
    return None


def _personalization_problem(index: int, personalization: dict, mail: dict) -> tuple[str, str] | None:
    where = f"personalizations.{index}"
    substitutions = personalization.get("substitutions")
    if substitutions is not None:
        if str(mail.get("template_id", "")).startswith("d-"):
            return f"{where}.substitutions", "Substitutions may not be used with dynamic templating"
        problem = _strings_problem(f"{where}.substitutions", substitutions, SENDGRID_SUBSTITUTION_BYTES)
        if problem:
            return problem
    return (_strings_problem(f"{where}.headers", personalization.get("headers"), None)
            or _custom_args_problem(mail, personalization))


def _strings_problem(field: str, values, limit: int | None) -> tuple[str, str] | None:
    if values is None:
        return None
    if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        return field, "Values must be strings."
    reserved = sorted(name for name in values if name.lower() in SENDGRID_RESERVED_HEADERS)
    if field.endswith("headers") and reserved:
        return field, f"These headers are reserved and cannot be set: {', '.join(reserved)}"
    if limit is not None and len(json.dumps(values)) > limit:
        return field, (f"The total collective size of your substitutions may not exceed {limit} bytes per "
                       "personalization object.")
    return None


def _custom_args_problem(mail: dict, personalization: dict) -> tuple[str, str] | None:
    args = {**(mail.get("custom_args") or {}), **(personalization.get("custom_args") or {})}
    if not all(isinstance(v, str) for v in args.values()):
        return "custom_args", "Values must be strings."
    if len(json.dumps(args)) >= SENDGRID_CUSTOM_ARG_BYTES:
        return "custom_args", "The total length of custom arguments must be less than 10000 bytes."
    return None


def sendgrid_deliveries(mail: dict, message_id: str) -> list[dict]:
    """What each recipient of an accepted mail receives, as SendGrid would build it."""
    parts = {c["type"]: c["value"] for c in mail["content"]}
    deliveries = []
    for personalization in mail["personalizations"]:
        substitutions = personalization.get("substitutions") or {}

        def substituted(text, substitutions=substitutions):
            for key, value in substitutions.items():
                text = text.replace(key, value)
            return text

        for recipient in personalization["to"]:
            deliveries.append({
                "to": recipient["email"], "message_id": message_id,
                "subject": substituted(personalization.get("subject") or mail.get("subject") or ""),
                "html": substituted(parts.get("text/html", "")),
                "text": substituted(parts["text/plain"]) if "text/plain" in parts else None,
                "headers": {**(mail.get("headers") or {}), **(personalization.get("headers") or {})},
                "custom_args": {**(mail.get("custom_args") or {}), **(personalization.get("custom_args") or {})},
            })
    return deliveries
