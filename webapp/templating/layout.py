"""The store's branded email layout around a template's body: logo, accent colour, footer with the
store's address, the unsubscribe link on marketing email; responsive and readable in dark mode.

Email clients ignore most <style> blocks, so the CSS is inlined (css-inline). That costs about
200 µs, so it is done once per template version and branding, not per message: the template's Jinja
tags are set aside as placeholders, the layout and body are inlined as one document, the tags are
put back, and the result is one Jinja source, compiled once and cached like any other (render.py).
A message then costs one render of an already inlined template.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from html import escape

import css_inline

DEFAULT_ACCENT = "#2f54eb"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
JINJA_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.DOTALL)
SUBJECT_KEY, PREHEADER_KEY = "_subject", "_preheader"
# The store's name, address and logo reach the layout as values, never as template text: a store
# named "{{ 7*7 }}" is shown as written.
NAME_KEY, ADDRESS_KEY, LOGO_KEY = "_brand_name", "_brand_address", "_brand_logo"
_INLINER = css_inline.CSSInliner(keep_style_tags=True)  # the <style> stays too, for media queries


@dataclass(frozen=True)
class Branding:
    store_name: str
    accent: str = DEFAULT_ACCENT
    logo_url: str | None = None
    address: str | None = None

    @property
    def colour(self) -> str:
        return self.accent if HEX_COLOUR.match(self.accent or "") else DEFAULT_ACCENT


STYLE = """
body { margin: 0; padding: 0; background: #f4f5f7; color: #1f2328;
  font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; }
.wrap { width: 100%; background: #f4f5f7; padding: 24px 0; }
.card { max-width: 600px; margin: 0 auto; background: #ffffff; border-radius: 8px; padding: 32px; }
.logo { margin: 0 0 20px; }
h1 { font-size: 22px; line-height: 1.3; margin: 0 0 12px; color: #1f2328; }
p { font-size: 16px; line-height: 1.5; margin: 0 0 14px; }
.button a { display: inline-block; background: ACCENT; color: #ffffff; text-decoration: none;
  padding: 12px 20px; border-radius: 6px; font-weight: 600; }
table.lines { width: 100%; border-collapse: collapse; margin: 8px 0 16px; }
table.lines th { text-align: start; font-size: 13px; color: #57606a; border-bottom: 1px solid #d0d7de;
  padding: 6px 4px; }
table.lines td { font-size: 15px; padding: 8px 4px; border-bottom: 1px solid #eaeef2; }
table.lines .num { text-align: end; }
tr.total td { font-weight: 600; border-bottom: 0; }
.note { background: #f6f8fa; border-inline-start: 3px solid ACCENT; padding: 10px 12px; }
.footer { max-width: 600px; margin: 16px auto 0; font-size: 12px; line-height: 1.5; color: #57606a;
  text-align: center; }
.footer a { color: #57606a; }
@media (prefers-color-scheme: dark) {
  body, .wrap { background: #0d1117 !important; }
  .card { background: #161b22 !important; }
  h1, p, td, th, .card { color: #e6edf3 !important; }
  .note { background: #0d1117 !important; }
}
@media (max-width: 620px) { .card { padding: 20px !important; border-radius: 0 !important; } }
"""


def branding_values(branding: Branding) -> dict:
    """The context values the layout shows (rendered, so escaped, never run as template code)."""
    return {NAME_KEY: branding.store_name, ADDRESS_KEY: branding.address or "", LOGO_KEY: branding.logo_url or ""}


def email_source(body_source: str, branding: Branding, *, lang: str = "en", direction: str = "ltr",
                 marketing: bool = False, unsubscribe_label: str = "Unsubscribe") -> str:
    """The whole email as one Jinja source: the layout around `body_source`, CSS inlined."""
    shape = Branding("", branding.colour, "x" if branding.logo_url else None, "x" if branding.address else None)
    return _inlined(body_source, shape, lang, direction, marketing and unsubscribe_label)


@lru_cache(maxsize=512)
def _inlined(body_source: str, branding: Branding, lang: str, direction: str, marketing: str | bool) -> str:
    tags: list[str] = []
    # A marker no template can contain by chance (and a literal one in the text stays text).
    marker = secrets.token_hex(8)

    def set_aside(match: re.Match) -> str:
        tags.append(match.group(0))
        number = len(tags) - 1
        # Statements become comments (kept in place even between table rows); output becomes a word.
        return f"<!--nh{marker}:{number}-->" if match.group(0).startswith(("{%", "{#")) else f"nh{marker}x{number}x"

    protected = JINJA_TAG.sub(set_aside, body_source)
    document = _INLINER.inline(_layout(protected, branding, lang, direction, marketing))
    placeholder = re.compile(rf"<!--nh{marker}:(\d+)-->|nh{marker}x(\d+)x")
    return placeholder.sub(lambda m: tags[int(m.group(1) or m.group(2))], document)


def _layout(content: str, branding: Branding, lang: str, direction: str, marketing: str | bool) -> str:
    name = f"{{{{ {NAME_KEY} }}}}"
    logo = (f'<p class="logo"><img src="{{{{ {LOGO_KEY} }}}}" alt="{name}" height="40"></p>'
            if branding.logo_url else f'<p class="logo"><strong>{name}</strong></p>')
    address = f" · {{{{ {ADDRESS_KEY} }}}}" if branding.address else ""
    label = escape(marketing if isinstance(marketing, str) else "Unsubscribe")
    unsubscribe = (f'{{% if unsubscribe_url %}}<br><a href="{{{{ unsubscribe_url }}}}">{label}</a>{{% endif %}}'
                   if marketing else "")
    style = STYLE.replace("ACCENT", branding.colour)
    return (f'<!doctype html><html lang="{escape(lang)}" dir="{direction}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">'
            f"<title>{{{{ {SUBJECT_KEY} }}}}</title><style>{style}</style></head><body>"
            '<div data-plain-text="skip" style="display:none;max-height:0;overflow:hidden">'
            f'{{{{ {PREHEADER_KEY} }}}}</div>'
            f'<div class="wrap"><div class="card">{logo}{content}</div>'
            f'<div class="footer">{name}{address}{unsubscribe}</div></div></body></html>')
