"""Rendering a campaign for many recipients: once per content variant, then per recipient by
substitution.

A variant (locale, A/B version, with or without a name) is rendered once with tokens where each
recipient's values go: their name, email, and the signed tokens of their unsubscribe and
preference links. A recipient's message is that rendering with the tokens replaced, and the
substitutions are kept on the notification, so a batch API (SendGrid substitutions, Mailgun
recipient variables) sends a thousand personalised mails in one request.

This is only right when the template uses those values as they are: `{{ customer.name|upper }}` or
`{% if customer.name == "Ann" %}` would bake the token into the output. So each variant is rendered
a second time with other tokens; when the two, substituted with the same values, differ, the
variant is rendered in full for every recipient instead (correct, just slower). Values that HTML
escaping or control-character stripping would change (an apostrophe in a name) are rendered in
full too.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from webapp.consent import links
from webapp.notifications.planner import StoreInfo
from webapp.templating import catalog
from webapp.templating.context import build_context
from webapp.templating.defaults import direction, unsubscribe_label
from webapp.templating.message import RenderedMessage, render_message

MESSAGE_TYPE = "campaign.message"
# Per-recipient values and their tokens (the provider-neutral form batching.py understands).
VALUES = ("name", "first", "email", "unsub", "prefs")
TOKENS = {name: f"[[nh:{name}]]" for name in VALUES}
_CHECK = {name: f"[[nh:{name}_alt_x]]" for name in VALUES}
_SAMPLE = {"name": "Sample Person", "first": "Sample", "email": "sample.person@example.com",
           "unsub": "U" * 40, "prefs": "P" * 44}
HREF = re.compile(r'(href=")(https?://[^"]+)(")')
TEXT_URL = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass(frozen=True)
class Person:
    customer_id: int
    name: str
    email: str


@dataclass(frozen=True)
class Output:
    subject: str | None
    body: str
    text: str | None
    headers: dict[str, str] | None
    substitutions: dict[str, str] | None


@dataclass(frozen=True)
class Variant:
    """A variant's rendering with tokens, and whether substitution reproduces a full render."""

    fields: Mapping[str, str]
    locale: str
    named: bool
    tokened: RenderedMessage
    transparent: bool


class CampaignRenderer:
    """Renders one campaign's messages; variants are rendered on first use and kept."""

    def __init__(self, store_id: int, store: StoreInfo, channel: str, utm: Mapping[str, str] | None = None,
                 reply_to: str | None = None):
        self.store_id, self.store, self.channel = store_id, store, channel
        self.utm, self.reply_to = dict(utm or {}), reply_to
        self._variants: dict[tuple, Variant] = {}
        self._base = links.base_url()

    def message(self, fields: Mapping[str, str], locale: str, person: Person) -> Output:
        variant = self._variant(fields, locale, bool(person.name.strip()))
        values = self._values(person)
        if variant.transparent and all(_plain(value) for value in values.values()):
            return self._substituted(variant, values)
        return self._full(fields, locale, person, values)

    def _variant(self, fields: Mapping[str, str], locale: str, named: bool) -> Variant:
        key = (tuple(sorted(fields.items())), locale, named)
        if key not in self._variants:
            tokened = self._render(fields, locale, TOKENS, named)
            check = self._render(fields, locale, _CHECK, named)
            sample = _SAMPLE if named else _SAMPLE | {"name": "", "first": ""}
            transparent = _substitute_all(tokened, TOKENS, sample) == _substitute_all(check, _CHECK, sample)
            self._variants[key] = Variant(fields, locale, named, tokened, transparent)
        return self._variants[key]

    def _render(self, fields: Mapping[str, str], locale: str, values: Mapping[str, str],
                named: bool) -> RenderedMessage:
        name = values["name"] if named else ""
        data = {"store": {"name": self.store.name, "url": self.store.url, "support_email": self.store.support_email},
                "customer": {"name": name or None, "first_name": values["first"] if named else None,
                             "email": values["email"], "phone": None},
                "unsubscribe_url": f"{self._base}/preferences/{values['prefs']}"}
        context = build_context(catalog.get(MESSAGE_TYPE), data, locale=locale, currency=self.store.currency,
                                timezone=self.store.timezone)
        rendered = render_message(self.channel, fields, context, branding=self.store.branding, lang=locale,
                                  direction=direction(locale), marketing=True,
                                  unsubscribe_label=unsubscribe_label(locale))
        return RenderedMessage(rendered.subject, self._tracked(rendered.body, html=self.channel == "email"),
                               rendered.preheader, self._tracked(rendered.text, html=False) if rendered.text else None)

    def _tracked(self, content: str, html: bool) -> str:
        """UTM parameters on every link to the shop, not on the unsubscribe and preference links."""
        if not self.utm:
            return content
        if html:
            return HREF.sub(lambda found: found[1] + self._with_utm(found[2]) + found[3], content)
        return TEXT_URL.sub(lambda found: self._with_utm(found[0]), content)

    def _with_utm(self, url: str) -> str:
        if url.startswith(self._base + "/unsubscribe/") or url.startswith(self._base + "/preferences/"):
            return url
        parts = urlsplit(url.replace("&amp;", "&"))
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
        query += [(f"utm_{key}", value) for key, value in self.utm.items() if value]
        rebuilt = urlunsplit(parts._replace(query=urlencode(query)))
        return rebuilt.replace("&", "&amp;") if "&amp;" in url or "&" not in url else rebuilt

    def _values(self, person: Person) -> dict[str, str]:
        name = " ".join(person.name.split())
        return {"name": name, "first": name.split()[0] if name else "", "email": person.email,
                "unsub": links.token(self.store_id, person.customer_id, self.channel),
                "prefs": links.token(self.store_id, person.customer_id, links.ALL_CHANNELS)}

    def _substituted(self, variant: Variant, values: dict[str, str]) -> Output:
        used = {TOKENS[name]: value for name, value in values.items() if _uses(variant.tokened, TOKENS[name])}
        headers = self._headers(TOKENS)
        if headers:
            used |= {TOKENS["unsub"]: values["unsub"]}
        rendered = _substitute_all(variant.tokened, TOKENS, values)
        return Output(rendered.subject or None, rendered.body, rendered.text,
                      _substitute_headers(headers, TOKENS, values), used or None)

    def _full(self, fields: Mapping[str, str], locale: str, person: Person, values: dict[str, str]) -> Output:
        rendered = self._render(fields, locale, values, bool(values["name"]))
        return Output(rendered.subject or None, rendered.body, rendered.text,
                      _substitute_headers(self._headers(TOKENS), TOKENS, values), None)

    def _headers(self, tokens: Mapping[str, str]) -> dict[str, str] | None:
        """RFC 8058 one-click unsubscribe on campaign email, and the sender's Reply-To."""
        if self.channel != "email":
            return None
        one_click = f"{self._base}/unsubscribe/{tokens['unsub']}"
        host = urlsplit(self._base).hostname or "localhost"
        mailto = f"mailto:unsubscribe@{host}?subject=unsubscribe%20{tokens['unsub']}"
        headers = {"List-Unsubscribe": f"<{one_click}>, <{mailto}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        if self.reply_to:
            headers["Reply-To"] = self.reply_to
        return headers


def _plain(value: str) -> bool:
    """A value substitution reproduces exactly: nothing HTML escaping, control-character stripping
    or whitespace folding (a subject is one line) would change."""
    return escape(value) == value and value.isprintable() and value == " ".join(value.split())


def _uses(rendered: RenderedMessage, token: str) -> bool:
    return any(token in (part or "") for part in (rendered.subject, rendered.body, rendered.text))


def _substitute(text: str | None, tokens: Mapping[str, str], values: Mapping[str, str]) -> str | None:
    if not text:
        return text
    for name, token in tokens.items():
        if token in text:
            text = text.replace(token, values[name])
    return text


def _substitute_all(rendered: RenderedMessage, tokens: Mapping[str, str], values: Mapping[str, str]) -> RenderedMessage:
    return RenderedMessage(_substitute(rendered.subject, tokens, values), _substitute(rendered.body, tokens, values),
                           None, _substitute(rendered.text, tokens, values))


def _substitute_headers(headers: dict[str, str] | None, tokens: Mapping[str, str],
                        values: Mapping[str, str]) -> dict[str, str] | None:
    return {key: _substitute(value, tokens, values) for key, value in headers.items()} if headers else None
