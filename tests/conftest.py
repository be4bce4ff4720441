"""Shared fixtures: a real database (SQLite, and PostgreSQL when reachable), a real Redis,
an app per test, a client that logs in through the real form and sends CSRF tokens."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests import backends
from tests.factories import PASSWORD, make_store, make_user
from webapp import create_app
from webapp.accounts.models import PASSWORD_HASH
from webapp.channels import egress
from webapp.extensions import db as _db

PASSWORD_HASH["method"] = "pbkdf2:sha256:1000"  # fast: these passwords protect nothing
POSTGRES_URL = backends.postgres_url()
DB_PARAMS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(autouse=True)
def development_egress():
    """Every test starts as development does (loopback allowed, for the local fake providers), also
    those that build a provider without an app; a test that reconfigures to production changes it."""
    egress.set_policy(production=False)


@pytest.fixture(scope="session")
def redis_url():
    url = backends.redis_url()
    yield url
    backends.release(url)
    if url.startswith("unix://"):
        from webapp.redis_conn import stop_embedded_redis

        stop_embedded_redis(backends.EMBEDDED_DIR)


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory) -> dict[str, str]:
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"}
    if POSTGRES_URL:
        urls["postgresql"] = POSTGRES_URL
    return urls


_schema_ready: set[str] = set()


def make_app(database_url: str, redis_url: str, instance_path, **extra):
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret",
        "RETRY_BASE_SECONDS": 0.0,  # retries go straight back on the queue instead of the scheduler
        "ENCRYPTION_KEY": "sn2-s54TstX-EcKlI81UJgmv9kZ9P6CjNzfHvwOVHVQ=",
        **extra,
    })
    app.instance_path = str(instance_path)
    return app


@pytest.fixture(params=DB_PARAMS)
def app(request, database_urls, redis_url, tmp_path):
    backend = request.param
    url = database_urls[backend]
    app = make_app(url, redis_url, tmp_path)
    with app.app_context():
        # Keyed by URL, not backend: a second pytest run in one process (mutmut's) gets new files.
        if url not in _schema_ready:
            _db.drop_all()
            _db.create_all()
            _schema_ready.add(url)
        backends.flush(redis_url)
        yield app
        _db.session.remove()
        _truncate_all()


def _truncate_all() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def store(app):
    return make_store("acme", name="Acme Goods")


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


@pytest.fixture
def login_as(client, store):
    """login_as("support") creates a user with that role in `store` and signs in as it."""

    def login(role: str = "owner", in_store=None):
        user = make_user(in_store or store, role)
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        client.csrf = csrf_token(client, "/")
        return user

    return login
