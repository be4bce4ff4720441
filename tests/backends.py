"""Which real database and Redis the tests use: PostgreSQL and the machine's Redis when they
are reachable, and SQLite and an embedded Redis when not, so a fresh machine passes too."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import redis

from webapp.redis_conn import is_reachable, start_embedded_redis

PG_SCHEMA = "notifyhub_test"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOCAL_REDIS = "redis://127.0.0.1:6379/13"  # a database number of its own; tests flush it


def postgres_url() -> str | None:
    """The PostgreSQL URL to test against, or None when none is reachable."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    if not base.startswith("postgresql"):
        return None
    try:
        import psycopg

        conninfo = base.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=2, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
    except Exception:
        return None
    return f"{base}?options=-csearch_path%3D{PG_SCHEMA}"


EMBEDDED_DIR = Path(tempfile.gettempdir()) / f"notifyhub-test-redis-{os.getpid()}"


def redis_url() -> str:
    """REDIS_URL when set, else the machine's Redis, else an embedded one for this run
    (in EMBEDDED_DIR; stop it with webapp.redis_conn.stop_embedded_redis)."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        if not is_reachable(configured):
            raise RuntimeError(f"REDIS_URL={configured} is set but not reachable")
        return configured
    if is_reachable(LOCAL_REDIS):
        return LOCAL_REDIS
    return start_embedded_redis(EMBEDDED_DIR)


def flush(url: str) -> None:
    redis.Redis.from_url(url).flushdb()
