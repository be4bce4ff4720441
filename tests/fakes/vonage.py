"""A local stand-in for Vonage's SMS API (POST /sms/json), checking the request it documents and
answering like it: HTTP 200 with a status per message part, "0" for accepted, non-zero for refused."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

from tests.fakes.http import FakeApi, Recorded, Reply

VONAGE_KEY = "a1b2c3d4"
VONAGE_SECRET = "vonage-secret-0123456789"
UNROUTABLE_PREFIX = "999"  # no country has this calling code


def vonage_answer(status: str, error_text: str = "", **fields) -> dict:
    part = {"status": status, **({"error-text": error_text} if error_text else {}), **fields}
    return {"message-count": "1", "messages": [part]}


class FakeVonage(FakeApi):
    def handle(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != "/sms/json":
            return Reply(404, {"type": "https://developer.vonage.com/api-errors#not-found", "title": "Not Found"})
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        elif content_type.startswith("application/json"):
            form = json.loads(request.body)
        else:
            return Reply(200, vonage_answer("2", "Missing api_key"))
        if self.fail_with:
            return self.fail_with
        missing = [name for name in ("api_key", "api_secret", "from", "to", "text") if not form.get(name)]
        if missing:
            return Reply(200, vonage_answer("2", f"Missing {missing[0]}"))
        if (form["api_key"], form["api_secret"]) != (VONAGE_KEY, VONAGE_SECRET):
            return Reply(200, vonage_answer("4", "Bad Credentials"))
        if not form["to"].isdigit():  # the API wants digits only, no "+" or spaces
            return Reply(200, vonage_answer("3", "Invalid to address"))
        if form["to"].startswith(UNROUTABLE_PREFIX):
            return Reply(200, vonage_answer("6", "Unroutable message - rejected"))
        message_id = f"0C{len(self.messages) + 1:014X}"
        self.messages.append({**form, "message-id": message_id})
        return Reply(200, vonage_answer("0", to=form["to"], **{"message-id": message_id,
                                                              "remaining-balance": "15.53590000",
                                                              "message-price": "0.03330000", "network": "302720"}))
