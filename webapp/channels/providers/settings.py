"""A store's provider accounts: validated against the provider's declared fields, secrets
encrypted at rest and never shown back beyond their last four characters.

Also what the Providers page needs beyond that: reordering the failover chain, switching a
provider off, removing it, its recent delivery health, and a test message sent through exactly
one configured provider.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlparse

import phonenumbers
from markupsafe import escape
from sqlalchemy import func, select

from webapp.audit.models import record
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
from webapp.channels.providers.registry import _build, providers
from webapp.channels.registry import get_channel
from webapp.crypto import last_four, vault
from webapp.extensions import db
from webapp.notifications.models import Notification, NotificationEvent, ProviderConfig
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_VALUE_LENGTH = 2000
MAX_BASE_URL_LENGTH = 500  # the column's size


class ProviderSettingsError(ValueError):
    """The provider configuration given is not usable; the message says why, `fields` which
    fields (by name) are at fault, so a form can mark them."""

    def __init__(self, message: str, fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.fields = fields


class ProviderNotFound(LookupError):
    """No such provider configuration in this store (another store's id included)."""


def configure_provider(store_id: int, channel: str, code: str, values: dict[str, str], base_url: str | None = None,
                       user_id: int | None = None, enabled: bool = True) -> ProviderConfig:
    """Add the provider to the end of the channel's failover chain, or update it if already there.

    Secret fields left empty keep their saved value; a non-secret field given empty is cleared, one
    not given at all is kept.
    """
    cls = providers().get(code)
    if cls is None:
        raise ProviderSettingsError(f"Unknown provider “{code}”; choose one of {', '.join(sorted(providers()))}.",
                                    ("provider",))
    if get_channel(channel) is None or channel not in cls.spec.channels:
        raise ProviderSettingsError(f"{cls.spec.label} does not serve the “{channel}” channel.", ("provider",))
    fields = {f.name: f for f in cls.spec.fields}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ProviderSettingsError(f"{cls.spec.label} has no field {', '.join(unknown)}.")
    too_long = [fields[k].label for k, v in values.items() if len(v or "") > MAX_VALUE_LENGTH]
    if too_long:
        raise ProviderSettingsError(f"Too long (at most {MAX_VALUE_LENGTH} characters): {', '.join(too_long)}.",
                                    tuple(k for k, v in values.items() if len(v or "") > MAX_VALUE_LENGTH))
    _check_base_url(base_url)
    _check_destinations(values, base_url, fields)
    row = db.session.scalar(select(ProviderConfig).where(ProviderConfig.store_id == store_id,
                                                         ProviderConfig.channel == channel,
                                                         ProviderConfig.provider == code))
    current = _secrets(row) if row else {}
    merged_secrets = {**current, **{k: v for k, v in values.items() if fields[k].secret and v}}
    settings = {**((row.settings or {}) if row else {}), **{k: v for k, v in values.items() if not fields[k].secret}}
    settings = {k: v for k, v in settings.items() if v not in ("", None)}
    missing = [f for f in fields.values() if f.required and not (settings.get(f.name) or merged_secrets.get(f.name))]
    if missing:
        raise ProviderSettingsError(f"{cls.spec.label} needs: {', '.join(f.label for f in missing)}.",
                                    tuple(f.name for f in missing))
    old = _audit_view(row) if row else None
    if row is None:
        position = db.session.scalar(select(func.coalesce(func.max(ProviderConfig.position) + 1, 0)).where(
            ProviderConfig.store_id == store_id, ProviderConfig.channel == channel)) or 0
        row = ProviderConfig(store_id=store_id, channel=channel, provider=code, position=position)
        db.session.add(row)
    row.settings, row.base_url, row.enabled = settings, base_url or None, enabled
    row.secrets_encrypted = vault().encrypt(json.dumps(merged_secrets)) if merged_secrets else None
    record(store_id, user_id, "provider.configured", f"{cls.spec.label} for {channel}", old=old,
           new={"settings": settings, "secrets": {k: last_four(v) for k, v in merged_secrets.items()},
                "base_url": base_url or None, "enabled": enabled})
    db.session.commit()
    return row


def _check_base_url(base_url: str | None) -> None:
    if not base_url:
        return
    parts = urlparse(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in base_url):
        raise ProviderSettingsError("The API base URL must start with https:// (or http:// for a local test "
                                    "server), followed by a host name.", ("base_url",))
    if len(base_url) > MAX_BASE_URL_LENGTH:
        raise ProviderSettingsError(f"The API base URL is too long (at most {MAX_BASE_URL_LENGTH} characters).",
                                    ("base_url",))


def _check_destinations(values: dict[str, str], base_url: str | None, fields: dict) -> None:
    from flask import current_app

    from webapp.channels.providers.egress import DESTINATION_FIELDS, PrivateDestination, check_public

    if current_app.config.get("APP_ENV") != "production":
        return
    targets = {"base_url": base_url} | {k: v for k, v in values.items() if k in DESTINATION_FIELDS}
    for name, value in targets.items():
        if not value:
            continue
        try:
            check_public(value)
        except PrivateDestination as error:
            label = "API base URL" if name == "base_url" else fields[name].label
            raise ProviderSettingsError(f"{label}: {error}; only public internet addresses are allowed.",
                                        (name,)) from None


def _secrets(row: ProviderConfig) -> dict:
    return json.loads(vault().decrypt(row.secrets_encrypted)) if row.secrets_encrypted else {}


def _audit_view(row: ProviderConfig) -> dict:
    return {"settings": dict(row.settings or {}), "secrets": {k: last_four(v) for k, v in _secrets(row).items()},
            "base_url": row.base_url, "enabled": row.enabled, "position": row.position + 1}


def describe(row: ProviderConfig) -> dict:
    """What may be shown of a configured provider: settings, and secrets as their last four characters."""
    return {"id": row.id, "channel": row.channel, "provider": row.provider, "position": row.position,
            "enabled": row.enabled, "base_url": row.base_url, "settings": row.settings or {},
            "secrets": {k: last_four(v) for k, v in _secrets(row).items()}}


def list_providers(store_id: int, channel: str | None = None) -> list[ProviderConfig]:
    query = select(ProviderConfig).where(ProviderConfig.store_id == store_id)
    if channel is not None:
        query = query.where(ProviderConfig.channel == channel)
    return list(db.session.scalars(query.order_by(ProviderConfig.channel, ProviderConfig.position,
                                                  ProviderConfig.id)))


def provider_label(code: str) -> str:
    cls = providers().get(code)
    return cls.spec.label if cls else code


def get_provider(store_id: int, config_id: int) -> ProviderConfig:
    row = db.session.scalar(select(ProviderConfig).where(ProviderConfig.id == config_id,
                                                         ProviderConfig.store_id == store_id))
    if row is None:
        raise ProviderNotFound(config_id)
    return row


def _chain_for_update(store_id: int, channel: str) -> list[ProviderConfig]:
    """The channel's rows in failover order, locked (PostgreSQL) so two reorders cannot interleave."""
    return list(db.session.scalars(
        select(ProviderConfig).where(ProviderConfig.store_id == store_id, ProviderConfig.channel == channel)
        .order_by(ProviderConfig.position, ProviderConfig.id).with_for_update()))


def _renumber(rows: list[ProviderConfig]) -> None:
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position


def set_enabled(store_id: int, config_id: int, enabled: bool, user_id: int | None = None) -> ProviderConfig:
    row = get_provider(store_id, config_id)
    if row.enabled != enabled:
        record(store_id, user_id, "provider.enabled" if enabled else "provider.disabled",
               f"{provider_label(row.provider)} for {row.channel}", old={"enabled": row.enabled},
               new={"enabled": enabled})
        row.enabled = enabled
    db.session.commit()
    return row


def move_provider(store_id: int, config_id: int, offset: int, user_id: int | None = None) -> ProviderConfig:
    """Move a provider up (offset -1) or down (+1) the failover order, in one transaction; the
    channel's positions come out as 0..n-1 whatever gaps or ties they had before."""
    row = get_provider(store_id, config_id)
    chain = _chain_for_update(store_id, row.channel)
    index = next(i for i, r in enumerate(chain) if r.id == row.id)
    target = index + offset
    if 0 <= target < len(chain) and target != index:
        before = [r.provider for r in chain]
        chain.insert(target, chain.pop(index))
        record(store_id, user_id, "provider.reordered", f"{row.channel} failover order",
               old={"order": before}, new={"order": [r.provider for r in chain]})
    _renumber(chain)
    db.session.commit()
    return row


def remove_provider(store_id: int, config_id: int, user_id: int | None = None) -> str:
    """Delete a provider account (its secrets with it); returns its label."""
    row = get_provider(store_id, config_id)
    channel, label = row.channel, provider_label(row.provider)
    chain = _chain_for_update(store_id, channel)
    record(store_id, user_id, "provider.removed", f"{label} for {channel}", old=_audit_view(row))
    db.session.delete(row)
    _renumber([r for r in chain if r.id != config_id])
    db.session.commit()
    return label


# --- Recent health -------------------------------------------------------------------------------

HEALTH_DAYS = 7
# Attempt events that are not a provider failing: the breaker skipping it, or an address it does
# not serve (RecipientNotServed, which delivery deliberately does not count against it).
_NOT_A_FAILURE = ("% skipped: paused after repeated failures", "not for this provider:%")


@dataclass(frozen=True)
class ProviderHealth:
    sent: int = 0
    failed: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def attempts(self) -> int:
        return self.sent + self.failed

    @property
    def success_rate(self) -> int | None:
        """Whole percent, rounded down so a single failure never shows as 100%."""
        return None if not self.attempts else self.sent * 100 // self.attempts


def _failure_filter():
    return [NotificationEvent.kind == "attempt",
            *(NotificationEvent.detail.not_like(pattern) for pattern in _NOT_A_FAILURE)]


def provider_health(store_id: int, now: datetime | None = None) -> dict[tuple[str, str], ProviderHealth]:
    """Sent events (successes) and attempt events (failures) of the last seven days per
    (channel, provider), with each one's most recent error."""
    since = (now or utcnow()) - timedelta(days=HEALTH_DAYS)
    scope = [Notification.store_id == store_id, NotificationEvent.at >= since,
             # Lets the (store_id, created_at) index narrow the scan; a message's attempts all fall
             # within a day of its creation (retries back off for minutes, not days).
             Notification.created_at >= since - timedelta(days=1)]
    joined = select(Notification.channel, NotificationEvent.provider).join(
        Notification, Notification.id == NotificationEvent.notification_id)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    sent = db.session.execute(
        joined.add_columns(func.count()).where(*scope, NotificationEvent.kind == "sent",
                                               NotificationEvent.provider.is_not(None))
        .group_by(Notification.channel, NotificationEvent.provider))
    for channel, provider, count in sent:
        counts.setdefault((channel, provider), {})["sent"] = count
    failed = db.session.execute(
        joined.add_columns(func.count(), func.max(NotificationEvent.id))
        .where(*scope, *_failure_filter(), NotificationEvent.provider.is_not(None))
        .group_by(Notification.channel, NotificationEvent.provider)).all()
    last_ids = {}
    for channel, provider, count, last_id in failed:
        counts.setdefault((channel, provider), {})["failed"] = count
        last_ids[last_id] = (channel, provider)
    last = {}
    if last_ids:
        for event in db.session.scalars(select(NotificationEvent).where(NotificationEvent.id.in_(last_ids))):
            last[last_ids[event.id]] = event
    result = {}
    for key, numbers in counts.items():
        event = last.get(key)
        result[key] = ProviderHealth(numbers.get("sent", 0), numbers.get("failed", 0),
                                     event.detail if event else None, event.at if event else None)
    return result


# --- Test messages -------------------------------------------------------------------------------

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


def _send_in_app_context(app, provider, message: OutboundMessage) -> SendResult:
    with app.app_context():
        return provider.send(message)


def send_test_message(store_id: int, config_id: int, address: str, user_id: int | None = None,
                      store_name: str = "your store", timeout: float = TEST_TIMEOUT_SECONDS) -> TestOutcome:
    """Send one test message through exactly this configured provider (enabled or not, whatever its
    place in the chain), wait at most `timeout` seconds, and audit the outcome.

    Raises ProviderNotFound for another store's id and TestAddressError for an unusable address.
    """
    from flask import current_app

    row = get_provider(store_id, config_id)
    recipient = normalize_test_address(row.channel, address)
    label = provider_label(row.provider)
    try:
        secrets = _secrets(row)
    except Exception:  # an undecryptable secret is reported like any other unusable setting
        secrets = {}
    provider = _build(row)
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
        outcome = _send_bounded(current_app._get_current_object(), provider, message, label, secrets, timeout)
    record(store_id, user_id, "provider.test_sent", f"{label} for {row.channel}",
           new={"to": recipient or "(the provider's own destination)", "outcome": outcome.kind,
                "result": outcome.message})
    db.session.commit()
    return outcome


def _send_bounded(app, provider, message: OutboundMessage, label: str, secrets: dict,
                  timeout: float) -> TestOutcome:
    # A thread, so a provider that hangs past its own timeouts cannot hold the page: the answer
    # comes within `timeout`, and the thread finishes (or not) on its own.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="provider-test")
    future = executor.submit(_send_in_app_context, app, provider, message)
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
