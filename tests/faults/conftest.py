"""Fixtures of the fault suite: a Redis of the test's own, the recording provider, a store whose
Shopify cancellations send an email and an SMS through it."""
from __future__ import annotations

import pytest

from tests.faults.harness import RecordingProvider, TestRedis, use_provider, use_redis
from tests.pipeline import connect_sources, set_rule


@pytest.fixture
def own_redis(app, tmp_path):
    server = TestRedis(tmp_path / "redis")
    use_redis(app, server.url)
    yield server
    server.close()


@pytest.fixture
def provider():
    fake = RecordingProvider(delay=0.1)
    yield fake
    fake.close()


@pytest.fixture
def cancelling_store(store, provider):
    """Every Shopify cancellation sends an email and an SMS through the recording provider."""
    connect_sources(store)
    set_rule(store, "shopify", "cancelled")
    use_provider(store, provider.server.url)
    return store
