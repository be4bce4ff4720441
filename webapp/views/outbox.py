"""Placeholder; filled in by the pipeline work."""
from flask import Blueprint

bp = Blueprint("outbox", __name__)
