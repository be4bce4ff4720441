"""Finding one person's emails, phone numbers and names in free text and JSON, and putting a marker
in their place: what a GDPR erasure does to the records it keeps (audit entries, timelines, notes).
Pure: no database, so the matching rules are tested on their own.

Emails, phone numbers and full names are replaced wherever they occur; a single name part ("Bob")
only as a whole word, so "Bobby" or "Normandy" in somebody else's record stay as they were.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

MARKER = "[erased]"
_SEPARATORS = r"[\s.\-()/]*"  # how people write the gaps in a phone number
_MIN_PHONE_DIGITS = 6  # shorter digit runs are too common to be anybody's number
_MIN_NAME_PART = 2
_NAME_KEYS = ("first_name", "firstname", "last_name", "lastname")


@dataclass(frozen=True)
class PersonalValues:
    """What identifies one person: their emails, phone numbers (E.164 or as written) and names."""

    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *, emails: Iterable[str | None] = (), phones: Iterable[str | None] = (),
           names: Iterable[str | None] = ()) -> PersonalValues:
        return cls(_clean(emails), frozenset(p for p in _clean(phones) if len(_digits(p)) >= _MIN_PHONE_DIGITS),
                   _clean(names))

    def __or__(self, other: PersonalValues) -> PersonalValues:
        return PersonalValues(self.emails | other.emails, self.phones | other.phones, self.names | other.names)

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones or self.names)

    @property
    def full_names(self) -> frozenset[str]:
        """Names of more than one word: specific enough to look for in anybody's records."""
        return frozenset(name for name in self.names if len(_words(name)) > 1)

    @property
    def name_parts(self) -> frozenset[str]:
        return frozenset(part for name in self.names for part in _words(name) if len(part) >= _MIN_NAME_PART)

    def needles(self, name_parts: bool = True) -> list[str]:
        """Literal strings at least one of which is in any text this person is mentioned in, for a
        database's LIKE to pick the candidate rows (the Redactor then decides). Phones by their last
        four digits, so any way of writing the number is a candidate; names also JSON-escaped, since
        JSON columns may store "José" as "Jos\\u00e9"."""
        words = {*self.emails, *self.full_names, *(self.name_parts if name_parts else ())}
        found = words | {json.dumps(word)[1:-1] for word in words}
        found |= {_digits(phone)[-4:] for phone in self.phones}
        return sorted(found)


class Redactor:
    """Replaces one person's values in a string, or in every key and string of a JSON value. Without
    `name_parts`, only emails, phones and full names (of two words or more): for records that are
    not about the person, where a lone "Bob" is more likely somebody else."""

    def __init__(self, values: PersonalValues, *, name_parts: bool = True, marker: str = MARKER):
        self.values, self.name_parts, self.marker = values, name_parts, marker
        whole = sorted({*values.emails, *values.full_names}, key=len, reverse=True)
        patterns = [re.escape(value) for value in whole]
        patterns += sorted({_phone_pattern(phone) for phone in values.phones}, key=len, reverse=True)
        parts = sorted(values.name_parts if name_parts else (), key=len, reverse=True)
        if parts:
            patterns.append(r"(?<!\w)(?:" + "|".join(re.escape(part) for part in parts) + r")(?!\w)")
        self._pattern = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def needles(self) -> list[str]:
        return self.values.needles(self.name_parts)

    def text(self, value: str | None) -> str | None:
        if not value or self._pattern is None:
            return value
        return self._pattern.sub(self.marker, value)

    def json(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self.json(item) for key, item in value.items()}
        return value

    def mentions(self, value) -> bool:
        return self.json(value) != value


def values_in_payload(payload) -> PersonalValues:
    """The emails, phones and names a source's raw webhook carries for its buyer: `email` and `phone`
    fields anywhere, first and last names, and the `name` of an object that has them (an address;
    a line item's `name` is a product, not a person)."""
    emails: set[str] = set()
    phones: set[str] = set()
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        if not isinstance(node, dict):
            return
        for key, item in node.items():
            if isinstance(item, dict | list):
                walk(item)
            elif isinstance(item, str) and item.strip():
                lowered = str(key).lower()
                if "email" in lowered and "@" in item:
                    emails.add(item)
                elif "phone" in lowered:
                    phones.add(item)
        person = [node.get(k) for k in _NAME_KEYS if isinstance(node.get(k), str) and node.get(k).strip()]
        if person:
            names.add(" ".join(p.strip() for p in person))
            if isinstance(node.get("name"), str):
                names.add(node["name"])

    walk(payload)
    return PersonalValues.of(emails=emails, phones=phones, names=names)


def phone_forms(phone: str) -> list[str]:
    """The ways a number is commonly written: E.164, international, national, digits only."""
    parsed = _parse(phone)
    if parsed is None:
        return [phone]
    fmt = phonenumbers.PhoneNumberFormat
    international = phonenumbers.format_number(parsed, fmt.INTERNATIONAL)
    return sorted({phone, phonenumbers.format_number(parsed, fmt.E164), international,
                   international.split(" ", 1)[-1], phonenumbers.format_number(parsed, fmt.NATIONAL),
                   str(parsed.national_number)})


def _phone_pattern(phone: str) -> str:
    """The number however it is spaced or punctuated, with or without its country code (and a
    national trunk 0), but never as part of a longer run of digits."""
    parsed = _parse(phone)
    national = str(parsed.national_number) if parsed else _digits(phone)
    body = _SEPARATORS.join(national)
    prefix = ""
    if parsed is not None:
        prefix = rf"(?:(?:\+|00)?{parsed.country_code}{_SEPARATORS})?(?:0{_SEPARATORS})?"
    return rf"(?<!\d){prefix}\(?{body}(?!\d)"


def _parse(phone: str):
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if len(str(parsed.national_number)) >= _MIN_PHONE_DIGITS else None


def _words(name: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", name) if word]


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _clean(values: Iterable[str | None]) -> frozenset[str]:
    return frozenset(value.strip() for value in values if value and value.strip())
