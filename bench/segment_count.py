"""Seconds to count who a segment reaches among 100,000 customers (the editor's live count and a
send's start both walk the live list): customers imported as bench/customer_import.py does, with
orders for a third of them, then each segment counted three times, best kept. SQLite, and
PostgreSQL when it answers at 127.0.0.1:5432 (a schema of its own, dropped afterwards). Writes the
"## Segment count" section of bench/RESULTS.md. Prints numbers; asserts nothing.

    python bench/segment_count.py [--rows 100000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench import machine  # noqa: E402
from bench.customer_import import generate, one_import  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.accounts.provisioning import create_store  # noqa: E402
from webapp.campaigns.audience import reach  # noqa: E402
from webapp.campaigns.segment_rules import parse  # noqa: E402
from webapp.customers.models import Customer  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.orders.models import Order  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Segment count"
PG_SCHEMA = "notifyhub_bench_segments"
SEGMENTS = {
    "everyone": ("all", []),
    "tag any of vip": ("all", [{"field": "tags", "op": "any_of", "value": ["vip"]}]),
    "vip and spent > 100 and ordered this year": ("all", [
        {"field": "tags", "op": "any_of", "value": ["vip"]}, {"field": "total_spent", "op": "gt", "value": 100},
        {"field": "last_order_at", "op": "after", "value": "2026-01-01"}]),
}


def add_orders(store_id: int) -> int:
    ids = db.session.scalars(select(Customer.id).where(Customer.store_id == store_id).order_by(Customer.id)).all()
    start = datetime(2025, 6, 1, tzinfo=UTC)
    rows = [{"store_id": store_id, "source": "shopify", "external_id": str(n), "number": str(n), "customer_id": cid,
             "status": "delivered", "total": Decimal(20 + n % 300), "currency": "USD", "kind": "order",
             "created_at": start + timedelta(days=n % 500), "updated_at": start}
            for n, cid in enumerate(ids[::3])]
    for offset in range(0, len(rows), 5000):
        db.session.execute(insert(Order), rows[offset:offset + 5000])
    db.session.commit()
    return len(rows)


def measure(label: str, url: str, rows: int) -> list[str]:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    lines = []
    with app.app_context():
        db.drop_all()
        db.create_all()
        store = create_store("bench-segments", "Bench Goods")
        one_import(store.id, None, generate(rows))
        orders = add_orders(store.id)
        print(f"{label}: {rows:,} customers, {orders:,} orders", flush=True)
        for name, (match, conditions) in SEGMENTS.items():
            parsed_match, parsed, _ = parse(match, conditions)
            best, counted = float("inf"), None
            for _ in range(3):
                started = time.perf_counter()
                counted = reach(store.id, parsed_match, parsed, "email")
                best = min(best, time.perf_counter() - started)
            lines.append(f"| {label} | {name} | {counted.matched:,} | {counted.reachable:,} | {best:.2f} |")
            print(lines[-1], flush=True)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--results", default=str(RESULTS), help="RESULTS.md to update ('-': nowhere)")
    args = parser.parse_args(argv)
    table = []
    with tempfile.TemporaryDirectory(prefix="notifyhub-segments-") as tmp:
        for label, url, teardown in machine.databases(tmp, PG_SCHEMA):
            try:
                table += measure(label, url, args.rows)
            finally:
                if teardown:
                    teardown()
    lines = [HEADING, "", f"`python bench/segment_count.py --rows {args.rows}` — {machine.describe()}", "",
             "Who a segment reaches by email among the imported customers (a third with an order): the live",
             "list read in pages of 5,000 with each customer's order count, total and last order, the rules",
             "matched in Python, then consent for the page (by id range) and the store's suppressions (read",
             "once). Best of three. Under 3 s for 100,000 is fine for a send's start; the editor's live count",
             "wants less (a count by SQL for rules that need no Python, next).", "",
             "| Database | Segment | Matched | Reachable | Seconds |", "|---|---|---:|---:|---:|", *table, ""]
    machine.publish(args.results, HEADING, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
