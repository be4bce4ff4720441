"""Apple Push Notification service, token-based (.p8 key) auth, for push notifications to iOS apps.

Recipients are "<platform>:<token>" (from customer_devices); this adapter serves "apns:" tokens and
answers RecipientNotServed for any other platform, so delivery moves on to (say) the FCM provider.

POST {base}/3/device/<device token> over HTTP/2 (APNs speaks nothing else) with
`authorization: bearer <JWT>`, apns-topic (the app's bundle ID), apns-push-type: alert,
apns-priority: 10, apns-expiration: 0 and a JSON body {"aps": {"alert": {"title", "body"},
"sound": "default"}, "notification_id"}. 200 carries the notification's id in the apns-id header;
errors are {"reason": "..."} (BadDeviceToken, Unregistered, ExpiredProviderToken, TooManyRequests...).

The JWT is ES256-signed with the key (header kid = key ID, claims iss = team ID, iat = now). Apple
refuses tokens older than an hour and refuses refreshing them more than about every 20 minutes,
so one token per key is cached for the process and reused for 50 minutes; a 403 saying the token
is invalid or expired drops it so the next send signs a new one.

The base URL follows the environment (production or sandbox); a configured base URL overrides it
(http:// base URLs are spoken as HTTP/2 with prior knowledge, which local test servers accept).
Nothing here puts the private key or a JWT in a reason or log line.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from functools import lru_cache

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from webapp.channels import egress
from webapp.channels.providers.base import (
    ConfigField,
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    ProviderSpec,
    RateLimitedError,
    RecipientGone,
    RecipientNotServed,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.http_pool import json_body, reason, retry_after

LABEL = "APNs"
PLATFORM = "apns"
HOSTS = {"production": "https://api.push.apple.com", "sandbox": "https://api.sandbox.push.apple.com"}
TOKEN_LIFETIME = 50 * 60  # seconds; Apple rejects provider tokens older than one hour
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
LIMITS = httpx.Limits(max_keepalive_connections=10, max_connections=20)
APPLE_ID_RE = re.compile(r"^[A-Z0-9]{10}$")  # team IDs and key IDs are ten upper-case letters/digits
BUNDLE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,254}$")
DEVICE_TOKEN_RE = re.compile(r"^[0-9a-fA-F]{32,200}$")  # hex; 64 digits today, Apple says not to rely on it

# Reasons (by status) that say our configuration is wrong rather than this message.
TOKEN_REASONS = frozenset({"InvalidProviderToken", "ExpiredProviderToken", "MissingProviderToken"})
CONFIG_REASONS = frozenset({"BadTopic", "MissingTopic", "TopicDisallowed", "BadCertificate",
                            "BadCertificateEnvironment", "Forbidden", "UnrelatedKeyIdInToken",
                            "BadEnvironmentKeyInToken", "BadPath", "MethodNotAllowed", *TOKEN_REASONS})

SPEC = ProviderSpec("apns", "Apple Push Notification service (token auth)", ("push",), (
    ConfigField("team_id", "Team ID (10 characters, from your Apple developer account)"),
    ConfigField("key_id", "Key ID (10 characters, of the APNs auth key)"),
    ConfigField("private_key", "APNs auth key (the .p8 file's content)", secret=True),
    ConfigField("bundle_id", "App bundle ID (the apns-topic, e.g. com.example.shop)"),
    ConfigField("environment", "Environment: production (default) or sandbox", required=False),
))


@lru_cache(maxsize=1)
def client() -> httpx.Client:
    # One HTTP/2-only client per process: Apple asks providers to keep their connections open and
    # multiplex notifications on them rather than connect per notification.
    return egress.http_client(http1=False, http2=True, timeout=TIMEOUT, limits=LIMITS)


# --- provider tokens (JWTs), cached per key --------------------------------------------------------

_tokens: dict[str, tuple[str, float]] = {}  # key digest -> (JWT, issued at)
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached provider token (tests)."""
    with _tokens_lock:
        _tokens.clear()


class ApnsProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        self.team_id = str(settings.get("team_id") or "").strip()
        self.key_id = str(settings.get("key_id") or "").strip()
        self.bundle_id = str(settings.get("bundle_id") or "").strip()
        environment = str(settings.get("environment") or "production").strip().lower()
        pem = str(secrets.get("private_key") or "").strip()
        for name, value in (("team ID", self.team_id), ("key ID", self.key_id)):
            if not APPLE_ID_RE.match(value):
                raise ProviderConfigError(f"{LABEL}: the {name} should be 10 upper-case letters and digits")
        if not BUNDLE_RE.match(self.bundle_id):
            raise ProviderConfigError(f"{LABEL}: the bundle ID is missing or not valid (e.g. com.example.shop)")
        if environment not in HOSTS:
            raise ProviderConfigError(f"{LABEL}: the environment should be production or sandbox")
        if not pem:
            raise ProviderConfigError(f"{LABEL}: no auth key (.p8) configured")
        try:
            key = load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError):
            # The parser's message is not repeated: it may describe the key's content.
            raise ProviderConfigError(f"{LABEL}: the auth key is not a readable .p8 (PEM) private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ProviderConfigError(f"{LABEL}: the auth key is not an APNs key (expected an EC P-256 key)")
        self._key = key
        self._cache_key = hashlib.sha256("\0".join((self.team_id, self.key_id, pem)).encode()).hexdigest()
        self.base = (base_url or HOSTS[environment]).rstrip("/")

    # -- the provider token --

    def provider_token(self) -> str:
        now = time.time()
        with _tokens_lock:
            cached = _tokens.get(self._cache_key)
            if cached and 0 <= now - cached[1] < TOKEN_LIFETIME:
                return cached[0]
            issued = int(now)
            token = jwt.encode({"iss": self.team_id, "iat": issued}, self._key, algorithm="ES256",
                               headers={"kid": self.key_id})
            _tokens[self._cache_key] = (token, issued)
            return token

    def _drop_token(self, token: str) -> None:
        with _tokens_lock:
            cached = _tokens.get(self._cache_key)
            if cached and cached[0] == token:  # unless another send has already replaced it
                del _tokens[self._cache_key]

    # -- sending --

    @staticmethod
    def device_token(message: OutboundMessage) -> str:
        platform, sep, token = (message.recipient or "").strip().partition(":")
        if not sep:
            raise PermanentProviderError(f"{LABEL}: the recipient is not a <platform>:<token> device address")
        if platform.strip().lower() != PLATFORM:
            raise RecipientNotServed(f"{LABEL}: cannot send to {platform[:20]!r} devices")
        token = token.strip()
        # Checked here as well as by Apple: the token becomes part of the request path.
        if not DEVICE_TOKEN_RE.match(token):
            raise PermanentProviderError(f"{LABEL}: the device token is not a hexadecimal APNs token")
        return token

    @staticmethod
    def payload(message: OutboundMessage) -> dict:
        alert = {"body": message.body or ""}
        if message.subject:
            alert = {"title": message.subject, **alert}
        payload = {"aps": {"alert": alert, "sound": "default"}, "notification_id": str(message.notification_id)}
        return payload | ({"link": message.link} if message.link else {})

    def send(self, message: OutboundMessage) -> SendResult:
        device = self.device_token(message)
        body = json.dumps(self.payload(message), ensure_ascii=False, separators=(",", ":")).encode()
        token = self.provider_token()
        # A stable apns-id per notification, so Apple's id for it is the same on every retry.
        apns_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"notifyhub:{message.idempotency_key}"))
        headers = {"authorization": f"bearer {token}", "apns-topic": self.bundle_id, "apns-push-type": "alert",
                   "apns-priority": "10", "apns-expiration": "0", "apns-id": apns_id,
                   "content-type": "application/json"}
        try:
            response = client().post(f"{self.base}/3/device/{device}", content=body, headers=headers)
        except httpx.TimeoutException as error:
            raise TransientProviderError(f"{LABEL}: timed out ({type(error).__name__})") from None
        except httpx.UnsupportedProtocol:
            raise ProviderConfigError(f"{LABEL}: the base URL has an unsupported scheme") from None
        except httpx.TransportError as error:  # GOAWAY and resets included
            raise TransientProviderError(f"{LABEL}: connection failed ({type(error).__name__})") from None
        except httpx.InvalidURL:
            raise ProviderConfigError(f"{LABEL}: the base URL is not valid") from None
        if response.status_code == 200:
            return SendResult(response.headers.get("apns-id") or apns_id)
        raise self._refused(response, token)

    def _refused(self, response: httpx.Response, token: str) -> ProviderError:
        status = response.status_code
        data = json_body(response)
        why_code = data.get("reason") if isinstance(data, dict) and isinstance(data.get("reason"), str) else ""
        why = reason(LABEL, status, why_code or response.text or response.reason_phrase, (token,))
        if status == 403 and why_code in TOKEN_REASONS:
            self._drop_token(token)
        if status == 429:  # TooManyRequests (to one device) or TooManyProviderTokenUpdates
            return RateLimitedError(why, retry_after(response))
        if status >= 500:  # InternalServerError, ServiceUnavailable, Shutdown
            return TransientProviderError(why)
        if why_code in CONFIG_REASONS or status in (403, 404, 405):
            return ProviderConfigError(why)
        if status == 410:  # Unregistered / ExpiredToken: the app is gone from that device
            return RecipientGone(why)
        # BadDeviceToken, DeviceTokenNotForTopic, PayloadTooLarge...
        return PermanentProviderError(why)
