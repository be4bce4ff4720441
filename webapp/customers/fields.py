"""What a valid customer field is, and the cleaned record of one customer (CustomerRow). Pure: the
CSV import and the API both clean through here, so they accept and refuse the same things."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from babel import Locale, UnknownLocaleError

from webapp.customers.phones import to_e164

# The consent words, as webapp.consent.vocabulary spells them. Customers sit below consent in the
# layers, so they are repeated here; a unit test keeps the two in agreement.
OPTED_IN, OPTED_OUT = "opted_in", "opted_out"
CONSENT_CHANNELS = ("email", "sms", "whatsapp", "push")

MAX_NAME = 200
MAX_EXTERNAL_ID = 128
MAX_LABEL = 64  # one group or tag
MAX_LABELS = 50
_EMAIL = re.compile(r"[^@\s<>\"',;()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
# Lists in one cell or form field: "VIP, Wholesale" or "VIP; Wholesale" or "VIP | Wholesale".
_LIST_SEPARATORS = re.compile(r"[,;|]")


class FieldError(ValueError):
    """A value that is not valid for its field; the message names the field and the value."""


@dataclass(frozen=True)
class CustomerRow:
    """One customer as an import row or API body states it, cleaned. None: not stated, so an
    update leaves that field as it is; an empty cell never erases anything."""

    line: int = 0  # the file's line number (the header is line 1); 0 for the API
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164
    name: str | None = None
    locale: str | None = None  # BCP 47, e.g. "pt-BR"
    timezone: str | None = None  # IANA, e.g. "Europe/Lisbon"
    country: str | None = None  # ISO 3166 alpha-2
    groups: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    consents: tuple[tuple[str, str], ...] = ()  # (channel, OPTED_IN or OPTED_OUT)


class ConsentChange(NamedTuple):
    """One customer's marketing consent on one channel, as an import states it; written by
    webapp.consent.bulk (consent sits above customers, so the import hands these up)."""

    store_id: int
    customer_id: int
    channel: str
    status: str
    address: str  # the email for email, the phone for the other channels, as set_consent records it
    detail: str | None = None


def _shown(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "…"


def clean_email(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise FieldError(f"email “{_shown(value)}” is not a valid email address")
    return value.lower()


def clean_country(raw: str | None) -> str | None:
    value = (raw or "").strip().upper()
    if not value:
        return None
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise FieldError(f"country “{_shown(value)}” is not a two-letter country code such as US, DE or BR")
    return value


def clean_phone(raw: str | None, country: str | None = None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    phone = to_e164(value, country)
    if phone is None:
        hint = "" if value.startswith("+") or country else " (write it with its country code, e.g. +1 415 555 0100)"
        raise FieldError(f"phone “{_shown(value)}” is not a valid phone number{hint}")
    return phone


@lru_cache(maxsize=512)
def _locale_code(value: str) -> str | None:
    if not _LOCALE.fullmatch(value):
        return None
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    language, _, rest = value.replace("_", "-").partition("-")
    return f"{language.lower()}-{rest.upper()}" if rest and len(rest) == 2 else \
        f"{language.lower()}-{rest}" if rest else language.lower()


def clean_locale(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    code = _locale_code(value)
    if code is None:
        raise FieldError(f"locale “{_shown(value)}” is not a language code such as en, de or pt-BR")
    return code


@lru_cache(maxsize=1024)
def _zone_exists(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def clean_timezone(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > 64 or not _zone_exists(value):
        raise FieldError(f"timezone “{_shown(value)}” is not a time zone such as Europe/Lisbon or America/New_York")
    return value


def clean_name(raw: str | None) -> str | None:
    value = " ".join((raw or "").split())
    if len(value) > MAX_NAME:
        raise FieldError(f"name is longer than {MAX_NAME} characters")
    return value or None


def clean_external_id(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if len(value) > MAX_EXTERNAL_ID:
        raise FieldError(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    return value or None


def clean_labels(field: str, values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Groups or tags: trimmed, duplicates dropped (first spelling kept). Quotes and backslashes are
    refused so a label reads the same in the stored JSON as typed, which the directory's filter relies on."""
    seen: dict[str, str] = {}
    for raw in values:
        label = " ".join(str(raw).split())
        if not label:
            continue
        if len(label) > MAX_LABEL:
            raise FieldError(f"{field}: “{_shown(label)}” is longer than {MAX_LABEL} characters")
        if '"' in label or "\\" in label:
            raise FieldError(f"{field}: “{_shown(label)}” may not contain quotes or backslashes")
        seen.setdefault(label.casefold(), label)
    if len(seen) > MAX_LABELS:
        raise FieldError(f"{field}: at most {MAX_LABELS}, not {len(seen)}")
    return tuple(seen.values())


def split_labels(field: str, text: str | None) -> tuple[str, ...] | None:
    """A cell or form field listing groups or tags; None when empty (so nothing changes)."""
    if not (text or "").strip():
        return None
    return clean_labels(field, _LIST_SEPARATORS.split(text))


_CONSENT_WORDS = {
    "yes": OPTED_IN, "y": OPTED_IN, "true": OPTED_IN, "1": OPTED_IN, "opted_in": OPTED_IN, "opt_in": OPTED_IN,
    "subscribed": OPTED_IN,
    "no": OPTED_OUT, "n": OPTED_OUT, "false": OPTED_OUT, "0": OPTED_OUT, "opted_out": OPTED_OUT,
    "opt_out": OPTED_OUT, "unsubscribed": OPTED_OUT,
}


def clean_consent(field: str, raw: str | None) -> str | None:
    """yes/no, true/false, 1/0, opted_in/opted_out (any case, "opted in" too); empty: unchanged."""
    value = (raw or "").strip()
    if not value:
        return None
    status = _CONSENT_WORDS.get(value.lower().replace(" ", "_").replace("-", "_"))
    if status is None:
        raise FieldError(f"{field} “{_shown(value)}” is not a consent answer: write yes or no "
                         "(or opted_in / opted_out), or leave it empty to keep what the customer has")
    return status
