"""A local stand-in for the SMS and email providers, speaking the generic webhook provider's protocol.

Answers every POST with 200 {"id": "<uuid>"}, the same id again for an `Idempotency-Key` it has
seen, checks the `X-NotifyHub-Signature`, and records when each message first arrived. It runs in
a process of its own (`start()`), so its work does not compete for the measuring process's GIL.
GET /stats returns everything recorded. Usage on its own:
    python bench/fake_provider.py [--port N] [--secret S]
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import multiprocessing
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen

from bench.machine import stop_process

HOST = "127.0.0.1"
SIGNATURE_MAX_AGE = 300


@dataclass
class _State:
    secret: str
    counter: object | None = None  # a multiprocessing.Value("i") other processes can poll cheaply
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: dict[str, str] = field(default_factory=dict)  # idempotency key → message id
    arrivals: list[tuple[int | None, str, float]] = field(default_factory=list)  # (notification id, path, t)
    requests: int = 0
    duplicates: int = 0
    bad_signatures: int = 0
    bad_bodies: int = 0


def valid_signature(secret: str, header: str, body: bytes, now: float) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - timestamp) <= SIGNATURE_MAX_AGE and hmac.compare_digest(expected, parts.get("v1", ""))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers and httpx's pool expect
    # Headers and body are two writes: without TCP_NODELAY the body waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        now = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state = self.server.state
        if not valid_signature(state.secret, self.headers.get("X-NotifyHub-Signature", ""), body, now):
            with state.lock:
                state.requests += 1
                state.bad_signatures += 1
            self._answer(401, {"error": "bad signature"})
            return
        try:
            notification_id = json.loads(body).get("notification_id")
        except (ValueError, AttributeError):
            with state.lock:
                state.requests += 1
                state.bad_bodies += 1
            self._answer(400, {"error": "body is not a JSON object"})
            return
        key = self.headers.get("Idempotency-Key") or uuid.uuid4().hex
        with state.lock:
            state.requests += 1
            message_id = state.ids.get(key)
            if message_id is None:
                message_id = state.ids[key] = uuid.uuid4().hex
                state.arrivals.append((notification_id, self.path.strip("/"), now))
                if state.counter is not None:
                    state.counter.value += 1
            else:
                state.duplicates += 1
        self._answer(200, {"id": message_id})

    def do_GET(self) -> None:  # noqa: N802
        if self.path != "/stats":
            self._answer(404, {"error": "only /stats"})
            return
        state = self.server.state
        with state.lock:
            stats = {"requests": state.requests, "duplicates": state.duplicates,
                     "bad_signatures": state.bad_signatures, "bad_bodies": state.bad_bodies,
                     "arrivals": list(state.arrivals)}
        self._answer(200, stats)

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass  # one line per message would cost more than answering it


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    state: _State


def serve(secret: str, port_out, counter=None, port: int = 0) -> None:
    """Serve until killed; writes the bound port into `port_out` (a multiprocessing.Value)."""
    server = _Server((HOST, port), _Handler)
    server.state = _State(secret=secret, counter=counter)
    port_out.value = server.server_address[1]
    server.serve_forever(poll_interval=0.2)


@dataclass
class FakeProvider:
    process: multiprocessing.Process
    port: int
    counter: object

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def delivered(self) -> int:
        return self.counter.value

    def stats(self) -> dict:
        with urlopen(f"{self.url}/stats", timeout=30) as response:  # noqa: S310 (our own 127.0.0.1 server)
            return json.loads(response.read())

    def stop(self) -> None:
        stop_process(self.process)


def start(secret: str, timeout: float = 15.0) -> FakeProvider:
    """The fake provider in a fresh (spawned) process, once it listens."""
    ctx = multiprocessing.get_context("spawn")
    port, counter = ctx.Value("i", 0), ctx.Value("i", 0)
    process = ctx.Process(target=serve, args=(secret, port, counter), name="fake-provider", daemon=True)
    process.start()
    deadline = time.monotonic() + timeout
    while port.value == 0:
        if not process.is_alive() or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the fake provider did not start")
        time.sleep(0.02)
    return FakeProvider(process, port.value, counter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--secret", default="bench-signing-secret-0123456789")
    args = parser.parse_args()
    print(f"fake provider on http://{HOST}:{args.port}/<anything>; GET /stats")
    serve(args.secret, multiprocessing.Value("i", 0), port=args.port)


if __name__ == "__main__":
    main()
