"""Settings → Providers: a store's provider accounts per channel (owner only)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("providers", __name__, url_prefix="/settings/providers")
