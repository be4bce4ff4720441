"""The platform's default templates: every message type × channel × supported locale.

The wording lives in one file per locale (`defaults/<locale>.json`): shared phrases (greetings, table
headings, button labels) and, per message type, a subject, a paragraph for email and in-app, and a
short text for SMS, WhatsApp, push and in-app. This module assembles each channel's template from them, the
same way for every language, so a translator edits sentences, never markup. Loaded once per process
(and idempotently: the same files give the same templates).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from webapp.templating import catalog

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"
FALLBACK_LOCALE = "en"
RTL_LOCALES = frozenset({"ar", "he", "fa", "ur"})
# The button an email ends with, per message type prefix: (phrase, the URL variable it opens).
BUTTONS = {"order.": ("view_order", "order.url"), "invoice.": ("view_order", "order.url"),
           "payment.": ("view_order", "order.url"), "refund.": ("view_order", "order.url"),
           "shipping.": ("track", "order.tracking.url"), "account.password_reset": ("reset", "reset.url"),
           "gdpr.export_ready": ("download", "gdpr.download_url"), "gift_card.": ("shop", "store.url"),
           "cart.": ("cart", "cart.url"), "review.": ("review", "review.url"),
           "campaign.": ("campaign", "campaign.url")}


@lru_cache(maxsize=1)
def locales() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in DEFAULTS_DIR.glob("*.json")))


@lru_cache(maxsize=32)
def phrases(locale: str) -> dict:
    return json.loads((DEFAULTS_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def default_template(type_key: str, channel: str, locale: str) -> dict[str, str] | None:
    """The platform's template of a type on a channel in exactly `locale`, or None."""
    return _all().get((type_key, channel, locale))


@lru_cache(maxsize=1)
def _all() -> dict[tuple[str, str, str], dict[str, str]]:
    built = {}
    for locale in locales():
        words = phrases(locale)
        for key, message_type in catalog.MESSAGE_TYPES.items():
            entry = words["types"].get(key)
            if entry is None:
                continue
            for channel in message_type.channels:
                built[(key, channel, locale)] = _assemble(message_type, channel, entry, words["common"])
    return built


def _assemble(message_type: catalog.MessageType, channel: str, entry: dict, common: dict) -> dict[str, str]:
    short = entry.get("short") or entry["text"]
    if channel == "email":
        return {"subject": entry["subject"], "preheader": short, "body": _email_body(message_type, entry, common),
                "text": ""}
    if channel in ("sms", "whatsapp"):
        note = "{% if note %} {{ note }}{% endif %}" if "note" in {v.name for v in message_type.variables} else ""
        return {"body": "{{ store.name }}: " + short + note}
    if channel == "push":
        return {"title": entry["subject"], "body": short, "link": _link(message_type)}
    if channel == "in_app":
        return {"title": entry["subject"], "body": short, "link": _link(message_type)}
    return {"body": short}


def _link(message_type: catalog.MessageType) -> str:
    button = _button(message_type.key)
    return "{{ " + button[1] + " or '' }}" if button else ""


def _button(key: str) -> tuple[str, str] | None:
    return next((value for prefix, value in BUTTONS.items() if key.startswith(prefix)), None)


def _email_body(message_type: catalog.MessageType, entry: dict, common: dict) -> str:
    names = {v.name for v in message_type.variables}
    parts = ["{% if customer.first_name %}<p>" + common["greeting"] + "</p>{% else %}<p>"
             + common["greeting_anonymous"] + "</p>{% endif %}",
             "<h1>" + entry["subject"] + "</h1>", "<p>" + entry["text"] + "</p>"]
    if "note" in names:
        parts.append('{% if note %}<p class="note"><strong>' + common["note"] + "</strong> {{ note }}</p>{% endif %}")
    for lines, total in (("order.lines", "order.total"), ("cart.lines", "cart.total")):
        if lines in names:
            parts.append(_lines_table(lines, total, common))
    button = _button(message_type.key)
    if button and button[1] in names:
        parts.append("{% if " + button[1] + ' %}<p class="button"><a href="{{ ' + button[1] + ' }}">'
                     + common[button[0]] + "</a></p>{% endif %}")
    parts.append("<p>" + common["sign_off"] + "</p>")
    return "\n".join(parts)


def _lines_table(lines: str, total: str, common: dict) -> str:
    return ("{% if " + lines + ' %}<table class="lines" role="presentation">'
            '<tr><th>' + common["item"] + "</th><th>" + common["quantity"] + '</th><th class="num">'
            + common["price"] + "</th></tr>\n"
            "{% for line in " + lines + " %}<tr><td>{{ line.name }}</td><td>{{ line.quantity }}</td>"
            '<td class="num">{{ line.price | money }}</td></tr>{% endfor %}\n'
            "{% if " + total + ' %}<tr class="total"><td colspan="2">' + common["total"]
            + '</td><td class="num">{{ ' + total + " | money }}</td></tr>{% endif %}</table>{% endif %}")


def unsubscribe_label(locale: str) -> str:
    """The footer's unsubscribe link text in `locale` (its base language, else English)."""
    for code in (locale, locale.split("-")[0], FALLBACK_LOCALE):
        if code in locales():
            return phrases(code)["common"]["unsubscribe"]
    return "Unsubscribe"


def direction(locale: str) -> str:
    return "rtl" if locale.split("-")[0] in RTL_LOCALES else "ltr"
