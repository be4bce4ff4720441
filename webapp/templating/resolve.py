"""Which template a message uses: a store's own for its type, channel and language if it has one,
else the built-in, falling back from the customer's language (pt-BR → pt) to the store's and
then to English."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from webapp.templating.defaults import DEFAULT_TEMPLATES


class TemplateMissing(LookupError):
    """No template exists for this message type and channel in any fallback language."""


@dataclass(frozen=True)
class ResolvedTemplate:
    locale: str
    subject: str
    body: str


def locale_chain(customer_locale: str | None, store_locale: str) -> list[str]:
    chain: list[str] = []
    for locale in (customer_locale, store_locale, "en"):
        if not locale:
            continue
        locale = locale.replace("_", "-")
        for candidate in (locale, locale.split("-")[0].lower()):
            if candidate not in chain:
                chain.append(candidate)
    return chain


def resolve_template(message_type: str, channel: str, customer_locale: str | None, store_locale: str,
                     overrides: Mapping[tuple[str, str, str], Mapping[str, str]] | None = None) -> ResolvedTemplate:
    for locale in locale_chain(customer_locale, store_locale):
        for table in (overrides or {}, DEFAULT_TEMPLATES):
            found = table.get((message_type, channel, locale))
            if found:
                return ResolvedTemplate(locale, found.get("subject", ""), found["body"])
    raise TemplateMissing(f"No {channel} template for {message_type}")
