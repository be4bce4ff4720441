"""Which template a message uses, and from which layer.

The product specification's order: the store's own template in the customer's locale → the store's
own in the store's default locale → the platform default in the customer's locale, its base
language (pt-BR → pt), the store's locale, its base language, then English. The answer says which
layer and locale it used, so a fallback is visible ("shown in English: no pt-BR template").
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError

from webapp.templating.defaults import FALLBACK_LOCALE, default_template

STORE, DEFAULT = "store", "default"


class TemplateMissing(LookupError):
    """No template exists for this message type and channel in any fallback language."""


@dataclass(frozen=True)
class ResolvedTemplate:
    layer: str  # STORE or DEFAULT
    locale: str  # the locale of the template used
    requested: str  # the customer's locale (or the store's when the customer has none)
    fields: Mapping[str, str]

    @property
    def subject(self) -> str:
        return self.fields.get("subject") or self.fields.get("title") or ""

    @property
    def body(self) -> str:
        return self.fields.get("body", "")

    @property
    def fell_back(self) -> bool:
        return self.locale != self.requested

    def describe(self) -> str:
        """“Your template, Português (Brasil)” or “Default template, shown in English: no de-CH template”."""
        layer = "Your template" if self.layer == STORE else "Default template"
        if not self.fell_back:
            return f"{layer}, {locale_name(self.locale)}"
        return f"{layer}, shown in {locale_name(self.locale)}: no {self.requested} template"


def normalize_locale(code: str | None) -> str | None:
    """"pt_br" and "PT-BR" → "pt-BR"; None or "" → None."""
    if not code:
        return None
    language, _, region = code.replace("_", "-").partition("-")
    return f"{language.lower()}-{region.upper()}" if region else language.lower()


def locale_name(code: str) -> str:
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name("en") or code
    except (UnknownLocaleError, ValueError):
        return code


def default_chain(customer_locale: str | None, store_locale: str) -> list[str]:
    chain: list[str] = []
    for locale in (normalize_locale(customer_locale), normalize_locale(store_locale), FALLBACK_LOCALE):
        for candidate in (locale, locale.split("-")[0] if locale else None):
            if candidate and candidate not in chain:
                chain.append(candidate)
    return chain


def resolve_template(message_type: str, channel: str, customer_locale: str | None, store_locale: str,
                     overrides: Mapping[tuple[str, str, str], Mapping[str, str]] | None = None) -> ResolvedTemplate:
    customer, store = normalize_locale(customer_locale), normalize_locale(store_locale) or FALLBACK_LOCALE
    requested = customer or store
    for locale in dict.fromkeys(filter(None, (customer, store))):
        found = (overrides or {}).get((message_type, channel, locale))
        if found:
            return ResolvedTemplate(STORE, locale, requested, found)
    for locale in default_chain(customer, store):
        found = default_template(message_type, channel, locale)
        if found:
            return ResolvedTemplate(DEFAULT, locale, requested, found)
    raise TemplateMissing(f"No {channel} template for {message_type}")
