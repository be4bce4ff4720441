"""The migrations build the same schema the models describe, on every backend we support."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from tests.conftest import DB_PARAMS, POSTGRES_URL
from webapp import models  # noqa: F401
from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def upgrade(database_url: str, tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "webapp",
           "SECRET_KEY": "x" * 32, "ENCRYPTION_KEY": "Gx1d4c1rXJ0hq0wY7yM5Xe0oJbX8q1H8VmKqk3nT2aE="}
    result = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def assert_models_match(engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


@pytest.mark.parametrize("backend", DB_PARAMS)
def test_upgrade_from_empty_database_matches_models(backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        upgrade(url, tmp_path)
        assert_models_match(create_engine(url))
    else:
        upgrade_postgres_schema(tmp_path)


def upgrade_postgres_schema(tmp_path):
    schema = f"migtest_{uuid.uuid4().hex[:8]}"
    base = POSTGRES_URL.split("?")[0]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url, tmp_path)
        assert_models_match(create_engine(url))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def test_make_runs_one_command_that_migrates_and_seeds(tmp_path):
    """`make run` calls `flask seed-demo --upgrade`: a fresh database comes out migrated and seeded."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "webapp", "SECRET_KEY": "x" * 32,
           "ENCRYPTION_KEY": "Gx1d4c1rXJ0hq0wY7yM5Xe0oJbX8q1H8VmKqk3nT2aE=", "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run([sys.executable, "-m", "flask", "seed-demo", "--upgrade"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Demo store “Demo Outfitters” (demo) is ready" in result.stdout
    engine = create_engine(url)
    assert_models_match(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notification_rules WHERE active")).scalar() > 0
