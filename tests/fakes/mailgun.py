"""A local stand-in for Mailgun's messages API (POST /v3/{domain}/messages), checking Basic auth
`api:<key>` and the form fields, and answering like Mailgun: 200 {"id", "message"}, 401 "Forbidden",
400 {"message": ...} for a bad address, 404 for an unknown domain.

A batch (several `to`) must carry `recipient-variables`, a JSON object keyed by exactly those
addresses (Mailgun answers 400 to JSON it cannot read, and refuses more than 1,000 recipients), and
every %recipient.name% the subject, HTML, text or v: fields use must be defined for each recipient;
the fake also refuses "%recipient" in an h: header, where Mailgun does not document substituting
it. `deliveries` holds what each recipient gets: the variables applied to the subject, HTML, text
and v: fields, the h: headers as sent.

With keep_alive=True the server speaks HTTP/1.1 and keeps connections open, as Mailgun does, and
`connections` counts the TCP connections it accepted (to check clients reuse them)."""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs

from tests.fakes.http import FakeApi, Recorded, Reply

MAILGUN_DOMAIN = "mg.acme.test"
MAILGUN_KEY = "key-0123456789abcdef0123456789abcdef"
MAILGUN_BATCH_LIMIT = 1000
VARIABLE = re.compile(r"%recipient\.([A-Za-z0-9_-]+)%")


class FakeMailgun(FakeApi):
    def __init__(self, keep_alive: bool = False):
        super().__init__(keep_alive)
        self.deliveries: list[dict] = []

    def reset(self) -> None:
        super().reset()
        self.deliveries.clear()

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
        if len(form["to"]) > MAILGUN_BATCH_LIMIT:
            return Reply(400, {"message": "Too many recipients: the maximum for batch sending is 1000"})
        variables = recipient_variables(form)
        if variables is None:
            return Reply(400, {"message": "recipient-variables parameter is not a valid JSON"})
        message_id = f"<20261122.{len(self.messages) + 1}@{MAILGUN_DOMAIN}>"
        self.messages.append(form)
        self.deliveries.extend(mailgun_deliveries(form, variables, message_id))
        return Reply(200, {"id": message_id, "message": "Queued. Thank you."})


def recipient_variables(form: dict) -> dict | None:
    """Each recipient's variables ({} for a single message without them); None for unreadable JSON."""
    if "recipient-variables" not in form:
        # Without them Mailgun sends one message showing every address: the product must not.
        assert len(form["to"]) == 1, "a batch without recipient-variables shows every recipient to all"
        return {form["to"][0]: {}}
    try:
        variables = json.loads(form["recipient-variables"][0])
    except ValueError:
        return None
    if not isinstance(variables, dict) or not all(isinstance(v, dict) for v in variables.values()):
        return None
    assert set(variables) == set(form["to"]), "recipient-variables are keyed by exactly the `to` addresses"
    for name, values in form.items():
        if name.startswith("h:"):
            assert not any("%recipient" in v for v in values), f"{name}: variables in headers are not documented"
        elif name in ("subject", "html", "text") or name.startswith("v:"):
            for used in {m.group(1) for v in values for m in VARIABLE.finditer(v)}:
                assert all(used in v for v in variables.values()), f"%recipient.{used}% undefined for some"
    return variables


def mailgun_deliveries(form: dict, variables: dict, message_id: str) -> list[dict]:
    """What each recipient gets: the variables substituted in the subject, body and v: fields."""
    deliveries = []
    for address in form["to"]:
        own = variables[address]

        def substituted(text, own=own):
            return VARIABLE.sub(lambda m: str(own[m.group(1)]) if m.group(1) in own else m.group(0), text)

        deliveries.append({
            "to": address, "message_id": message_id,
            **{field: substituted(form[field][0]) for field in ("subject", "html", "text") if field in form},
            "headers": {name[2:]: values[0] for name, values in form.items() if name.startswith("h:")},
            "variables": {name[2:]: substituted(values[0]) for name, values in form.items() if name.startswith("v:")},
        })
    return deliveries
