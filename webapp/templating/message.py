"""One message rendered from a channel's template fields and a context: what planning, the editor's
preview, the API's preview and test sends all call, so what a person previews is what is sent."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from webapp.templating.layout import PREHEADER_KEY, SUBJECT_KEY, Branding, branding_values, email_source
from webapp.templating.plain_text import text_template
from webapp.templating.render import render


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None  # the email's subject; push and in-app: the title
    body: str  # email: the whole HTML document; other channels: the text
    preheader: str | None = None
    text: str | None = None  # an email's plain-text part: the template's, else generated from the HTML
    link: str | None = None  # push and in-app


def render_message(channel: str, fields: Mapping[str, str], context: dict, *, branding: Branding,
                   lang: str = "en", direction: str = "ltr", marketing: bool = False,
                   unsubscribe_label: str = "Unsubscribe") -> RenderedMessage:
    def text(name: str) -> str:
        return render(fields.get(name) or "", context, channel=channel) if fields.get(name) else ""

    if channel == "email":
        subject = " ".join(text("subject").split())  # one line: a line break would end the header
        preheader = " ".join(text("preheader").split())
        source = email_source(fields.get("body") or "", branding, lang=lang, direction=direction,
                              marketing=marketing, unsubscribe_label=unsubscribe_label)
        body = render(source, context | branding_values(branding) | {SUBJECT_KEY: subject, PREHEADER_KEY: preheader},
                      html=True, channel="email")
        plain = text("text") or render(text_template(fields.get("body") or ""), context, channel="email")
        return RenderedMessage(subject, body, preheader, plain)
    if channel in ("push", "in_app"):
        return RenderedMessage(" ".join(text("title").split()), text("body"), link=text("link") or None)
    return RenderedMessage(None, text("body"))
