"""Login rate limiting, counted in Redis so every web process shares the count.

Failures are counted per e-mail address and per client IP; past the limit, sign-in is refused
until the window expires, whatever the password. A success clears the per-address count.
"""
from __future__ import annotations

from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Throttle:
    max_failures: int = 5
    window_seconds: int = 900

    def _keys(self, email: str, ip: str) -> tuple[str, str]:
        return (f"login-fail:email:{email.strip().lower()}", f"login-fail:ip:{ip}")

    def retry_after(self, conn: redis.Redis, email: str, ip: str) -> int:
        """Seconds until sign-in is allowed again; 0 when it is allowed now."""
        email_key, ip_key = self._keys(email, ip)
        # The IP limit is looser: many staff may share an office address.
        limits = ((email_key, self.max_failures), (ip_key, self.max_failures * 4))
        waits = []
        for key, limit in limits:
            count = conn.get(key)
            if count is not None and int(count) >= limit:
                waits.append(max(conn.ttl(key), 1))
        return max(waits, default=0)

    def reserve(self, conn: redis.Redis, email: str, ip: str) -> int:
        """Count this attempt as a failure up front (record_success takes it back); returns the
        seconds to wait when the attempt is over the limit, 0 when it may go ahead."""
        wait = self.retry_after(conn, email, ip)
        if wait:
            return wait
        self.record_failure(conn, email, ip)
        return 0

    def record_failure(self, conn: redis.Redis, email: str, ip: str) -> None:
        pipe = conn.pipeline()
        for key in self._keys(email, ip):
            # The window starts at the first failure (SET NX EX works on the embedded Redis 6.2 too).
            pipe.set(key, 0, ex=self.window_seconds, nx=True)
            pipe.incr(key)
        pipe.execute()

    def record_success(self, conn: redis.Redis, email: str, ip: str) -> None:
        email_key, ip_key = self._keys(email, ip)
        pipe = conn.pipeline()
        pipe.delete(email_key)
        pipe.decr(ip_key)  # take back the attempt reserve() counted
        pipe.execute()
