"""The plain-text part of an email, generated from its HTML when the template writes none: tags
dropped, blocks on their own lines, a link followed by its address in brackets, and what is hidden
(the preheader, <head>, scripts and styles) left out."""
from __future__ import annotations

import re
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser

HIDDEN_MARK = "data-plain-text"  # an element with data-plain-text="skip" is left out


class _TextExtractor(HTMLParser):
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
    SKIPPED = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip: list[str] = []  # tags being skipped, innermost last
        self.links: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if self.skip or tag in self.SKIPPED or values.get(HIDDEN_MARK) == "skip":
            if tag not in ("br", "img", "meta", "link", "input"):
                self.skip.append(tag)
            return
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag == "a":
            self.links.append(values.get("href"))
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if self.skip:
            if self.skip[-1] == tag:
                self.skip.pop()
            return
        if tag == "a" and self.links:
            href = self.links.pop()
            # A template's link is usually a variable ({{ order.url }}), kept for the text template.
            if href and href.strip().startswith(("http://", "https://", "mailto:", "{{")):
                self.parts.append(f" ({href})")
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


@lru_cache(maxsize=512)
def text_template(body_source: str) -> str:
    """The plain-text template of an HTML email template: made once per template version (tags
    dropped, Jinja kept), then rendered per message like any template, which costs a few
    microseconds where converting each rendered email would cost hundreds."""
    return html_to_text(body_source)


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of an HTML body."""
    if "<" not in html:
        return unescape(html)
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
