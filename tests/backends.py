"""Which real database and Redis the tests use: PostgreSQL and the machine's Redis when they
are reachable, and SQLite and an embedded Redis when not, so a fresh machine passes too."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import redis

from webapp.redis_conn import is_reachable, start_embedded_redis

PG_SCHEMA = "notifyhub_test_{slot}"
PG_SLOTS = range(1, 9)
_pg_lock_conn = None  # held open for the whole run: the advisory lock dies with the process
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOCAL_REDIS = "redis://127.0.0.1:6379/{db}"
TEST_DBS = range(8, 16)  # the tests flush the database they use; concurrent runs each take their own


def postgres_url() -> str | None:
    """The PostgreSQL URL to test against, or None when none is reachable.

    Each concurrent test run on the machine takes its own schema (an advisory lock per slot),
    because the tests truncate every table between tests. With REQUIRE_POSTGRES set (CI), an
    unreachable PostgreSQL fails the run instead of quietly halving the suite."""
    global _pg_lock_conn
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    if not base.startswith("postgresql"):
        return None
    try:
        import psycopg

        conninfo = base.replace("postgresql+psycopg://", "postgresql://")
        conn = psycopg.connect(conninfo, connect_timeout=2, autocommit=True)
    except Exception as error:
        if os.environ.get("REQUIRE_POSTGRES"):
            raise RuntimeError(f"REQUIRE_POSTGRES is set but PostgreSQL is unreachable: {error}") from error
        return None
    for slot in PG_SLOTS:
        if conn.execute("SELECT pg_try_advisory_lock(7141, %s)", (slot,)).fetchone()[0]:
            schema = PG_SCHEMA.format(slot=slot)
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            _pg_lock_conn = conn
            return f"{base}?options=-csearch_path%3D{schema}"
    conn.close()
    raise RuntimeError("every PostgreSQL test schema slot is taken by another test run")


EMBEDDED_DIR = Path(tempfile.gettempdir()) / f"notifyhub-test-redis-{os.getpid()}"


def redis_url() -> str:
    """REDIS_URL when set, else the machine's Redis, else an embedded one for this run
    (in EMBEDDED_DIR; stop it with webapp.redis_conn.stop_embedded_redis)."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        if not is_reachable(configured):
            raise RuntimeError(f"REDIS_URL={configured} is set but not reachable")
        if configured.startswith("unix://"):
            return configured
        # The same server, but a test database of its own: the tests flush what they use.
        return _claim_db(configured.split("?")[0].rsplit("/", 1)[0] if configured.count("/") > 2 else configured)
    if is_reachable(LOCAL_REDIS.format(db=0)):
        return _claim_db("redis://127.0.0.1:6379")
    return start_embedded_redis(EMBEDDED_DIR)


def _claim_db(server: str) -> str:
    """Take a Redis database number (8-15) on `server` that no other test run is using."""
    server = server.rstrip("/")
    lock = redis.Redis.from_url(f"{server}/0")
    for db in TEST_DBS:
        if lock.set(f"notifyhub:test-run:db{db}", os.getpid(), nx=True, ex=3 * 3600):
            return f"{server}/{db}"
    raise RuntimeError("every Redis test database 8-15 is taken by another test run")


def release(url: str) -> None:
    if url.startswith("redis://"):
        server, db = url.rsplit("/", 1)
        redis.Redis.from_url(f"{server}/0").delete(f"notifyhub:test-run:db{db}")


def flush(url: str) -> None:
    redis.Redis.from_url(url).flushdb()
