"""A local stand-in for SendGrid's v3 POST /mail/send, in a process of its own, for bench/campaign.py.

Checks what the official SDK sends (`Authorization: Bearer <key>`, a JSON body with at most 1,000
personalizations and each address once), waits `latency` seconds (5 ms: a provider's answer time),
answers 202 with an X-Message-Id, and records each request: when it arrived, how long it took, how
many recipients it carried and their notification ids (the personalization's `custom_args`, or the
mail's for a single send). Requests are served on threads, so concurrent senders wait in parallel.
GET /stats returns everything recorded; two shared counters (recipients, and recipients at the
campaign's domain) can be polled without a request. Usage on its own:
    python bench/sendgrid_server.py [--port N] [--latency 0.005]
"""
from __future__ import annotations

import argparse
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
API_KEY = "SG.bench-key.0123456789abcdef"
PERSONALIZATIONS = 1000  # SendGrid's limit per request, and as many recipients in all


@dataclass
class _State:
    latency: float
    campaign_domain: str
    recipients: object | None = None  # multiprocessing.Value("i"): every recipient received
    campaign: object | None = None  # recipients whose address is at campaign_domain
    lock: threading.Lock = field(default_factory=threading.Lock)
    # (arrived, answered, recipients, body bytes, notification ids): time.time() of both moments
    requests: list[tuple[float, float, int, int, list]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SendGrid and httpx's pool do
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK wait
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        arrived = time.time()
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            status, payload, ids, campaign = self._check(body)
            time.sleep(state.latency)
        finally:
            with state.lock:
                state.in_flight -= 1
        if status != 202:
            with state.lock:
                state.refused[str(status)] = state.refused.get(str(status), 0) + 1
            self._answer(status, payload)
            return
        with state.lock:
            state.requests.append((arrived, time.time(), len(ids), len(body), ids))
            if state.recipients is not None:
                state.recipients.value += len(ids)
                state.campaign.value += campaign
        self._answer(202, None, {"X-Message-Id": uuid.uuid4().hex[:22]})

    def _check(self, body: bytes) -> tuple[int, dict | None, list, int]:
        """(status, error body, notification ids, recipients at the campaign domain)."""
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return 401, _error("The provided authorization grant is invalid, expired, or revoked"), [], 0
        if self.path != "/v3/mail/send":
            return 404, _error("not found"), [], 0
        try:
            mail = json.loads(body)
            personalizations = mail["personalizations"]
            addresses = [to["email"] for p in personalizations for to in p["to"]]
        except (ValueError, KeyError, TypeError):
            return 400, _error("Bad Request"), [], 0
        if not personalizations or len(personalizations) > PERSONALIZATIONS or len(addresses) > PERSONALIZATIONS:
            return 400, _error(f"{len(personalizations)} personalizations: 1 to 1000 per request"), [], 0
        if len({a.lower() for a in addresses}) != len(addresses):
            return 400, _error("Each unique email address in the personalizations array should only be "
                               "included once."), [], 0
        top = (mail.get("custom_args") or {}).get("notification_id")
        ids = [int((p.get("custom_args") or {}).get("notification_id") or top or 0) for p in personalizations]
        domain = self.server.state.campaign_domain
        return 202, None, ids, sum(1 for a in addresses if a.endswith(domain))

    def do_GET(self) -> None:  # noqa: N802
        if self.path != "/stats":
            self._answer(404, _error("only /stats"))
            return
        state = self.server.state
        with state.lock:
            stats = {"requests": list(state.requests), "refused": dict(state.refused),
                     "max_in_flight": state.max_in_flight}
        self._answer(200, stats)

    def _answer(self, status: int, payload: dict | None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


def _error(message: str) -> dict:
    return {"errors": [{"message": message, "field": None, "help": None}]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    state: _State


def serve(latency: float, campaign_domain: str, port_out, recipients=None, campaign=None, port: int = 0) -> None:
    """Serve until killed; writes the bound port into `port_out` (a multiprocessing.Value)."""
    server = _Server((HOST, port), _Handler)
    server.state = _State(latency, campaign_domain, recipients, campaign)
    port_out.value = server.server_address[1]
    server.serve_forever(poll_interval=0.2)


@dataclass
class SendGridServer:
    process: multiprocessing.Process
    port: int
    recipients: object
    campaign: object

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def received(self) -> int:
        return self.recipients.value

    def campaign_received(self) -> int:
        return self.campaign.value

    def stats(self) -> dict:
        with urlopen(f"{self.url}/stats", timeout=60) as response:  # noqa: S310 (our own 127.0.0.1 server)
            return json.loads(response.read())

    def stop(self) -> None:
        stop_process(self.process)


def start(latency: float = 0.005, campaign_domain: str = "@example.test", timeout: float = 15.0) -> SendGridServer:
    """The server in a fresh (spawned) process, once it listens."""
    ctx = multiprocessing.get_context("spawn")
    port, recipients, campaign = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
    process = ctx.Process(target=serve, args=(latency, campaign_domain, port, recipients, campaign),
                          name="sendgrid-server", daemon=True)
    process.start()
    deadline = time.monotonic() + timeout
    while port.value == 0:
        if not process.is_alive() or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the local SendGrid server did not start")
        time.sleep(0.02)
    return SendGridServer(process, port.value, recipients, campaign)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds before each answer (default 0.005)")
    args = parser.parse_args()
    print(f"SendGrid stand-in on http://{HOST}:{args.port}/v3/mail/send (key {API_KEY}); GET /stats")
    serve(args.latency, "@example.test", multiprocessing.Value("i", 0), port=args.port)


if __name__ == "__main__":
    main()
