"""A local stand-in for Unifonic's REST SMS API (POST /rest/SMS/messages, form-encoded AppSid,
SenderID, Recipient, Body), answering {"success", "message", "errorCode", "data"} like it documents."""
from __future__ import annotations

from urllib.parse import parse_qs

from tests.fakes.http import FakeApi, Recorded, Reply

UNIFONIC_APP_SID = "unifonic-appsid-0123456789"
UNIFONIC_SENDER = "ACME"


def unifonic_error(code: str, message: str, status: int = 200) -> Reply:
    return Reply(status, {"success": False, "message": message, "errorCode": code, "data": {}})


class FakeUnifonic(FakeApi):
    def handle(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != "/rest/SMS/messages":
            return Reply(404, {"success": False, "message": "Not found", "errorCode": "", "data": {}})
        if not request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return Reply(415, {"success": False, "message": "Unsupported media type", "data": {}})
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        if not form.get("AppSid"):
            return Reply(402, {"success": False, "message": "Missing parameter AppSid", "data": {}})
        if form["AppSid"] != UNIFONIC_APP_SID:
            return Reply(401, {"success": False, "message": "Authentication failed", "data": {}})
        if self.fail_with:
            return self.fail_with
        if form.get("SenderID", UNIFONIC_SENDER) != UNIFONIC_SENDER:
            return unifonic_error("ER-08", "Invalid Sender ID")
        recipient = form.get("Recipient", "")
        if not recipient.isdigit():  # international format without "+" or "00"
            return unifonic_error("ER-02", "Invalid destination number")
        if len(recipient) < 10:
            return unifonic_error("ER-04", "Dest num is too short")
        if not form.get("Body"):
            return unifonic_error("ER-06", "Invalid or empty message body")
        message_id = 42000348806924 + len(self.messages)
        self.messages.append({**form, "MessageID": message_id})
        return Reply(200, {"success": True, "message": "", "errorCode": "ER-00", "data": {
            "MessageID": message_id, "CorrelationID": form.get("CorrelationID", ""), "Status": "Sent",
            "NumberOfUnits": 1, "Cost": 0.05, "Balance": 100, "Recipient": recipient,
            "TimeCreated": "2024-05-06 14:06:25.979", "CurrencyCode": "SAR"}})
