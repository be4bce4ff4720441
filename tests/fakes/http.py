"""A tiny local HTTP server for tests that stands in for a provider's or platform's API.

Each route checks the request the real API documents and answers like it; every request is kept
in `requests` so tests can assert on exactly what was sent.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Recorded], Reply]


class FakeServer:
    """Serves `handler` on a local port. An assertion that fails inside the handler (a request the
    real API would refuse as malformed) is answered 500 and kept: close() raises it in the test that
    started the server, instead of the product seeing only a dropped connection and retrying past it."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.requests: list[Recorded] = []
        self.errors: list[AssertionError] = []
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                fake.requests.append(recorded)
                try:
                    reply = fake.handler(recorded)
                except AssertionError as error:
                    fake.errors.append(error)
                    reply = Reply(500, {"error": f"the fake's check failed: {error}"})
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self.errors:
            errors, self.errors = self.errors, []
            raise AssertionError(f"the fake at {self.url} refused {len(errors)} request(s): {errors[0]}")


class FakeApi:
    """Base for a provider's fake API served by a FakeServer.

    A subclass provides `handle(request: Recorded) -> Reply`, answering each request as the real API
    would; while `fail_with` is set it should answer that Reply instead (where the real API would get
    that far). It appends what it accepted to `messages`. The base gives `url`, `requests` (every
    request received), `reset()` and `close()`. Subclasses set up extra state in their own __init__
    after calling super().__init__(), and extend reset() if that state needs forgetting too.

    With keep_alive=True the server speaks HTTP/1.1 and keeps connections open, as most real APIs do,
    and `connections` counts the TCP connections it accepted (to check clients reuse them)."""

    def __init__(self, keep_alive: bool = False):
        self.messages: list = []
        self.fail_with: Reply | None = None
        self.connections = 0  # TCP connections accepted; counted only with keep_alive
        self.server = FakeServer(self.handle)
        self.url = self.server.url
        if keep_alive:
            httpd = self.server._server
            # The handler class is made per FakeServer, so this changes only this fake's server.
            httpd.RequestHandlerClass.protocol_version = "HTTP/1.1"
            accept = httpd.process_request

            def counting(request, client_address):
                self.connections += 1
                accept(request, client_address)

            httpd.process_request = counting

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def handle(self, request: Recorded) -> Reply:  # pragma: no cover - subclasses answer
        raise NotImplementedError

    def reset(self) -> None:
        """Forget earlier requests and failures, so one server can serve a whole test module."""
        self.messages.clear()
        self.server.requests.clear()
        self.fail_with = None

    def close(self) -> None:
        self.server.close()
