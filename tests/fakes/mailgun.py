"""A local stand-in for Mailgun's messages API (POST /v3/{domain}/messages), checking Basic auth
`api:<key>` and the form fields, and answering like Mailgun: 200 {"id", "message"}, 401 "Forbidden",
400 {"message": ...} for a bad address, 404 for an unknown domain.

With keep_alive=True the server speaks HTTP/1.1 and keeps connections open, as Mailgun does, and
`connections` counts the TCP connections it accepted (to check clients reuse them)."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from tests.fakes.http import FakeApi, Recorded, Reply

MAILGUN_DOMAIN = "mg.acme.test"
MAILGUN_KEY = "key-0123456789abcdef0123456789abcdef"


class FakeMailgun(FakeApi):
    def handle(self, request: Recorded) -> Reply:
        expected = "Basic " + base64.b64encode(f"api:{MAILGUN_KEY}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Reply(401, b"Forbidden")
        if request.method != "POST" or request.path != f"/v3/{MAILGUN_DOMAIN}/messages":
            return Reply(404, {"message": "Domain not found"})
        if not request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return Reply(400, {"message": "Expected form data"})
        if self.fail_with:
            return self.fail_with
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        if not (form.get("from") and form.get("to") and (form.get("html") or form.get("text"))):
            return Reply(400, {"message": "from parameter is missing"})
        if any("@" not in address for address in form["to"]):
            return Reply(400, {"message": "to parameter is not a valid address. please check documentation"})
        if len(form["to"]) > 1:
            variables = json.loads(form["recipient-variables"][0])
            assert set(variables) == set(form["to"])
        message_id = f"<20261122.{len(self.messages) + 1}@{MAILGUN_DOMAIN}>"
        self.messages.append(form)
        return Reply(200, {"id": message_id, "message": "Queued. Thank you."})
