"""Coupon and gift card codes (pure): generated from secrets in an alphabet with no look-alike
characters (no 0/O, 1/I/L), grouped for reading aloud; compared without regard to case."""
from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # 31 symbols: about 4.95 bits each
COUPON_LENGTH = 10  # about 50 bits: unguessable at any rate a checkout can be tried
GIFT_CARD_LENGTH = 16  # about 79 bits: a gift card is money
_TYPED = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,63}")


def generate(length: int, group: int = 4) -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return "-".join(raw[i:i + group] for i in range(0, length, group))


def key(code: str) -> str:
    """What two codes are compared by: case-insensitive, surrounding spaces ignored."""
    return code.strip().lower()


def typed_problem(code: object, shortest: int = 3) -> str | None:
    """Why a code typed by staff cannot be used, or None."""
    if not isinstance(code, str) or not _TYPED.fullmatch(code.strip()) or len(code.strip()) < shortest:
        return f"a code is {shortest} to 64 letters, digits, dashes or underscores"
    return None
