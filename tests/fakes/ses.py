"""A local stand-in for Amazon SES API v2 SendEmail (POST /v2/email/outbound-emails), checking the
SigV4 Authorization header's credential scope and the JSON body, and answering like SES: 200
{"MessageId": ...}, or an error with the `x-amzn-ErrorType` header and {"message": ...}.

With keep_alive=True the server speaks HTTP/1.1 and keeps connections open, as SES does, and
`connections` counts the TCP connections it accepted (to check clients reuse them)."""
from __future__ import annotations

import json

from tests.fakes.http import FakeApi, Recorded, Reply

SES_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SES_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SES_REGION = "eu-west-1"
UNVERIFIED = "unverified@"  # recipients starting with this are refused as MessageRejected


def ses_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"message": message}, {"x-amzn-ErrorType": code, **(headers or {})})


class FakeSes(FakeApi):
    def __init__(self, keep_alive: bool = False):
        super().__init__(keep_alive)
        self.emails: list[dict] = self.messages  # the same list: SES sends emails

    def handle(self, request: Recorded) -> Reply:
        auth = request.headers.get("Authorization", "")
        if not (auth.startswith(f"AWS4-HMAC-SHA256 Credential={SES_KEY_ID}/")
                and f"/{SES_REGION}/ses/aws4_request" in auth and "Signature=" in auth):
            return ses_error(403, "UnrecognizedClientException", "The security token included in the request is "
                                                                 "invalid.")
        if request.method != "POST" or request.path != "/v2/email/outbound-emails":
            return ses_error(404, "NotFoundException", "Not found")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return ses_error(400, "BadRequestException", "Expected JSON")
        if self.fail_with:
            return self.fail_with
        body = json.loads(request.body)
        to = body.get("Destination", {}).get("ToAddresses") or []
        simple = body.get("Content", {}).get("Simple", {})
        if not (body.get("FromEmailAddress") and to and simple.get("Body")):
            return ses_error(400, "BadRequestException", "Missing required field")
        if any(address.startswith(UNVERIFIED) for address in to):
            return ses_error(400, "MessageRejected", "Email address is not verified. The following identities "
                                                     f"failed the check in region {SES_REGION.upper()}: {to[0]}")
        message_id = f"0100018c-{len(self.emails) + 1:08d}-ses"
        self.emails.append({**body, "MessageId": message_id})
        return Reply(200, {"MessageId": message_id})
