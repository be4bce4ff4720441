"""A local stand-in for Plivo's Message API (POST /v1/Account/{auth_id}/Message/, HTTP Basic
auth_id:auth_token, JSON body), answering 202 with message_uuid or {"api_id", "error"}."""
from __future__ import annotations

import base64
import json
import uuid

from tests.fakes.http import FakeApi, Recorded, Reply

PLIVO_AUTH_ID = "MAXXXXXXXXXXXXXXXXXX"
PLIVO_TOKEN = "plivo-auth-token-0123456789"
UNROUTABLE_PREFIX = "999"


def plivo_error(status: int, error: str) -> Reply:
    return Reply(status, {"api_id": str(uuid.uuid4()), "error": error})


class FakePlivo(FakeApi):
    def handle(self, request: Recorded) -> Reply:
        expected = "Basic " + base64.b64encode(f"{PLIVO_AUTH_ID}:{PLIVO_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return plivo_error(401, "authentication failed")
        if request.method != "POST" or request.path != f"/v1/Account/{PLIVO_AUTH_ID}/Message/":
            return plivo_error(404, "not found")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return plivo_error(400, "content type must be application/json")
        payload = json.loads(request.body)
        if self.fail_with:
            return self.fail_with
        for name in ("dst", "text"):
            if not payload.get(name):
                return plivo_error(400, f"{name} parameter is mandatory")
        if not (payload.get("src") or payload.get("powerpack_uuid")):
            return plivo_error(400, "src or powerpack_uuid parameter is mandatory")
        dst = payload["dst"]
        if not dst.lstrip("+").isdigit() or dst.lstrip("+").startswith(UNROUTABLE_PREFIX):
            return plivo_error(400, f"invalid dst parameter: {dst}")
        message_uuid = str(uuid.uuid4())
        self.messages.append({**payload, "message_uuid": message_uuid})
        return Reply(202, {"api_id": str(uuid.uuid4()), "message": "message(s) queued",
                           "message_uuid": [message_uuid]})
