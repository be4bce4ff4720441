"""Configuration read from environment variables, with safe defaults for development.

Every setting is documented in README.md. Production (APP_ENV=production) refuses to start
without an explicit SECRET_KEY and ENCRYPTION_KEY rather than invent ones nobody can recover.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


class ConfigError(RuntimeError):
    """A required setting is missing or invalid."""


def _persisted_secret(instance_path: Path, name: str, make) -> str:
    """Read a development secret from instance/, creating it once so restarts keep sessions."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment (and test overrides)."""
    env = os.environ
    overrides = overrides or {}
    instance = Path(instance_path)
    app_env = overrides.get("APP_ENV", env.get("APP_ENV", "development"))
    production = app_env == "production"

    secret_key = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    encryption_key = overrides.get("ENCRYPTION_KEY") or env.get("ENCRYPTION_KEY")
    if production and not (secret_key and encryption_key):
        raise ConfigError("APP_ENV=production requires SECRET_KEY and ENCRYPTION_KEY to be set")
    public_url = overrides.get("PUBLIC_BASE_URL", env.get("PUBLIC_BASE_URL", ""))
    if production and not public_url.startswith("https://"):
        # Every marketing email's unsubscribe link and every GDPR download link is built from it.
        raise ConfigError("APP_ENV=production requires PUBLIC_BASE_URL, this app's https:// address "
                          "(unsubscribe, preference and download links point there)")
    if not secret_key:
        secret_key = _persisted_secret(instance, "secret_key", lambda: secrets.token_hex(32))
    if not encryption_key:
        encryption_key = _persisted_secret(instance, "encryption_key", lambda: Fernet.generate_key().decode())

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'notifyhub.sqlite3'}"
    config = {
        "APP_ENV": app_env,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEY": encryption_key,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "WTF_CSRF_TIME_LIMIT": None,  # token lives as long as the session
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "LOGIN_MAX_FAILURES": int(env.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT_SECONDS": int(env.get("LOGIN_LOCKOUT_SECONDS", "900")),
        # Delivery and recovery timing (seconds), read once into webapp/runtime.py (see webapp/dispatch/).
        "RETRY_BASE_SECONDS": float(env.get("RETRY_BASE_SECONDS", "2")),
        "SWEEP_INTERVAL": int(env.get("SWEEP_INTERVAL", "15")),
        # Circuit breaker: a provider that failed this many times in a row is paused this long.
        "CIRCUIT_FAILURE_THRESHOLD": int(env.get("CIRCUIT_FAILURE_THRESHOLD", "5")),
        "CIRCUIT_COOLDOWN_SECONDS": float(env.get("CIRCUIT_COOLDOWN_SECONDS", "60")),
        # Where providers reach this app (https://notify.example.com): status callback URLs are
        # derived from it when a provider's own setting is left empty.
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "").rstrip("/"),
        # Escalations of the same cause within this window go out as one alert.
        "ALERT_GROUP_SECONDS": float(env.get("ALERT_GROUP_SECONDS", "60")),
        "TEMPLATE_MAX_SMS_SEGMENTS": int(env.get("TEMPLATE_MAX_SMS_SEGMENTS", "3")),
        "SWEEP_UNQUEUED_GRACE": float(env.get("SWEEP_UNQUEUED_GRACE", "5")),
        "SWEEP_REQUEUE_AFTER": float(env.get("SWEEP_REQUEUE_AFTER", "30")),
        # A delivery batch's time budget and the longest provider call; a claim's lease is their sum
        # plus a margin (webapp/runtime.py), after which the sweep may take a row from a dead worker.
        "BATCH_BUDGET_SECONDS": float(env.get("BATCH_BUDGET_SECONDS", "20")),
        "PROVIDER_CALL_SECONDS": float(env.get("PROVIDER_CALL_SECONDS", "30")),
        # What a 503 (database or Redis away) tells the sender to wait before retrying.
        "RETRY_AFTER_SECONDS": int(env.get("RETRY_AFTER_SECONDS", "5")),
        # Enqueueing gives up after this long (Redis hung) and leaves the rows to the sweep, so a
        # webhook is answered well within its sender's deadline (Shopify's is 5 s).
        "ENQUEUE_TIMEOUT_SECONDS": float(env.get("ENQUEUE_TIMEOUT_SECONDS", "0.3")),
    }
    config.update(overrides)
    if "DATABASE_URL" in overrides:
        config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(overrides["DATABASE_URL"])
    return config


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the common way (postgres://, postgresql://)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
