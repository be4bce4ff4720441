"""The storefront's in-app inbox feed and device registration (JSON API)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("inbox", __name__)
