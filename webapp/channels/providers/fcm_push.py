"""Firebase Cloud Messaging (HTTP v1 API), for push notifications to Android and iOS apps.

Recipients are "<platform>:<token>" (from customer_devices); this adapter serves "fcm:" tokens and
answers RecipientNotServed for any other platform, so delivery moves on to (say) the APNs provider.

Auth is OAuth2 with the store's service account: google-auth signs a JWT grant with the account's
key and trades it at the key file's token_uri for an access token. The credentials are cached per
service account for the process, so the token is fetched once and reused until it nears expiry;
a 401 drops it so the next send fetches a new one.

POST {base}/v1/projects/{project_id}/messages:send with `Authorization: Bearer <token>` and JSON
{"message": {"token", "notification": {"title", "body"}, "data": {"notification_id"}}}; 200 answers
{"name": "projects/<p>/messages/<id>"}, which is the provider message id. Errors are google.rpc
Status bodies whose details carry an FcmError errorCode (UNREGISTERED, INVALID_ARGUMENT,
SENDER_ID_MISMATCH, QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL, THIRD_PARTY_AUTH_ERROR).

FCM v1 has no multi-message endpoint (the legacy batch endpoint was retired), so send_batch sends
its messages concurrently from a small thread pool over the process's one HTTP/2 client, whose
connection to fcm.googleapis.com multiplexes them.

Nothing here puts the key file, the private key or an access token in a reason or log line.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from urllib.parse import quote

import httpx
from google.auth import exceptions as google_exceptions
from google.auth import transport as google_transport
from google.oauth2 import service_account

from webapp.channels import egress
from webapp.channels.providers.base import (
    BatchOutcome,
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

LABEL = "FCM"
PLATFORM = "fcm"
API_BASE = "https://fcm.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/firebase.messaging",)
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
LIMITS = httpx.Limits(max_keepalive_connections=10, max_connections=20)
BATCH_WORKERS = 10
PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,99}$")

# FcmError codes, by what delivery should do about them.
PERMANENT_CODES = frozenset({"UNREGISTERED", "INVALID_ARGUMENT"})
CONFIG_CODES = frozenset({"SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR"})
RATE_CODES = frozenset({"QUOTA_EXCEEDED"})
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "INTERNAL"})

SPEC = ProviderSpec("fcm", "Firebase Cloud Messaging (HTTP v1)", ("push",), (
    ConfigField("service_account_json", "Service account key (the JSON file's content)", secret=True,
                connects_to="key_file"),
    ConfigField("project_id", "Firebase project ID (defaults to the key file's project_id)", required=False),
), max_batch=500)

log = logging.getLogger(__name__)


# --- the pooled HTTP/2 client ----------------------------------------------------------------------

@lru_cache(maxsize=1)
def client() -> httpx.Client:
    # One client per process: its HTTP/2 connection to FCM carries every store's sends, batches'
    # concurrent ones included. The service account's token_uri is fetched through it too, so the
    # egress gate holds for the URL inside the key file as well.
    return egress.http_client(http2=True, timeout=TIMEOUT, limits=LIMITS)


class _AuthRequest(google_transport.Request):
    """google-auth's transport interface over the pooled httpx client (used for token requests)."""

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        try:
            response = client().request(method, url, content=body, headers=headers,
                                        timeout=timeout if timeout is not None else TIMEOUT)
        except (httpx.TransportError, httpx.InvalidURL) as error:
            # The exception text names the URL only; kept generic all the same.
            raise google_exceptions.TransportError(f"token request failed ({type(error).__name__})") from None
        return _AuthResponse(response)


class _AuthResponse(google_transport.Response):
    def __init__(self, response: httpx.Response):
        self._response = response

    @property
    def status(self):
        return self._response.status_code

    @property
    def headers(self):
        return self._response.headers

    @property
    def data(self):
        return self._response.content


# --- credentials, cached per service account -------------------------------------------------------

class _Account:
    """One service account's credentials and the lock its token refreshes take."""

    def __init__(self, credentials: service_account.Credentials):
        self.credentials = credentials
        self.lock = threading.Lock()


_accounts: dict[str, _Account] = {}
_accounts_lock = threading.Lock()


def _account_key(info: dict) -> str:
    # client_email + private_key_id name the key; the token URI and the key itself are part of the
    # digest too, so an edited key file never reuses credentials built from the old one.
    parts = [str(info.get(name) or "") for name in ("client_email", "private_key_id", "token_uri", "private_key")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def forget_credentials() -> None:
    """Drop every cached credential (tests; a rotated key is picked up without this)."""
    with _accounts_lock:
        _accounts.clear()


def _account_for(key: str, info: dict) -> _Account:
    with _accounts_lock:
        account = _accounts.get(key)
    if account is not None:
        return account
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
    except Exception:  # ValueError mostly; cryptography has its own types for unsupported keys
        # google-auth's message may quote the key file's fields: not repeated here.
        raise ProviderConfigError(f"{LABEL}: the service account key is not a usable service account JSON key "
                                  "(it needs client_email, private_key and token_uri)") from None
    with _accounts_lock:
        return _accounts.setdefault(key, _Account(credentials))


def _drop_token(account: _Account, token: str) -> None:
    """Forget an access token the API refused, unless another thread has already replaced it."""
    with account.lock:
        if account.credentials.token == token:
            account.credentials.token = None
            account.credentials.expiry = None


# --- the provider ------------------------------------------------------------------------------------

class FcmProvider:
    spec = SPEC

    def __init__(self, settings: dict | None = None, secrets: dict | None = None, base_url: str | None = None):
        settings, secrets = settings or {}, secrets or {}
        raw = secrets.get("service_account_json")
        if isinstance(raw, dict):
            info = raw
        else:
            if not str(raw or "").strip():
                raise ProviderConfigError(f"{LABEL}: no service account key configured")
            try:
                info = json.loads(str(raw))
            except ValueError:
                raise ProviderConfigError(f"{LABEL}: the service account key is not valid JSON") from None
        if not isinstance(info, dict):
            raise ProviderConfigError(f"{LABEL}: the service account key is not a JSON object")
        if info.get("type", "service_account") != "service_account":
            raise ProviderConfigError(f"{LABEL}: the key file is not a service account key "
                                      "(its type should be service_account)")
        self.project_id = str(settings.get("project_id") or info.get("project_id") or "").strip()
        if not self.project_id:
            raise ProviderConfigError(f"{LABEL}: no project ID configured and none in the service account key")
        if not PROJECT_RE.match(self.project_id):
            raise ProviderConfigError(f"{LABEL}: the project ID is not valid")
        self._key = _account_key(info)
        # Built (and the key parsed) now, so a broken key file is reported when the provider is built.
        self._account = _account_for(self._key, info)
        base = (base_url or API_BASE).rstrip("/")
        self.url = f"{base}/v1/projects/{quote(self.project_id, safe=':')}/messages:send"

    # -- auth --

    def _access_token(self) -> str:
        account = self._account
        credentials = account.credentials
        with account.lock:
            if not credentials.valid:
                try:
                    credentials.refresh(_AuthRequest())
                except google_exceptions.RefreshError as error:
                    raise self._refresh_failed(error) from None
                except google_exceptions.TransportError:
                    raise TransientProviderError(f"{LABEL}: the OAuth token request failed to connect") from None
            return credentials.token

    @staticmethod
    def _refresh_failed(error: google_exceptions.RefreshError) -> ProviderError:
        # RefreshError's args are (details, response data); only the OAuth error code is repeated.
        data = error.args[1] if len(error.args) > 1 else None
        code = data.get("error") if isinstance(data, dict) else None
        code = code if isinstance(code, str) and re.fullmatch(r"[a-z_]{1,40}", code) else "error"
        if getattr(error, "retryable", False):
            return TransientProviderError(f"{LABEL}: the OAuth token endpoint failed ({code}); will retry")
        return ProviderConfigError(f"{LABEL}: the OAuth token request was refused ({code}): check the service "
                                   "account key")

    # -- sending --

    @staticmethod
    def device_token(message: OutboundMessage) -> str:
        platform, sep, token = (message.recipient or "").strip().partition(":")
        if not sep:
            raise PermanentProviderError(f"{LABEL}: the recipient is not a <platform>:<token> device address")
        if platform.strip().lower() != PLATFORM:
            raise RecipientNotServed(f"{LABEL}: cannot send to {platform[:20]!r} devices")
        token = token.strip()
        if not token or any(ch.isspace() for ch in token):
            raise PermanentProviderError(f"{LABEL}: the device token is empty or malformed")
        return token

    @staticmethod
    def payload(message: OutboundMessage, token: str) -> dict:
        notification = {"body": message.body or ""}
        if message.subject:
            notification = {"title": message.subject, **notification}
        data = {"notification_id": str(message.notification_id), **({"link": message.link} if message.link else {})}
        return {"message": {"token": token, "notification": notification, "data": data}}

    def send(self, message: OutboundMessage) -> SendResult:
        token = self.device_token(message)
        return self._post(self.payload(message, token), self._access_token())

    def send_batch(self, messages: list[OutboundMessage]) -> list[BatchOutcome]:
        outcomes: list[BatchOutcome | None] = [None] * len(messages)
        pending: list[tuple[int, dict]] = []
        for index, message in enumerate(messages):
            try:
                pending.append((index, self.payload(message, self.device_token(message))))
            except ProviderError as error:
                outcomes[index] = error
        if pending:
            try:
                access_token = self._access_token()  # once, before the threads start
            except ProviderError as error:
                for index, _ in pending:
                    outcomes[index] = error
                pending = []
        if pending:
            with ThreadPoolExecutor(max_workers=min(BATCH_WORKERS, len(pending)),
                                    thread_name_prefix="fcm-batch") as pool:
                futures = [(index, pool.submit(self._post, body, access_token)) for index, body in pending]
                for index, future in futures:
                    try:
                        outcomes[index] = future.result()
                    except ProviderError as error:
                        outcomes[index] = error
                    except Exception as error:  # one message's bug must not lose the batch's other outcomes
                        log.exception("FCM batch send failed unexpectedly")
                        outcomes[index] = TransientProviderError(f"{LABEL}: unexpected {type(error).__name__}")
        return outcomes  # type: ignore[return-value]

    def _post(self, body: dict, access_token: str) -> SendResult:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Authorization": f"Bearer {access_token}", "Content-Type": "application/json; charset=UTF-8"}
        try:
            response = client().post(self.url, content=content, headers=headers)
        except httpx.TimeoutException as error:
            raise TransientProviderError(f"{LABEL}: timed out ({type(error).__name__})") from None
        except httpx.UnsupportedProtocol:
            raise ProviderConfigError(f"{LABEL}: the base URL has an unsupported scheme") from None
        except httpx.TransportError as error:
            raise TransientProviderError(f"{LABEL}: connection failed ({type(error).__name__})") from None
        except httpx.InvalidURL:
            raise ProviderConfigError(f"{LABEL}: the base URL is not valid") from None
        if response.status_code == 200:
            data = json_body(response)
            name = data.get("name") if isinstance(data, dict) else None
            if isinstance(name, str) and name:
                return SendResult(name)
            raise TransientProviderError(f"{LABEL}: HTTP 200 without a message name")
        raise self._refused(response, access_token)

    def _refused(self, response: httpx.Response, access_token: str) -> ProviderError:
        status = response.status_code
        data = json_body(response)
        error = data.get("error") if isinstance(data, dict) else None
        error = error if isinstance(error, dict) else {}
        fcm_code = next((detail.get("errorCode") for detail in error.get("details") or ()
                         if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE), None)
        rpc_status = error.get("status") if isinstance(error.get("status"), str) else None
        code = fcm_code if isinstance(fcm_code, str) and fcm_code != "UNSPECIFIED_ERROR" else None
        detail = " ".join(part for part in (code or rpc_status, str(error.get("message") or "")) if part)
        why = reason(LABEL, status, detail or response.text, (access_token,))
        if status == 401 and code != "THIRD_PARTY_AUTH_ERROR":
            _drop_token(self._account, access_token)  # revoked or expired early: the next send fetches a new one
        if code == "UNREGISTERED":  # the app was uninstalled or the token expired
            return RecipientGone(why)
        if code in PERMANENT_CODES:
            return PermanentProviderError(why)
        if code in CONFIG_CODES:
            return ProviderConfigError(why)
        if code in RATE_CODES or status == 429:
            return RateLimitedError(why, retry_after(response))
        if code in TRANSIENT_CODES or status >= 500:
            return TransientProviderError(why)
        # 401/403: the service account cannot send for this project; 404 without UNREGISTERED: no
        # such project (or base URL). Neither is about this message.
        if status in (401, 403, 404):
            return ProviderConfigError(why)
        return PermanentProviderError(why)
