"""POST /api/v1/segments and GET /api/v1/segments/<id>/count: the issue's fields exactly, bad rules
refused naming the field with nothing saved, and a store sees only its own segments."""
import pytest
from sqlalchemy import func, select

from tests.factories import make_store
from webapp.campaigns.models import Segment
from webapp.consent.state import set_consent
from webapp.customers.models import Customer
from webapp.events.api_keys import create_api_key
from webapp.extensions import db


@pytest.fixture
def auth(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'marketing').plaintext}"}


def test_a_segment_is_saved_and_counted_live(client, store, auth):
    for email, tags in (("a@b.test", ["vip"]), ("b@b.test", ["vip"]), ("c@b.test", [])):
        customer = Customer(store_id=store.id, email=email, tags=tags)
        db.session.add(customer)
        db.session.commit()
        set_consent(customer, "email", "opted_in", "checkout")
    db.session.commit()
    answer = client.post("/api/v1/segments", headers=auth, json={
        "name": "VIPs", "match": "all", "conditions": [{"field": "tags", "op": "any_of", "value": ["vip"]}]})
    assert answer.status_code == 201
    segment_id = answer.get_json()["id"]
    counted = client.get(f"/api/v1/segments/{segment_id}/count", headers=auth).get_json()
    assert (counted["matched"], counted["reachable"]) == (2, 2)
    # Evaluated when asked, never copied: a new VIP counts at once.
    late = Customer(store_id=store.id, email="d@b.test", tags=["vip"])
    db.session.add(late)
    db.session.commit()
    counted = client.get(f"/api/v1/segments/{segment_id}/count?channel=email", headers=auth).get_json()
    assert (counted["matched"], counted["reachable"], counted["excluded"]["not_opted_in"]) == (3, 2, 1)


def test_bad_rules_name_the_field_and_save_nothing(client, store, auth):
    answer = client.post("/api/v1/segments", headers=auth, json={
        "name": "x", "match": "all", "conditions": [{"field": "total_spent", "op": "gt", "value": "lots"}]})
    assert answer.status_code == 422 and answer.get_json()["field"] == "conditions[0].value"
    assert client.post("/api/v1/segments", headers=auth, json={"name": "", "conditions": []}).get_json()[
        "field"] == "name"
    assert client.post("/api/v1/segments", headers=auth, json={"name": "x", "color": "red"}).status_code == 422
    assert client.post("/api/v1/segments", headers=auth, data="nope").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 0


def test_another_stores_segment_is_not_found(client, store, auth):
    theirs = make_store("theirs")
    their_auth = {"Authorization": f"Bearer {create_api_key(theirs.id, 'k').plaintext}"}
    segment_id = client.post("/api/v1/segments", headers=their_auth, json={"name": "T", "conditions": []}
                             ).get_json()["id"]
    assert client.get(f"/api/v1/segments/{segment_id}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/segments/{segment_id}/count", headers=auth).status_code == 404
    assert client.get(f"/api/v1/segments/{segment_id}/count?channel=fax", headers=their_auth).status_code == 422
    assert client.get("/api/v1/segments/1/count").status_code == 401
