"""A local stand-in for Mailgun's messages API (POST /v3/{domain}/messages), checking Basic auth
`api:<key>` and the form fields, and answering like Mailgun: 200 {"id", "message"}, 401 "Forbidden",
400 {"message": ...} for a bad address, 404 for an unknown domain."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

from tests.fakes.http import FakeServer, Recorded, Reply

MAILGUN_DOMAIN = "mg.acme.test"
MAILGUN_KEY = "key-0123456789abcdef0123456789abcdef"


class FakeMailgun:
    def __init__(self):
        self.messages: list[dict[str, list[str]]] = []
        self.fail_with: Reply | None = None
        self.server = FakeServer(self.handle)
        self.url = self.server.url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def reset(self) -> None:
        self.messages.clear()
        self.server.requests.clear()
        self.fail_with = None

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

    def close(self) -> None:
        self.server.close()
