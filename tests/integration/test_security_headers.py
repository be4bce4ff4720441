"""Every answer carries the anti-framing and content headers, and the pages keep to the CSP: no
inline script, no eval (behaviour lives in static/app.js)."""
from __future__ import annotations

import re
from pathlib import Path

from webapp import CONTENT_SECURITY_POLICY

HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"


def assert_headers(response, where: str) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))


def test_every_page_without_parameters_carries_the_headers(app, client, login_as, store):
    login_as("owner")
    paths = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/static")})
    assert "/settings/notifications" in paths and "/settings/providers" in paths
    for path in paths:
        assert_headers(client.get(path), path)


def test_errors_machine_endpoints_and_signed_out_pages_carry_them_too(app, store):
    client = app.test_client()
    for path in ("/login", "/no-such-page", "/healthz", "/api/v1/notifications", "/webhooks/shopify/nowhere"):
        assert_headers(client.get(path), path)
    assert_headers(client.post("/callbacks/twilio/acme/status"), "callback")


def test_no_template_has_inline_script_or_event_handlers():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)", text) or re.search(r"\s(on\w+|hx-on[:\w-]*)=", text) \
                or "javascript:" in text or re.search(r"\sstyle=|<style", text):
            offenders.append(path.relative_to(TEMPLATES))
    assert offenders == []
