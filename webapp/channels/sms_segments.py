"""How many SMS segments a text costs: GSM-7 when every character fits it, else UCS-2.

A single message holds 160 GSM-7 septets or 70 UCS-2 units; once split, each part loses room to the
concatenation header (153 and 67). Characters are never split across parts: a GSM-7 extension character
(two septets) or a UCS-2 surrogate pair (two units) moves whole to the next part, as phones pack them.
"""
from __future__ import annotations

from dataclasses import dataclass

GSM7 = "gsm7"
UCS2 = "ucs2"

# 3GPP TS 23.038 basic character set (without the escape code itself) and its extension table.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# encoding -> (units in a single message, units per part of a multipart message)
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # GSM7 or UCS2
    characters: int  # what a person counts
    units: int  # GSM-7 septets or UCS-2 code units
    segments: int  # messages billed; 0 for an empty text


def _unit_widths(text: str) -> tuple[str, list[int]]:
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text):
        return GSM7, [2 if ch in _GSM7_EXTENSION else 1 for ch in text]
    return UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_size(text: str) -> SmsSize:
    encoding, widths = _unit_widths(text)
    units = sum(widths)
    single, part = LIMITS[encoding]
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments, room = 1, part
        for width in widths:
            if width > room:
                segments, room = segments + 1, part
            room -= width
    return SmsSize(encoding, len(text), units, segments)
