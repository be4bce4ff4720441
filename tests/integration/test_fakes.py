"""The local fakes report a request they refuse to the test that started them."""
from __future__ import annotations

import httpx
import pytest

from tests.fakes.http import FakeServer, Reply


def test_an_assertion_inside_a_fake_fails_the_test_that_started_it():
    def handler(request):
        assert request.headers.get("Authorization") == "Bearer right", "missing credentials"
        return Reply(200, {"ok": True})

    server = FakeServer(handler)
    assert httpx.get(server.url, headers={"Authorization": "Bearer right"}).status_code == 200
    refused = httpx.get(server.url)
    assert refused.status_code == 500 and "missing credentials" in refused.json()["error"]
    with pytest.raises(AssertionError, match="refused 1 request"):
        server.close()
