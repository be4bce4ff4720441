"""A local stand-in for APNs: a real HTTP/2 server (hypercorn, cleartext h2 with prior knowledge)
serving POST /3/device/<token> as Apple documents it.

It checks the provider token (an ES256 JWT whose kid is the key ID and iss the team ID, verified
with the key's public half and no older than an hour), the apns-topic and push-type headers and the
payload, and answers 200 with an apns-id header or an error status with {"reason": ...}. Every
request is kept with the HTTP version it arrived as, so tests can prove it was HTTP/2.
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.fakes.http import Reply

TEAM_ID = "A1B2C3D4E5"
KEY_ID = "K9Y8X7W6V5"
BUNDLE_ID = "com.acmegoods.shop"
DEVICE_TOKEN = "a" * 64
UNREGISTERED_TOKEN = "deadbeef" * 8
WRONG_APP_TOKEN = "0123456789abcdef" * 4  # a token of another app: DeviceTokenNotForTopic


def make_auth_key() -> tuple[str, ec.EllipticCurvePublicKey]:
    """An APNs auth key as the .p8 file holds it (PKCS#8 PEM, EC P-256), and its public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


@dataclass
class ApnsRequest:
    method: str
    path: str
    http_version: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class FakeApns:
    def __init__(self):
        self.private_key, self.public_key = make_auth_key()
        self.requests: list[ApnsRequest] = []
        self.notifications: list[dict] = []
        self.fail_with: Reply | None = None  # answers every well-formed request while set
        self._ready = threading.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # connections made before hypercorn starts accepting wait in the backlog
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = Config()
        config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the socket from here
        config.accesslog = config.errorlog = None
        config.graceful_timeout = 1
        self._config = config
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-apns", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake APNs server did not start")

    def _run(self) -> None:
        async def main():
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._loop.call_soon(self._ready.set)
            await serve(self.app, self._config, shutdown_trigger=self._stop.wait)

        asyncio.run(main())

    def close(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the fake APNs server did not shut down"

    # --- the ASGI app ---

    async def app(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        request = ApnsRequest(scope["method"], scope["path"], scope["http_version"],
                              {k.decode().lower(): v.decode() for k, v in scope["headers"]}, body)
        self.requests.append(request)
        status, headers, payload = self.handle(request)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": payload})

    def handle(self, request: ApnsRequest) -> tuple[int, dict[str, str], bytes]:
        def error(status: int, why: str, **extra) -> tuple[int, dict[str, str], bytes]:
            answer = json.dumps({"reason": why, **extra}).encode()
            return status, {"content-type": "application/json", "apns-id": request.headers.get("apns-id", "")}, answer

        if request.http_version != "2":
            return 505, {}, b""  # APNs is HTTP/2 only
        if request.method != "POST":
            return error(405, "MethodNotAllowed")
        if not request.path.startswith("/3/device/"):
            return error(404, "BadPath")
        auth = request.headers.get("authorization", "")
        if not auth.startswith("bearer "):
            return error(403, "MissingProviderToken")
        try:
            header = jwt.get_unverified_header(auth[len("bearer "):])
            claims = jwt.decode(auth[len("bearer "):], self.public_key, algorithms=["ES256"],
                                options={"require": ["iss", "iat"]})
        except jwt.PyJWTError:
            return error(403, "InvalidProviderToken")
        if header.get("kid") != KEY_ID or claims.get("iss") != TEAM_ID:
            return error(403, "InvalidProviderToken")
        if time.time() - claims["iat"] > 3600:
            return error(403, "ExpiredProviderToken")
        if not request.headers.get("apns-topic"):
            return error(400, "MissingTopic")
        if request.headers["apns-topic"] != BUNDLE_ID:
            return error(400, "TopicDisallowed")
        if request.headers.get("apns-push-type") != "alert" or request.headers.get("apns-priority") not in (None,
                                                                                                          "5", "10"):
            return error(400, "BadPriority")
        if not request.body:
            return error(400, "PayloadEmpty")
        if len(request.body) > 4096:
            return error(413, "PayloadTooLarge")
        if self.fail_with:
            reply = self.fail_with
            answer = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            return reply.status, dict(reply.headers), answer
        device = request.path[len("/3/device/"):]
        if not device or any(c not in "0123456789abcdefABCDEF" for c in device):
            return error(400, "BadDeviceToken")
        if device == UNREGISTERED_TOKEN:
            return error(410, "Unregistered", timestamp=int(time.time() * 1000))
        if device == WRONG_APP_TOKEN:
            return error(400, "DeviceTokenNotForTopic")
        apns_id = request.headers.get("apns-id") or str(uuid.uuid4()).upper()
        self.notifications.append({"device": device, **request.json()})
        return 200, {"apns-id": apns_id}, b""
