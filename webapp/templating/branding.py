"""A store's email branding: accent colour, logo, and the postal address in the footer."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from webapp.accounts.models import Store
from webapp.audit.models import record
from webapp.extensions import db

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class BrandingError(ValueError):
    """The branding was not saved; the message says which field and why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def set_branding(store: Store, accent: str, logo_url: str, address: str, user_id: int | None) -> None:
    accent, logo_url, address = (accent or "").strip(), (logo_url or "").strip(), " ".join((address or "").split())
    if accent and not HEX_COLOUR.match(accent):
        raise BrandingError("accent", "The accent colour is a hex colour such as #2f54eb.")
    if logo_url:
        parts = urlsplit(logo_url)
        if parts.scheme != "https" or not parts.netloc or len(logo_url) > 500 or any(c.isspace() for c in logo_url):
            raise BrandingError("logo_url", "The logo is an https:// image address of at most 500 characters.")
    if len(address) > 300:
        raise BrandingError("address", "The postal address can be at most 300 characters.")
    old = {"accent": store.brand_color, "logo_url": store.logo_url, "address": store.postal_address}
    store.brand_color, store.logo_url, store.postal_address = accent or None, logo_url or None, address or None
    record(store.id, user_id, "branding.updated", "email branding", old=old,
           new={"accent": store.brand_color, "logo_url": store.logo_url, "address": store.postal_address})
    db.session.commit()
