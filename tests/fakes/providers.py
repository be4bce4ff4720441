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

    With keep_alive=True the server speaks HTTP/1.1 and keeps connections open, as SendGrid does, and
    `connections` counts the TCP connections it accepted (to check clients reuse them)."""

    def __init__(self, keep_alive: bool = False):
        super().__init__(keep_alive)
        self.mails: list[dict] = self.messages  # the same list: SendGrid sends mails

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
        self.mails.append(mail)
        return Reply(202, b"", {"X-Message-Id": f"sg-{len(self.mails)}"})
