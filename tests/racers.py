"""What one racing checkout does in its own process (tests/integration/test_parallel_redemption.py).

A module of its own, so the racer processes import only the app: importing the test module
would import tests.conftest, whose import takes a PostgreSQL test schema slot for each racer."""
from __future__ import annotations

from webapp import create_app
from webapp.accounts.models import Store
from webapp.extensions import db
from webapp.pipeline.checkout_complete import Refused, complete
from webapp.promotions.checkout_input import parse
from webapp.timeutil import utcnow

ENCRYPTION_KEY = "sn2-s54TstX-EcKlI81UJgmv9kZ9P6CjNzfHvwOVHVQ="  # the tests' own, as in tests/conftest.py
_apps: dict[str, object] = {}  # in each racer process: one app per database, built once


def _app(database_url: str, redis_url: str, instance: str):
    if database_url not in _apps:
        app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                          "SECRET_KEY": "test-secret", "ENCRYPTION_KEY": ENCRYPTION_KEY})
        app.instance_path = instance
        _apps[database_url] = app
    return _apps[database_url]


def race_checkout(task: tuple) -> tuple:
    """Wait at the barrier with the others, then complete the checkout: ("ok", number), or the
    refusal's (status, message), or ("error", repr) for anything else."""
    database_url, redis_url, instance, store_id, payload, barrier = task
    with _app(database_url, redis_url, instance).app_context():
        try:
            store = db.session.get(Store, store_id)
            checkout, problems = parse(payload, "USD", needs_number=True)
            assert not problems, problems
            barrier.wait(timeout=60)
            complete(store, checkout, utcnow())
            return ("ok", payload["number"])
        except Refused as refused:
            return (refused.status, refused.message)
        except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
            return ("error", repr(error))
        finally:
            db.session.remove()
