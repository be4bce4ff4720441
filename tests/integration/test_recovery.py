"""The sweep takes back only what no live job holds (the fault suite, tests/faults/, kills workers
and takes Redis and the database away around it)."""
from datetime import timedelta

from tests.runtime import settings_of
from webapp.dispatch.models import Notification
from webapp.dispatch.recovery import sweep_notifications
from webapp.extensions import db
from webapp.timeutil import utcnow


def test_the_sweep_never_takes_a_row_whose_lease_is_live_however_old_the_claim(app, store):
    """A long batch: claimed ten minutes ago, lease still running. Only an expired lease is taken."""
    long_ago, now = utcnow() - timedelta(minutes=10), utcnow()
    rows = {}
    for name, expires in (("live", now + timedelta(seconds=30)), ("expired", now - timedelta(seconds=1))):
        rows[name] = Notification(store_id=store.id, source="api", message_type="order.ready", channel="email",
                                  priority="transactional", recipient=f"{name}@b.test", body="b", status="sending",
                                  idempotency_key=f"lease-{name}", claimed_at=long_ago, queued_at=long_ago,
                                  lease_owner="host:1/abcd", lease_expires_at=expires)
        db.session.add(rows[name])
    db.session.commit()
    assert sweep_notifications(settings_of(app)) == 1
    db.session.expire_all()
    assert db.session.get(Notification, rows["live"].id).status == "sending"
    assert db.session.get(Notification, rows["expired"].id).status == "pending"
