"""Phone numbers to E.164 with `phonenumbers`, leniently: a number that could exist is kept,
because numbering plans change faster than library metadata."""
from __future__ import annotations

import phonenumbers


def to_e164(raw: str | None, country: str | None = None) -> str | None:
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
