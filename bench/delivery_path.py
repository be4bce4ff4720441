"""The worker's delivery path alone, in this process: no web tier, no RQ, no other process competing
for the cores but PostgreSQL and the fake provider. N email+sms pairs are delivered two per
deliver_batch call, as the pipeline's delivery jobs carry them, through the generic webhook
provider to bench/fake_provider.py. Prints notifications per second and CPU per notification.

Far less noisy than the pipeline's drain phase on a shared machine, so it is the one to compare
two versions of the delivery code with: run it on each, alternately, a few times.
    python bench/delivery_path.py [--pairs 1000] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fake_provider  # noqa: E402
from bench.machine import default_redis_url, describe  # noqa: E402
from bench.pipeline import choose_database  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.accounts.provisioning import create_store  # noqa: E402
from webapp.channels.models import ProviderConfig  # noqa: E402
from webapp.crypto import Vault  # noqa: E402
from webapp.dispatch.delivery import deliver_batch  # noqa: E402
from webapp.dispatch.models import Notification  # noqa: E402
from webapp.extensions import db  # noqa: E402

SIGNING_SECRET = "bench-signing-secret-0123456789"  # noqa: S105 - shared with a local fake only


def set_up(app, provider_url: str, pairs: int) -> list[int]:
    with app.app_context():
        db.drop_all()
        db.create_all()
        store = create_store("bench-delivery", "Bench Goods")
        secrets = Vault(app.config["ENCRYPTION_KEY"]).encrypt(json.dumps({"signing_secret": SIGNING_SECRET}))
        for channel in ("email", "sms"):
            db.session.add(ProviderConfig(store_id=store.id, channel=channel, provider="webhook", position=0,
                                          enabled=True, base_url=f"{provider_url}/{channel}",
                                          secrets_encrypted=secrets))
        rows = [Notification(store_id=store.id, source="shopify", message_type="order.cancelled", channel=channel,
                             priority="critical", recipient=recipient, subject="Cancelled", body="Your order…",
                             status="pending", idempotency_key=f"bench-{i}-{channel}")
                for i in range(pairs)
                for channel, recipient in (("email", f"c{i}@example.test"), ("sms", "+14155550100"))]
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
        db.session.remove()
        return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1000, help="email+sms pairs to deliver (default 1000)")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest calls")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="notifyhub-delivery-"))
    url, database, teardown = choose_database(None, tmp)
    app = create_app({"DATABASE_URL": url, "REDIS_URL": default_redis_url()})
    provider = fake_provider.start(SIGNING_SECRET)
    try:
        ids = set_up(app, provider.url, args.pairs)
        settings = app.extensions["runtime_settings"]
        profile = cProfile.Profile() if args.profile else None
        started, cpu = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        for start in range(0, len(ids), 2):
            with app.app_context():  # one context per job, as the worker runs them
                deliver_batch(ids[start:start + 2], settings)
        if profile:
            profile.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"{describe()}\n{database}")
        print(f"delivered {len(ids)} notifications in {wall:.2f} s: {len(ids) / wall:.0f}/s, "
              f"{cpu / len(ids) * 1000:.2f} ms CPU each in this process; the provider saw {provider.delivered()}")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    finally:
        provider.process.kill()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if teardown:
            teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
