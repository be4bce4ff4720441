"""Webhook signature checks, one per source, all constant-time."""
from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def valid_base64_hmac(secret: str, body: bytes, header: str | None) -> bool:
    """Shopify's X-Shopify-Hmac-Sha256 and WooCommerce's X-WC-Webhook-Signature work this way."""
    if not header:
        return False
    return hmac.compare_digest(hmac_sha256_base64(secret, body).encode(), header.strip().encode())


def valid_shared_secret(secret: str, header: str | None) -> bool:
    """BigCommerce: the custom header value configured on the hook."""
    return bool(header) and hmac.compare_digest(secret.encode(), header.encode())
