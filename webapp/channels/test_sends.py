"""A test message sent through exactly one configured provider account, enabled or not, with a
bounded wait and an outcome in plain words (never carrying a secret), audited."""
from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import AbstractContextManager
from dataclasses import dataclass

import phonenumbers
from markupsafe import escape

from webapp.audit.models import record
from webapp.channels.accounts import get_provider, provider_label
from webapp.channels.providers.base import (
    OutboundMessage,
    PermanentProviderError,
    ProviderConfigError,
    ProviderError,
    RateLimitedError,
    RecipientNotServed,
    SendResult,
    TransientProviderError,
)
from webapp.channels.providers.registry import build_provider, decrypted_secrets, provider_chain
from webapp.extensions import db

log = logging.getLogger(__name__)

TEST_SUBJECT = "Test message from NotifyHub"
TEST_TIMEOUT_SECONDS = 10.0
_EMAIL = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
_PUSH = re.compile(r"[a-z][a-z0-9_]{1,15}:\S{8,4000}")
_INBOX = re.compile(r"customer:\d{1,18}")


@dataclass(frozen=True)
class TestAddress:
    """How the page asks for a channel's test recipient."""

    __test__ = False  # not a pytest class, whatever its name

    label: str
    placeholder: str
    input_type: str = "text"
    needed: bool = True


TEST_ADDRESSES = {
    "email": TestAddress("Send to email address", "you@example.com", "email"),
    "sms": TestAddress("Send to phone number (E.164)", "+14155550100", "tel"),
    "whatsapp": TestAddress("Send to WhatsApp number (E.164)", "+14155550100", "tel"),
    "push": TestAddress("Send to device (platform:token)", "fcm:device-token"),
    "in_app": TestAddress("Send to inbox (customer:id)", "customer:123"),
    "ops": TestAddress("", "", needed=False),  # team channels carry their own destination
}


def address_prompt(channel: str) -> TestAddress:
    return TEST_ADDRESSES.get(channel, TestAddress("Send to address", ""))


class TestAddressError(ValueError):
    """The address given for a test message cannot be one for this channel."""

    __test__ = False


def normalize_test_address(channel: str, address: str) -> str:
    address = (address or "").strip()
    if not address_prompt(channel).needed:
        return ""
    if not address:
        raise TestAddressError("Enter the address to send the test message to.")
    if channel == "email":
        if len(address) > 254 or not _EMAIL.fullmatch(address):
            raise TestAddressError("Enter an email address like name@example.com.")
        return address
    if channel in ("sms", "whatsapp"):
        number = address.removeprefix("whatsapp:")
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not number.startswith("+") or not phonenumbers.is_valid_number(parsed):
            raise TestAddressError("Enter the phone number in international form, starting with + and the "
                                   "country code, e.g. +14155550100.")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if channel == "push":
        if not _PUSH.fullmatch(address):
            raise TestAddressError("Enter the device as platform:token, e.g. fcm:<registration token> or "
                                   "apns:<device token>.")
        return address
    if channel == "in_app":
        if not _INBOX.fullmatch(address):
            raise TestAddressError("Enter the inbox as customer:<customer id>, e.g. customer:123.")
        return address
    if len(address) > 254 or any(c.isspace() for c in address):
        raise TestAddressError("Enter a single address without spaces (at most 254 characters).")
    return address


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False

    ok: bool
    kind: str  # accepted, settings, credentials, rate_limited, temporary, rejected, not_served, timeout, error
    message: str  # plain words for the page, never carrying a secret
    provider_message_id: str | None = None


def _scrub(text: str, secrets: dict) -> str:
    """Provider errors can echo a URL or header that carries a credential (a bot token in a path,
    say); mask every secret value before anything is shown or logged."""
    for value in secrets.values():
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "••••")
    return text


def _outcome(label: str, result: SendResult | Exception, secrets: dict) -> TestOutcome:
    if isinstance(result, SendResult):
        ident = result.provider_message_id
        return TestOutcome(True, "accepted", f"Accepted by {label}, id {ident}." if ident else
                           f"Accepted by {label} (it returned no message id).", ident or None)
    reason = _scrub(str(result), secrets)[:500] or type(result).__name__
    if isinstance(result, RateLimitedError):
        return TestOutcome(False, "rate_limited", f"Rate limited: {label} asks to slow down ({reason}). "
                                                  "Try again in a minute.")
    if isinstance(result, TransientProviderError):
        return TestOutcome(False, "temporary", f"Temporary failure: {reason}. Messages would be retried.")
    if isinstance(result, ProviderConfigError):
        return TestOutcome(False, "credentials", f"Rejected: credentials or settings not accepted by {label} "
                                                 f"({reason}). Check the API key or token and the sender.")
    if isinstance(result, RecipientNotServed):
        return TestOutcome(False, "not_served", f"{label} cannot send to this address: {reason}.")
    if isinstance(result, PermanentProviderError):
        return TestOutcome(False, "rejected", f"Rejected: {label} refused this message ({reason}). "
                                              "Check the address.")
    if isinstance(result, ProviderError):
        return TestOutcome(False, "error", f"Failed: {reason}.")
    return TestOutcome(False, "error", f"Failed unexpectedly ({type(result).__name__}); see the server log.")


def _send_within(context, provider, message: OutboundMessage) -> SendResult:
    with context():
        return provider.send(message)


def send_test_message(store_id: int, config_id: int, address: str, user_id: int | None = None,
                      store_name: str = "your store", timeout: float = TEST_TIMEOUT_SECONDS,
                      context: Callable[[], AbstractContextManager] = contextlib.nullcontext,
                      public_base_url: str = "") -> TestOutcome:
    """Send one test message through exactly this configured provider (enabled or not, whatever its
    place in the chain), wait at most `timeout` seconds, and audit the outcome. `context` is
    entered around the send in its own thread (the caller's app context, for providers that
    write to the database).

    Raises ProviderNotFound for another store's id and TestAddressError for an unusable address.
    """
    row = get_provider(store_id, config_id)
    recipient = normalize_test_address(row.channel, address)
    label = provider_label(row.provider)
    try:
        secrets = decrypted_secrets(row)
    except Exception:  # an undecryptable secret is reported like any other unusable setting
        secrets = {}
    provider = build_provider(row, public_base_url)
    body = (f"This is a test message from NotifyHub for {store_name}, sent through {label}. "
            "If you can read it, this provider works; no action is needed.")
    if row.channel == "email":
        body = str(escape(body))
    message = OutboundMessage(0, store_id, row.channel, recipient, TEST_SUBJECT, body,
                              f"test-{uuid.uuid4().hex}")
    # Release the request's read transaction before another thread may write (sandbox, SQLite).
    db.session.commit()
    if isinstance(provider, Exception):
        outcome = TestOutcome(False, "settings", f"Not usable: {_scrub(str(provider), secrets)[:500]}. "
                                                 "Edit its settings.")
    else:
        outcome = _send_bounded(context, provider, message, label, secrets, timeout)
    record(store_id, user_id, "provider.test_sent", f"{label} for {row.channel}",
           new={"to": recipient or "(the provider's own destination)", "outcome": outcome.kind,
                "result": outcome.message})
    db.session.commit()
    return outcome


def send_rendered_test(store_id: int, channel: str, address: str, subject: str | None, body: str,
                       user_id: int | None = None, what: str = "a template", timeout: float = TEST_TIMEOUT_SECONDS,
                       context: Callable[[], AbstractContextManager] = contextlib.nullcontext,
                       public_base_url: str = "") -> TestOutcome:
    """Send an already rendered message (a template draft) to `address` through the channel's first
    provider, as the store's next message would go, and audit it. Raises TestAddressError."""
    recipient = normalize_test_address(channel, address)
    code, provider = provider_chain(store_id, channel, public_base_url)[0]
    label = provider_label(code)
    message = OutboundMessage(0, store_id, channel, recipient, subject, body, f"test-{uuid.uuid4().hex}")
    db.session.commit()
    if isinstance(provider, Exception):
        outcome = TestOutcome(False, "settings", f"{label} is not usable: {str(provider)[:300]}.")
    else:
        outcome = _send_bounded(context, provider, message, label, {}, timeout)
    record(store_id, user_id, "template.test_sent", what, new={"to": recipient, "through": label,
                                                               "outcome": outcome.kind})
    db.session.commit()
    return outcome


def _send_bounded(context, provider, message: OutboundMessage, label: str, secrets: dict,
                  timeout: float) -> TestOutcome:
    # A thread, so a provider that hangs past its own timeouts cannot hold the page: the answer
    # comes within `timeout`, and the thread finishes (or not) on its own.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="provider-test")
    future = executor.submit(_send_within, context, provider, message)
    executor.shutdown(wait=False)
    try:
        result: SendResult | Exception = future.result(timeout=timeout)
    except FutureTimeout:
        return TestOutcome(False, "timeout", f"Temporary failure: no answer from {label} within "
                                             f"{timeout:g} seconds.")
    except ProviderError as error:
        result = error
    except Exception as error:
        log.error("test message through %s failed unexpectedly: %s: %s", label, type(error).__name__,
                  _scrub(str(error), secrets)[:500])
        result = error
    return _outcome(label, result, secrets)
