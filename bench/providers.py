"""Sends per second through each HTTP provider adapter against a local fake answering in 5 ms.

Shows two things: connections are reused (the fake counts TCP connections: one per adapter, not one
per message), and batch-capable providers (SendGrid personalizations, Mailgun recipient variables,
FCM over one HTTP/2-capable pooled client) carry a campaign in few requests. Prints a table and
writes the "## Providers" section of bench/RESULTS.md (other sections are left as they are).

    python bench/providers.py [--messages 200] [--campaign 2000] [--latency-ms 5] [--results -]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.machine import describe  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Providers"

# (path pattern, status, body) the fake answers with: each provider's documented success shape.
ROUTES = [
    (r"/2010-04-01/Accounts/\w+/Messages.json", 201, {"sid": "SM1", "status": "queued"}),
    (r"/v3/mail/send", 202, b""),
    (r"/v2/email/outbound-emails", 200, {"MessageId": "ses-1"}),
    (r"/v3/[^/]+/messages", 200, {"id": "<1@mg.example>", "message": "Queued. Thank you."}),
    (r"/sms/json", 200, {"message-count": "1", "messages": [{"status": "0", "message-id": "v1", "to": "1"}]}),
    (r"/v1/Account/\w+/Message/", 202, {"message": "message(s) queued", "message_uuid": ["p1"], "api_id": "a"}),
    (r"/rest/SMS/messages", 200, {"success": True, "message": "", "errorCode": "ER-00",
                                  "data": {"MessageID": 1, "Status": "Queued"}}),
    (r"/messages", 200, {"messaging_product": "whatsapp", "contacts": [{"wa_id": "1"}],
                         "messages": [{"id": "wamid.1"}]}),
    (r"/token", 200, {"access_token": "ya29.bench", "expires_in": 3600, "token_type": "Bearer"}),
    (r"/v1/projects/[^/]+/messages:send", 200, {"name": "projects/p/messages/1"}),
    (r"/chat.postMessage", 200, {"ok": True, "channel": "C1", "ts": "1.1"}),
    (r"/bot[^/]+/sendMessage", 200, {"ok": True, "result": {"message_id": 1}}),
    (r"/v2/enqueue", 202, {"status": "success", "message": "Event processed", "dedup_key": "k"}),
    (r"/api/webhooks/", 200, {"id": "1"}),  # Discord
    (r"/v1/spaces/", 200, {"name": "spaces/s/messages/m"}),  # Google Chat
    (r"/workflows/", 202, b""),  # Teams
    (r"/", 200, {"id": "1"}),  # the generic webhook
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with self.server.lock:  # one handler per TCP connection: count connections here
            self.server.connections += 1

    def do_GET(self):  # noqa: N802
        body = json.dumps({"connections": self.server.connections, "requests": self.server.requests}).encode()
        self._reply(200, body)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.requests += 1
        time.sleep(self.server.latency)
        path = self.path.split("?")[0]
        for pattern, status, body in ROUTES:
            if re.match(pattern, path):
                self._reply(status, body if isinstance(body, bytes) else json.dumps(body).encode(),
                            {"X-Message-Id": "sg-1"})
                return

    def _reply(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(port_out, latency: float) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.latency, server.lock, server.connections, server.requests = latency, threading.Lock(), 0, 0
    port_out.value = server.server_port
    server.serve_forever()


class Fake:
    """The fake in a process of its own, so its threads do not compete for the measuring GIL."""

    def __init__(self, latency: float):
        port = multiprocessing.Value("i", 0)
        self.process = multiprocessing.Process(target=_serve, args=(port, latency), daemon=True)
        self.process.start()
        while not port.value:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port.value}"

    def stats(self) -> dict:
        with urlopen(self.url + "/stats") as response:  # noqa: S310 (local)
            return json.loads(response.read())

    def close(self):
        self.process.terminate()


def _service_account(url: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "project_id": "bench", "private_key_id": "k1", "private_key": pem,
                       "client_email": "bench@bench.iam.gserviceaccount.com", "client_id": "1",
                       "token_uri": f"{url}/token"})


def cases(url: str) -> list[tuple[str, str, dict, str]]:
    """(provider code, channel, config values, recipient) for every HTTP adapter."""
    return [
        ("twilio", "sms", {"account_sid": "AC" + "0" * 32, "auth_token": "t" * 32, "from_number": "+14155550000"},
         "+16135550142"),
        ("vonage", "sms", {"api_key": "k", "api_secret": "s" * 16, "from_number": "Acme"}, "+16135550142"),
        ("plivo", "sms", {"auth_id": "MA" + "0" * 18, "auth_token": "t" * 32, "from_number": "+14155550000"},
         "+16135550142"),
        ("unifonic", "sms", {"app_sid": "a" * 20, "sender_id": "Acme"}, "+966500000000"),
        ("360dialog", "whatsapp", {"api_key": "d" * 24}, "+16135550142"),
        ("sendgrid", "email", {"api_key": "SG." + "k" * 40, "from_email": "orders@acme.test"}, "bob@example.com"),
        ("mailgun", "email", {"domain": "mg.acme.test", "api_key": "key-" + "k" * 28, "from_email": "o@acme.test"},
         "bob@example.com"),
        ("ses", "email", {"region": "eu-west-1", "access_key_id": "AKIA" + "A" * 16, "secret_access_key": "s" * 40,
                          "from_email": "orders@acme.test"}, "bob@example.com"),
        ("fcm", "push", {"service_account_json": _service_account(url)}, "fcm:token-" + "x" * 100),
        ("slack", "ops", {"bot_token": "xoxb-" + "1" * 20, "channel": "C0123456"}, ""),
        ("teams", "ops", {"webhook_url": "https://acme.webhook.office.com/workflows/x"}, ""),
        ("discord", "ops", {"webhook_url": "https://discord.com/api/webhooks/1/abc"}, ""),
        ("google_chat", "ops", {"webhook_url": "https://chat.googleapis.com/v1/spaces/S/messages?key=k&token=t"}, ""),
        ("telegram", "ops", {"bot_token": "123456:" + "A" * 35, "chat_id": "-1001"}, ""),
        ("pagerduty", "ops", {"routing_key": "R" * 32}, ""),
        ("webhook", "sms", {"url": f"{url}/hook", "signing_secret": "s" * 20}, "+16135550142"),
    ]


def build(code: str, values: dict, url: str):
    from webapp.channels.providers.registry import providers

    cls = providers().get(code)
    if cls is None:
        return None
    secret_names = {f.name for f in cls.spec.fields if f.secret}
    settings = {k: v for k, v in values.items() if k not in secret_names}
    secrets = {k: v for k, v in values.items() if k in secret_names}
    return cls(settings=settings, secrets=secrets, base_url=url)


def message(i: int, channel: str, recipient: str, campaign: bool = False):
    from webapp.channels.providers.base import OutboundMessage

    body = "Spring sale: 20% off everything this weekend." if campaign else f"Your order #{1000 + i} has shipped."
    return OutboundMessage(i + 1, 1, channel, recipient.replace("bob@", f"bob{i}@"), "Acme news", body, f"bench-{i}")


def measure_sends(fake: Fake, code, channel, values, recipient, count: int) -> dict | None:
    provider = build(code, values, fake.url)
    if provider is None:
        return None
    provider.send(message(0, channel, recipient))  # warm-up: token fetch, connection set-up
    before = fake.stats()
    started = time.perf_counter()
    for i in range(count):
        provider.send(message(i, channel, recipient))
    seconds = time.perf_counter() - started
    after = fake.stats()
    return {"provider": code, "channel": channel, "messages": count, "per_second": count / seconds,
            "requests": after["requests"] - before["requests"],
            "new_connections": _new_connections(before, after)}


def _new_connections(before: dict, after: dict) -> int:
    return after["connections"] - before["connections"] - 1  # the stats request's own connection


def measure_batch(fake: Fake, code, channel, values, recipient, count: int) -> dict | None:
    provider = build(code, values, fake.url)
    if provider is None or provider.spec.max_batch < 2:
        return None
    messages = [message(i, channel, recipient, campaign=True) for i in range(count)]
    provider.send(message(0, channel, recipient))  # warm-up
    before = fake.stats()
    started = time.perf_counter()
    outcomes = []
    for start in range(0, count, provider.spec.max_batch):
        outcomes += provider.send_batch(messages[start:start + provider.spec.max_batch])
    seconds = time.perf_counter() - started
    after = fake.stats()
    failed = sum(1 for o in outcomes if isinstance(o, Exception))
    return {"provider": code, "channel": channel, "messages": count, "per_second": count / seconds,
            "requests": after["requests"] - before["requests"],
            "new_connections": _new_connections(before, after), "failed": failed,
            "max_batch": provider.spec.max_batch}


def render(args, singles: list[dict], batches: list[dict], missing: list[str]) -> str:
    lines = [HEADING, "",
             f"Generated by `bench/providers.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: each adapter sends through "
             f"its real code path (the official SDK where there is one) to a local fake that answers every request "
             f"after {args.latency_ms:g} ms, in a separate process, HTTP/1.1 keep-alive.", "",
             f"- Machine: {describe()}",
             f"- Command: `python bench/providers.py --messages {args.messages} --campaign {args.campaign} "
             f"--latency-ms {args.latency_ms:g}`", "",
             "### One message per request (transactional path), sequential, one worker thread", "",
             "| provider | channel | messages | sends/s | requests | new TCP connections |",
             "|---|---|---|---|---|---|"]
    for r in singles:
        lines.append(f"| {r['provider']} | {r['channel']} | {r['messages']} | {r['per_second']:.0f} | "
                     f"{r['requests']} | {r['new_connections']} |")
    lines += ["", "### Campaign batches (`send_batch`, the same content to many recipients)", "",
              "| provider | max per request | messages | sends/s | requests | new TCP connections | failed |",
              "|---|---|---|---|---|---|---|"]
    for r in batches:
        lines.append(f"| {r['provider']} | {r['max_batch']} | {r['messages']} | {r['per_second']:.0f} | "
                     f"{r['requests']} | {r['new_connections']} | {r['failed']} |")
    lines += ["", f"Ceiling for one request at a time: 1000 / {args.latency_ms:g} ms = "
              f"{1000 / args.latency_ms:.0f} sends/s. \"new TCP connections\" 0 means every request reused the "
              "connection opened during the warm-up send."]
    if missing:
        lines += ["", f"Not measured here: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    machine.write_section(path, HEADING, section)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="single sends per adapter (default 200)")
    parser.add_argument("--campaign", type=int, default=2000, help="campaign recipients per batch adapter")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="the fake's response time (default 5)")
    parser.add_argument("--results", default=str(RESULTS), help="RESULTS.md to update ('-': nowhere)")
    args = parser.parse_args(argv)

    from webapp import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "bench",
                      "ENCRYPTION_KEY": "sn2-s54TstX-EcKlI81UJgmv9kZ9P6CjNzfHvwOVHVQ="})
    fake = Fake(args.latency_ms / 1000)
    singles, batches, missing = [], [], []
    try:
        with app.app_context():
            for code, channel, values, recipient in cases(fake.url):
                single = measure_sends(fake, code, channel, values, recipient, args.messages)
                if single is None:
                    missing.append(f"{code} (not installed)")
                    continue
                singles.append(single)
                print(f"{code:<12} {channel:<9} {single['per_second']:6.0f} sends/s  "
                      f"{single['requests']} requests, {single['new_connections']} new connections", flush=True)
                batch = measure_batch(fake, code, channel, values, recipient, args.campaign)
                if batch:
                    batches.append(batch)
                    print(f"{code:<12} batch     {batch['per_second']:6.0f} sends/s  {batch['requests']} requests "
                          f"for {batch['messages']} messages, {batch['failed']} failed", flush=True)
    finally:
        fake.close()
    missing += ["apns (HTTP/2-only; its adapter is exercised against an HTTP/2 server in the tests)",
                "smtp (not HTTP)"]
    if args.results != "-":
        write_section(Path(args.results), render(args, singles, batches, missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
