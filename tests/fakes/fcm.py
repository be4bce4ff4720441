"""A local stand-in for Google's OAuth2 token endpoint and FCM's HTTP v1 messages:send.

POST /token takes the service account's JWT-bearer grant (form: grant_type, assertion), checks the
assertion's RS256 signature against the account's public key and its iss/aud/scope claims, and
answers {"access_token", "expires_in", "token_type"}. POST /v1/projects/{project}/messages:send
checks the bearer token is one it issued and the message body, and answers {"name"} or a
google.rpc Status error with an FcmError detail, as the API documents.
"""
from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.http import FakeApi, Recorded, Reply

PROJECT_ID = "acme-shop-7f3a1"
CLIENT_EMAIL = f"notifyhub@{PROJECT_ID}.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# google-auth puts Google's token endpoint in the grant's aud whatever the key file's token_uri says.
GRANT_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# Device tokens the fake refuses, as FCM would.
UNREGISTERED_TOKEN = "dUnregistered0000:APA91bExpiredInstallation"
INVALID_TOKEN = "not-a-registration-token"


def make_service_account(token_uri: str, project_id: str = PROJECT_ID) -> tuple[dict, rsa.RSAPublicKey]:
    """A service account key file (as the Firebase console downloads it) with a fresh RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": project_id, "private_key_id": "4f1c0ffee0ddba11",
            "private_key": pem, "client_email": CLIENT_EMAIL, "client_id": "104729000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
            "universe_domain": "googleapis.com"}
    return info, key.public_key()


def fcm_error(status: int, rpc_status: str, message: str, error_code: str | None = None) -> Reply:
    details = [{"@type": FCM_ERROR_TYPE, "errorCode": error_code}] if error_code else []
    return Reply(status, {"error": {"code": status, "message": message, "status": rpc_status, "details": details}})


class FakeFcm(FakeApi):
    """`fail_with` answers every send while set; `token_fail_with` every token request."""

    def __init__(self, project_id: str = PROJECT_ID):
        super().__init__()
        self.project_id = project_id
        self.token_uri = f"{self.url}/token"
        self.service_account, self.public_key = make_service_account(self.token_uri, project_id)
        self.token_requests: list[dict] = []
        self.grants: list[dict] = []  # the verified JWT claims of each token request
        self.issued: set[str] = set()
        self.token_fail_with: Reply | None = None
        self._lock = threading.Lock()

    @property
    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.path != "/token"]

    @property
    def key_json(self) -> str:
        return json.dumps(self.service_account)

    def reset(self) -> None:
        """Forget earlier requests, issued tokens and failures, so one server can serve a whole module."""
        with self._lock:
            super().reset()
            self.token_requests.clear()
            self.grants.clear()
            self.issued.clear()
            self.token_fail_with = None

    def revoke_tokens(self) -> None:
        """Access tokens issued so far stop working (answer 401), as after a key is disabled."""
        with self._lock:
            self.issued.clear()

    def handle(self, request: Recorded) -> Reply:
        if request.path == "/token":
            return self.token(request)
        return self.send(request)

    def token(self, request: Recorded) -> Reply:
        assert request.method == "POST"
        assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.token_requests.append(form)
        if self.token_fail_with:
            return self.token_fail_with
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        try:
            claims = jwt.decode(form.get("assertion", ""), self.public_key, algorithms=["RS256"],
                                audience=GRANT_AUDIENCE)
        except jwt.PyJWTError:
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if claims.get("iss") != CLIENT_EMAIL or SCOPE not in claims.get("scope", "").split():
            return Reply(400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope or ID token "
                                                                            "audience provided."})
        self.grants.append(claims)
        with self._lock:
            token = f"ya29.fake-access-token-{len(self.grants)}"
            self.issued.add(token)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def send(self, request: Recorded) -> Reply:
        auth = request.headers.get("Authorization", "")
        with self._lock:
            authorized = auth.startswith("Bearer ") and auth[len("Bearer "):] in self.issued
        if not authorized:
            return fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected "
                                                     "OAuth 2 access token, login cookie or other valid "
                                                     "authentication credential.")
        if request.method != "POST" or request.path != f"/v1/projects/{self.project_id}/messages:send":
            return fcm_error(404, "NOT_FOUND", "Requested entity was not found.")
        assert request.headers["Content-Type"].startswith("application/json")
        if self.fail_with:
            return self.fail_with
        message = request.json().get("message")
        if not isinstance(message, dict) or not message.get("token"):
            return fcm_error(400, "INVALID_ARGUMENT", "Recipient of the message is not set.", "INVALID_ARGUMENT")
        data = message.get("data") or {}
        if not all(isinstance(v, str) for v in data.values()):
            return Reply(400, {"error": {"code": 400, "message": "Invalid value at 'message.data[0].value'",
                                         "status": "INVALID_ARGUMENT", "details": [
                                             {"@type": "type.googleapis.com/google.rpc.BadRequest",
                                              "fieldViolations": [{"field": "message.data[0].value"}]}]}})
        if message["token"] == INVALID_TOKEN:
            return fcm_error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration "
                                                      "token", "INVALID_ARGUMENT")
        if message["token"] == UNREGISTERED_TOKEN:
            return fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        with self._lock:
            self.messages.append(message)
            name = f"projects/{self.project_id}/messages/0:17000000{len(self.messages):08d}%fake"
        return Reply(200, {"name": name})
