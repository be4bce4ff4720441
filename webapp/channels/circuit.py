"""A circuit breaker per store × channel × provider, kept in Redis so every worker shares it.

After `circuit_failure_threshold` (RuntimeSettings) consecutive failures (timeouts, 5xx, rate limits, bad
credentials) the provider is paused for `circuit_cooldown_seconds`: delivery skips straight to the
channel's next provider instead of spending each message's retries on a dead one. When the
pause ends one message is let through as a probe (a short Redis lock makes it one, across all
workers); its success closes the breaker, its failure pauses the provider again.

State lives in one hash per store, fields "<channel>:<provider>:fails" and ":open_until" (unix
seconds), so the Providers page reads a store's breakers in one call.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from webapp.redis_conn import get_redis
from webapp.runtime import RuntimeSettings

PROBE_SECONDS = 30  # how long one probe has before another worker may try
IDLE_EXPIRY_SECONDS = 86400  # a store whose providers stay quiet for a day starts afresh


@dataclass(frozen=True)
class BreakerState:
    consecutive_failures: int = 0
    open_until: datetime | None = None  # set while the provider is paused

    @property
    def is_open(self) -> bool:
        return self.open_until is not None and self.open_until > datetime.now(UTC)


def _hash(store_id: int) -> str:
    return f"notifyhub:circuit:{store_id}"


def allow(store_id: int, channel: str, provider: str, settings: RuntimeSettings) -> bool:
    """Whether to try this provider now. Fails open: without Redis every provider is tried."""
    threshold = settings.circuit_failure_threshold
    field = f"{channel}:{provider}"
    try:
        conn = get_redis()
        fails, open_until = conn.hmget(_hash(store_id), f"{field}:fails", f"{field}:open_until")
        if int(fails or 0) < threshold:
            return True
        if open_until and float(open_until) > time.time():
            return False
        # Cool-down over: half-open. Exactly one message probes the provider.
        return bool(conn.set(f"{_hash(store_id)}:probe:{field}", "1", nx=True, ex=PROBE_SECONDS))
    except redis.RedisError:
        return True


def record_failure(store_id: int, channel: str, provider: str, settings: RuntimeSettings) -> None:
    threshold, cooldown = settings.circuit_failure_threshold, settings.circuit_cooldown_seconds
    field, key = f"{channel}:{provider}", _hash(store_id)
    try:
        conn = get_redis()
        fails = conn.hincrby(key, f"{field}:fails", 1)
        if fails >= threshold:
            pipe = conn.pipeline()
            pipe.hset(key, f"{field}:open_until", time.time() + cooldown)
            pipe.delete(f"{key}:probe:{field}")
            pipe.expire(key, IDLE_EXPIRY_SECONDS)
            pipe.execute()
        else:
            conn.expire(key, IDLE_EXPIRY_SECONDS)
    except redis.RedisError:
        pass  # the breaker is an optimisation; delivery goes on without it


def record_success(store_id: int, channel: str, provider: str) -> None:
    field, key = f"{channel}:{provider}", _hash(store_id)
    try:
        conn = get_redis()
        # Most sends succeed on a healthy provider: skip the writes when nothing is recorded.
        if conn.hexists(key, f"{field}:fails"):
            pipe = conn.pipeline()
            pipe.hdel(key, f"{field}:fails", f"{field}:open_until")
            pipe.delete(f"{key}:probe:{field}")
            pipe.execute()
    except redis.RedisError:
        pass


def breaker_states(store_id: int) -> dict[tuple[str, str], BreakerState]:
    """Every provider of the store with recorded failures, keyed (channel, provider)."""
    try:
        raw = get_redis().hgetall(_hash(store_id))
    except redis.RedisError:
        return {}
    fails: dict[tuple[str, str], int] = {}
    opens: dict[tuple[str, str], float] = {}
    for name, value in raw.items():
        channel, provider, what = name.decode().rsplit(":", 2)
        if what == "fails":
            fails[(channel, provider)] = int(value)
        else:
            opens[(channel, provider)] = float(value)
    return {key: BreakerState(count, datetime.fromtimestamp(opens[key], UTC) if key in opens else None)
            for key, count in fails.items()}
