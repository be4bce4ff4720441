"""Amazon SNS message verification: the signing certificate is fetched from SigningCertURL (only from
an SNS host over HTTPS), cached, and the RSA signature checked over the canonical string of the
message's Type (SignatureVersion 1: SHA1, 2: SHA256), as AWS documents it."""
from __future__ import annotations

import base64
import re
import threading
from functools import lru_cache
from urllib.parse import urlparse

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from webapp.channels import egress

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
_certs: dict[str, rsa.RSAPublicKey] = {}
_lock = threading.Lock()


class SNSVerificationError(ValueError):
    pass


@lru_cache(maxsize=1)
def _client() -> httpx.Client:
    return egress.http_client(timeout=10, follow_redirects=False)


def url_allowed(url: str, test_pattern: str | None = None) -> bool:
    """An SNS URL we may fetch: https on an sns.<region>.amazonaws.com host, or (tests only) one the
    `test_pattern` (the sns_cert_url_pattern setting) matches as a whole."""
    if not isinstance(url, str) or not url:
        return False
    if test_pattern and re.fullmatch(test_pattern, url):
        return True
    parsed = urlparse(url)
    return (parsed.scheme == "https" and parsed.port in (None, 443) and not parsed.username
            and bool(SNS_HOST.match(parsed.hostname or "")))


def canonical_string(message: dict) -> bytes:
    kind = message.get("Type")
    if kind == "Notification":
        keys = NOTIFICATION_KEYS
    elif kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        keys = SUBSCRIPTION_KEYS
    else:
        raise SNSVerificationError(f"unknown SNS message type {kind!r}")
    parts = []
    for key in keys:
        if key in message and message[key] is not None:
            if not isinstance(message[key], str):
                raise SNSVerificationError(f"{key} is not a string")
            parts.append(f"{key}\n{message[key]}\n")
        elif key != "Subject":
            raise SNSVerificationError(f"missing {key}")
    return "".join(parts).encode()


def _public_key(url: str) -> rsa.RSAPublicKey:
    with _lock:
        key = _certs.get(url)
    if key is not None:
        return key
    try:
        response = _client().get(url)
        response.raise_for_status()
        key = x509.load_pem_x509_certificate(response.content).public_key()
    except (httpx.HTTPError, ValueError) as error:  # EgressRefused is a ValueError too
        raise SNSVerificationError(f"signing certificate unavailable: {error}") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise SNSVerificationError("signing certificate is not RSA")
    with _lock:
        _certs[url] = key
    return key


def verify(message: dict, test_pattern: str | None = None) -> None:
    """Raise SNSVerificationError unless the message carries a valid SNS signature."""
    if not isinstance(message, dict):
        raise SNSVerificationError("not an SNS message")
    algorithm = HASHES.get(str(message.get("SignatureVersion", "")))
    if algorithm is None:
        raise SNSVerificationError("unsupported SignatureVersion")
    cert_url = message.get("SigningCertURL") or message.get("SigningCertUrl")
    if not url_allowed(cert_url, test_pattern):
        raise SNSVerificationError("SigningCertURL is not an SNS certificate URL")
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
    except (ValueError, TypeError) as error:
        raise SNSVerificationError("malformed signature") from error
    payload = canonical_string(message)
    try:
        _public_key(cert_url).verify(signature, payload, padding.PKCS1v15(), algorithm())
    except InvalidSignature as error:
        raise SNSVerificationError("bad signature") from error


def confirm_subscription(message: dict, test_pattern: str | None = None) -> None:
    url = message.get("SubscribeURL")
    if not url_allowed(url, test_pattern):
        raise SNSVerificationError("SubscribeURL is not an SNS URL")
    try:
        _client().get(url).raise_for_status()
    except (httpx.HTTPError, egress.PrivateDestination) as error:
        raise SNSVerificationError(f"subscription confirmation failed: {error}") from error
