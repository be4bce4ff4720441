"""Login rate limiting, counted in Redis so every web process shares the count.

Built so guessing is slow but a stranger cannot lock the owner out:
- per account and client (address × IP): `max_failures` failures lock that client out of that
  account for the window; the right password from any other client still signs in;
- per client IP: four times that, for every account together (one address guessing many);
- per account, from anywhere: past `max_failures` × 10 failures in the window the account is only
  tried once every `slow_seconds`, whoever tries, so a botnet gains little and the owner waits at
  most that long (and is told so).
A success clears the client's count for the account and takes the attempt back from the others.
"""
from __future__ import annotations

from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Throttle:
    max_failures: int = 5
    window_seconds: int = 900
    slow_seconds: int = 10

    def _keys(self, email: str, ip: str) -> tuple[str, str, str]:
        email = email.strip().lower()
        return (f"login-fail:pair:{email}:{ip}", f"login-fail:ip:{ip}", f"login-fail:email:{email}")

    def retry_after(self, conn: redis.Redis, email: str, ip: str) -> int:
        """Seconds until this client may try this account again; 0 when it may now."""
        pair_key, ip_key, email_key = self._keys(email, ip)
        pair, per_ip, per_account = conn.mget(pair_key, ip_key, email_key)
        waits = [max(conn.ttl(key), 1) for key, count, limit in (
            (pair_key, pair, self.max_failures), (ip_key, per_ip, self.max_failures * 4))
            if count is not None and int(count) >= limit]
        if not waits and per_account is not None and int(per_account) >= self.max_failures * 10:
            # Under attack from many clients: one attempt per slow_seconds for the whole account.
            slot = f"login-slot:{email.strip().lower()}"
            if not conn.set(slot, 1, nx=True, ex=self.slow_seconds):
                waits.append(max(conn.ttl(slot), 1))
        return max(waits, default=0)

    def reserve(self, conn: redis.Redis, email: str, ip: str) -> int:
        """Count this attempt as a failure up front (record_success takes it back); returns the
        seconds to wait when the attempt is over a limit, 0 when it may go ahead."""
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
        pair_key, ip_key, email_key = self._keys(email, ip)
        pipe = conn.pipeline()
        pipe.delete(pair_key)
        pipe.decr(ip_key)  # take back the attempt reserve() counted
        pipe.decr(email_key)
        pipe.execute()
