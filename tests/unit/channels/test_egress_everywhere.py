"""Every outbound connection the product makes from merchant configuration goes through the egress
gate (webapp/channels/egress.py): no module opens a client, socket or SDK transport of its own, so a
new provider or integration cannot bypass the gate by accident."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Modules that may connect directly, and why.
ALLOWED = {
    "webapp/channels/egress.py": "the gate itself",
}
HTTPX_CALLS = {"Client", "AsyncClient", "HTTPTransport", "AsyncHTTPTransport", "get", "post", "put", "patch",
               "delete", "head", "options", "request", "stream"}
DIRECT_CALLS = {("smtplib", "SMTP"), ("smtplib", "SMTP_SSL"), ("smtplib", "LMTP"), ("socket", "create_connection"),
                ("socket", "socket"), ("boto3", "client"), ("boto3", "resource")}
FORBIDDEN_IMPORTS = ("requests", "urllib3", "urllib.request", "http.client", "aiohttp", "twilio.http.http_client",
                     "botocore.httpsession", "smtplib.SMTP")


def _sources():
    for folder in ("webapp", "jobs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative not in ALLOWED:
                yield relative, ast.parse(path.read_text(), relative)


def _gated_boto_clients(tree) -> set[int]:
    """ids of `session.client(...)` calls that are the first argument of aws_transport.gated(...)."""
    return {id(node.args[0]) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "gated"
            and node.args and isinstance(node.args[0], ast.Call)}


def _problems(relative: str, tree) -> list[str]:
    found, gated = [], _gated_boto_clients(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom):
                names += [f"{node.module}.{alias.name}" for alias in node.names]
            found += [f"{relative}:{node.lineno} imports {name}" for name in names
                      if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_IMPORTS)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
            if owner == "httpx" and node.func.attr in HTTPX_CALLS:
                found.append(f"{relative}:{node.lineno} calls httpx.{node.func.attr}")
            if (owner, node.func.attr) in DIRECT_CALLS:
                found.append(f"{relative}:{node.lineno} calls {owner}.{node.func.attr}")
            if node.func.attr == "client" and owner in ("session", "boto3") and id(node) not in gated:
                found.append(f"{relative}:{node.lineno} builds a boto3 client not wrapped in aws_transport.gated")
    return found


def test_no_module_connects_outside_the_egress_gate():
    problems = [problem for relative, tree in _sources() for problem in _problems(relative, tree)]
    assert problems == []


def test_the_check_itself_finds_a_direct_connection():
    tree = ast.parse("import httpx\nimport requests\nhttpx.get('http://x')\nsmtplib.SMTP('h')\n"
                     "session.client('sesv2')\naws_transport.gated(session.client('sesv2'), 'sesv2')\n")
    assert _problems("x.py", tree) == ["x.py:2 imports requests", "x.py:3 calls httpx.get", "x.py:4 calls smtplib.SMTP",
                                       "x.py:5 builds a boto3 client not wrapped in aws_transport.gated"]
