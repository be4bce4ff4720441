"""Sending limits over rolling windows (per second, minute, day), one limiter in Redis that every
worker on every machine shares: provider accounts (`provider:<config id>`) and campaigns
(`campaign:<id>`) are keys of it.

A sliding log, not fixed windows (which let twice the limit through around a boundary): each
window of a key is a sorted set of grants scored by the moment they were made, one member per
grant carrying its count ("<count>:<id>"), so a batch of 100 costs one member; the window's total
is kept beside it in a hash. One Lua script decides and records atomically, on the Redis server's
clock, so neither two workers nor two machines' clocks can both take the last slot.

`acquire` grants as many of n as fit in every window at once; `record` counts sends that are
never held (critical, transactional), so marketing sees the account's true usage; `settle` says a
grant's messages have gone out: they then count from the moment the last one left (what the
provider sees) and the ones not sent are given back.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis
from redis.commands.core import Script

from webapp.redis_conn import get_redis

PERIODS = {"second": 1, "minute": 60, "day": 86400}
MAX_LIMIT = 1_000_000
# Without Redis nothing can be counted, so nothing limited is sent: the caller tries again soon.
ERROR_RETRY_SECONDS = 5.0
PREFIX = "notifyhub:rate:"


@dataclass(frozen=True)
class Limit:
    per: str  # "second" | "minute" | "day"
    limit: int

    @property
    def seconds(self) -> int:
        return PERIODS[self.per]

    def describe(self) -> str:
        return f"{self.limit:,} a {self.per}"

    def as_json(self) -> dict:
        return {"per": self.per, "limit": self.limit}


@dataclass(frozen=True)
class Grant:
    granted: int
    retry_after: float = 0.0  # when granted < n: seconds until the next slot frees
    limited_by: Limit | None = None  # the window that ran out
    ticket: str = ""  # names the grant for settle()


# --- Validation ---------------------------------------------------------------------------------


def limit_problem(value: object) -> str | None:
    """Why a limit's value is unusable, or None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        return f"must be a whole number from 1 to {MAX_LIMIT}"
    return None


def parse_limits(raw: object) -> tuple[list[Limit], list[str]]:
    """Limits from untrusted JSON (`[{"per": "minute", "limit": 600}]`); None or [] is no limit.
    Returns the limits and the problems, each naming its entry; with problems, no limits."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], ['rate_limits must be a list like [{"per": "minute", "limit": 600}]']
    if len(raw) > len(PERIODS):
        return [], [f"rate_limits may have at most {len(PERIODS)} entries, one per window"]
    limits, problems, seen = [], [], {}
    for index, entry in enumerate(raw):
        where = f"rate_limits[{index}]"
        if not isinstance(entry, dict):
            problems.append(f'{where} must be an object like {{"per": "minute", "limit": 600}}')
            continue
        unknown = sorted(str(key) for key in entry if key not in ("per", "limit"))
        if unknown:
            problems.append(f"{where} has unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        per, value = entry.get("per"), entry.get("limit")
        if per not in PERIODS:
            problems.append(f"{where}.per must be one of {', '.join(PERIODS)}")
        elif per in seen:
            problems.append(f"{where}.per: {per} is already limited by rate_limits[{seen[per]}]")
        else:
            seen[per] = index
        problem = limit_problem(value)
        if problem:
            problems.append(f"{where}.limit {problem}")
        if not problems:
            limits.append(Limit(per, value))
    return ([], problems) if problems else (sorted(limits, key=lambda limit: limit.seconds), [])


def as_json(limits: Iterable[Limit]) -> list[dict] | None:
    """What is stored: the list, or None for no limits."""
    return [limit.as_json() for limit in limits] or None


def describe(limits: Iterable[Limit]) -> str:
    return " · ".join(limit.describe() for limit in limits)


# --- The limiter --------------------------------------------------------------------------------

# KEYS: the key's hash (window totals, the grant sequence), then one sorted set per window.
# ARGV: mode ("take", "force", "settle"), n, now in µs ("" = the server's clock), the ticket
# (settle), the granted count (settle), then per window: name, length in µs, limit.
# Returns {granted, µs until the next slot frees, index of the window that ran out (1-based; 0 = none), ticket}.
_LUA = b"""
if redis.replicate_commands then pcall(redis.replicate_commands) end  -- TIME before writes (Redis < 5)
local mode, n = ARGV[1], tonumber(ARGV[2])
local now
if ARGV[3] ~= '' then now = tonumber(ARGV[3]) else
  local t = redis.call('TIME'); now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local hash = KEYS[1]
local windows, longest = {}, 0
for i = 2, #KEYS do
  local at = 6 + (i - 2) * 3
  local w = {zset = KEYS[i], name = ARGV[at], length = tonumber(ARGV[at + 1]), limit = tonumber(ARGV[at + 2])}
  longest = math.max(longest, w.length)
  windows[#windows + 1] = w
end
local function fmt(x) return string.format('%.0f', x) end
local function count(member) return tonumber(string.match(member, '^(%d+):')) end
local function sum(members)
  local total = 0
  for _, member in ipairs(members) do total = total + count(member) end
  return total
end

-- Drop what left the window; the window's total, recounted if its hash field was lost.
local function used(w)
  local cutoff = fmt(now - w.length)
  local size = redis.call('ZCARD', w.zset)
  local expired = size > 0 and redis.call('ZCOUNT', w.zset, '-inf', cutoff) or 0
  if expired == size then
    if size > 0 then redis.call('DEL', w.zset) end
    redis.call('HDEL', hash, w.name)
    return 0
  end
  local total = redis.call('HGET', hash, w.name)
  if total then
    total = tonumber(total)
    if expired > 0 then total = total - sum(redis.call('ZRANGEBYSCORE', w.zset, '-inf', cutoff)) end
  end
  if expired > 0 then redis.call('ZREMRANGEBYSCORE', w.zset, '-inf', cutoff) end
  if not total then total = sum(redis.call('ZRANGE', w.zset, 0, -1)) end
  redis.call('HSET', hash, w.name, total)
  return total
end

local function add(w, member, units)
  redis.call('ZADD', w.zset, fmt(now), member)
  redis.call('HINCRBY', hash, w.name, units)
  redis.call('PEXPIRE', w.zset, fmt(w.length / 1000 + 1000))
end

local function keep_hash()  -- the hash outlives every window, so the sequence never restarts under one
  local need = math.floor(longest / 1000) + 1000
  if redis.call('PTTL', hash) < need then redis.call('PEXPIRE', hash, need) end
end

-- The moment window w has room for one more, given `total` units in it now.
local function frees_at(w, total)
  local over, freed, offset = total - w.limit + 1, 0, 0
  if over <= 0 then return now end
  while true do
    local chunk = redis.call('ZRANGE', w.zset, offset, offset + 99, 'WITHSCORES')
    if #chunk == 0 then return now + w.length end  -- a total out of step with the log: a full window
    for j = 1, #chunk, 2 do
      freed = freed + count(chunk[j])
      if freed >= over then return tonumber(chunk[j + 1]) + w.length end
    end
    offset = offset + 100
  end
end

if mode == 'settle' then
  local ticket, granted = ARGV[4], tonumber(ARGV[5])
  for _, w in ipairs(windows) do
    used(w)
    if redis.call('ZREM', w.zset, granted .. ':' .. ticket) == 1 then redis.call('HINCRBY', hash, w.name, -granted) end
    if n > 0 then add(w, n .. ':' .. ticket, n) end
  end
  if n > 0 then keep_hash() end
  return {n, 0, 0, ticket}
end

local totals, room = {}, n
for i, w in ipairs(windows) do
  totals[i] = used(w)
  room = math.min(room, w.limit - totals[i])
end
local grant = mode == 'force' and n or math.max(0, room)
local ticket = ''
if grant > 0 then
  ticket = fmt(now) .. '.' .. redis.call('HINCRBY', hash, 'seq', 1)
  for i, w in ipairs(windows) do
    add(w, grant .. ':' .. ticket, grant)
    totals[i] = totals[i] + grant
  end
  keep_hash()
end
local wait, binding = 0, 0
if grant < n then
  for i, w in ipairs(windows) do
    local t = frees_at(w, totals[i]) - now
    if t > wait then wait, binding = t, i end
  end
end
return {grant, wait, binding, ticket}
"""
_SCRIPT = Script(None, _LUA)  # bytes: the SHA needs no client; each call names its client


def _windows(limits: Iterable[Limit]) -> list[Limit]:
    """One limit per window (the tightest, if a caller gave two), shortest window first."""
    tightest: dict[str, Limit] = {}
    for limit in limits:
        if limit.per not in tightest or limit.limit < tightest[limit.per].limit:
            tightest[limit.per] = limit
    return sorted(tightest.values(), key=lambda limit: limit.seconds)


def _run(mode: str, key: str, windows: list[Limit], n: int, at: float | None, ticket: str = "",
         granted: int = 0) -> list:
    # The hash tag keeps a key's sets in one cluster slot, as a script needs.
    keys = [f"{PREFIX}{{{key}}}"] + [f"{PREFIX}{{{key}}}:{limit.per}" for limit in windows]
    args = [mode, n, "" if at is None else round(at * 1_000_000), ticket, granted]
    for limit in windows:
        args += [limit.per, limit.seconds * 1_000_000, limit.limit]
    return _SCRIPT(keys, args, client=get_redis())


def acquire(key: str, limits: Iterable[Limit], n: int = 1, *, at: float | None = None) -> Grant:
    """Take up to n slots from every window of `key` at once: as many as fit in all of them.

    `at` (unix seconds) decides for another moment than the Redis server's clock: for tests.
    Without Redis, nothing is granted and the caller is asked to come back in a few seconds."""
    windows = _windows(limits)
    if n <= 0 or not windows:
        return Grant(max(n, 0))
    try:
        granted, wait, binding, ticket = _run("take", key, windows, n, at)
    except (redis.RedisError, OSError):
        return Grant(0, ERROR_RETRY_SECONDS)
    return Grant(int(granted), int(wait) / 1_000_000, windows[int(binding) - 1] if binding else None,
                 _text(ticket))


def record(key: str, limits: Iterable[Limit], n: int, *, at: float | None = None) -> Grant:
    """Count n sends that go out whatever the limits say (critical, transactional): they use the
    account's capacity, so limited sends wait for them. A Redis error is ignored (granted 0)."""
    windows = _windows(limits)
    if n <= 0 or not windows:
        return Grant(max(n, 0))
    try:
        granted, _, _, ticket = _run("force", key, windows, n, at)
    except (redis.RedisError, OSError):
        return Grant(0)
    return Grant(int(granted), ticket=_text(ticket))


def settle(key: str, limits: Iterable[Limit], grant: Grant, used: int, *, at: float | None = None) -> None:
    """The grant's sends are done, `used` of them made: they count from now, not from the grant
    (a provider counts what it receives, and the last of a batch may leave seconds after the
    grant), and the unused ones are given back. A Redis error is ignored: the grant then keeps
    counting from when it was made."""
    windows = _windows(limits)
    if not grant.ticket or not windows:
        return
    try:
        _run("settle", key, windows, max(0, min(used, grant.granted)), at, grant.ticket, grant.granted)
    except (redis.RedisError, OSError):
        pass


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
