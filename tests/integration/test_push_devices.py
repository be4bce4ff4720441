"""A push token the provider reports gone (FCM UNREGISTERED, APNs 410) is removed from the customer."""
import pytest

from tests.factories import make_customer
from tests.pipeline import run_worker
from webapp.channels.accounts import configure_provider
from webapp.channels.providers.base import ProviderSpec, RecipientGone
from webapp.channels.providers.registry import providers
from webapp.customers.models import CustomerDevice
from webapp.dispatch.models import Notification
from webapp.dispatch.queueing import enqueue_ids
from webapp.extensions import db


class GoneProvider:
    spec = ProviderSpec("gone", "Gone", ("push",))

    def __init__(self, settings=None, secrets=None, base_url=None):
        pass

    def send(self, message):
        raise RecipientGone("HTTP 404: UNREGISTERED Requested entity was not found.")


@pytest.fixture
def gone(app):
    providers()["gone"] = GoneProvider
    yield
    providers().pop("gone", None)


def test_an_unregistered_token_fails_the_push_and_is_forgotten(app, store, gone):
    customer = make_customer(store)
    db.session.add_all([CustomerDevice(store_id=store.id, customer_id=customer.id, platform="fcm", token="dead"),
                        CustomerDevice(store_id=store.id, customer_id=customer.id, platform="apns", token="ab12")])
    row = Notification(store_id=store.id, customer_id=customer.id, source="api", message_type="order.ready",
                       channel="push", priority="transactional", recipient="fcm:dead", subject="Ready", body="…",
                       idempotency_key="push-gone-1")
    db.session.add(row)
    db.session.commit()
    configure_provider(store.id, "push", "gone", {})
    enqueue_ids("transactional", [row.id])
    run_worker()
    db.session.expire_all()
    assert db.session.get(Notification, row.id).status == "failed"
    assert [d.token for d in db.session.query(CustomerDevice).all()] == ["ab12"]
