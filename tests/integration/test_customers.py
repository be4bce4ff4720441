"""Customers: CSV imports all or nothing (small ones in the request, large ones as a job with progress),
upserts by external id, email and phone, search and filters, the customer page and staff consent
changes, the customers API, roles, and one store never seeing another's customers."""
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import make_customer, make_order, make_store, make_user
from tests.integration.test_activity_pages import notification
from tests.integration.test_team import signed_in_client
from tests.pipeline import run_worker
from webapp.audit.models import AuditEntry
from webapp.consent.bulk import set_consents
from webapp.consent.models import ChannelSuppression, ConsentEvent, CustomerConsent
from webapp.consent.state import consents_of, set_consent
from webapp.customers import import_store
from webapp.customers.fields import ConsentChange
from webapp.customers.models import Customer, CustomerImport
from webapp.events.api_keys import create_api_key
from webapp.extensions import db
from webapp.views import customers as customers_view

GOOD = ("email,phone,name,tags,sms_consent\n"
        "ann@example.test,+14155550101,Ann Archer,vip,yes\n"
        "bob@example.test,,Bob Brown,,no\n"
        "carl@example.test,+14155550103,Carl Cruz,\"vip, wholesale\",\n")
BAD = GOOD.replace("bob@example.test", "bob@")


def upload(client, text: str, filename: str = "customers.csv"):
    return client.post("/customers/imports", data={"csrf_token": client.csrf, "file": (io.BytesIO(text.encode()),
                                                                                          filename)},
                       content_type="multipart/form-data")


def start(client, import_id: int, columns: list[str], origin: str = "checkout", **extra):
    return client.post(f"/customers/imports/{import_id}", data={"csrf_token": client.csrf, "column": columns,
                                                                "consent_origin": origin, **extra})


def import_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def customers_of(store) -> list[Customer]:
    db.session.expire_all()
    return list(db.session.scalars(select(Customer).where(Customer.store_id == store.id).order_by(Customer.id)))


COLUMNS = ["email", "phone", "name", "tags", "sms_consent"]


# ------------------------------------------------------------------------------------------- imports

def test_a_file_with_one_bad_row_imports_nothing_and_names_the_line(client, login_as, store):
    login_as("marketer")
    preview = client.get(f"/customers/imports/{import_id_of(upload(client, BAD))}")
    page = preview.get_data(as_text=True)
    assert "3 customer rows, comma separated" in page and "bob@" in page and 'value="sms_consent" selected' in page
    import_id = int(preview.request.path.rsplit("/", 1)[1])
    result = client.get(start(client, import_id, COLUMNS).headers["Location"]).get_data(as_text=True)
    assert "Refused: nothing was imported." in result
    assert "line 3: email “bob@” is not a valid email address" in result
    assert customers_of(store) == [] and db.session.scalar(select(func.count(ConsentEvent.id))) == 0
    row = db.session.get(CustomerImport, import_id)
    assert (row.status, row.content, row.errors) == (
        "failed", None, [{"line": 3, "error": "email “bob@” is not a valid email address"}])


def test_an_import_creates_and_updates_customers_with_their_consent(client, login_as, store):
    uploader = login_as("owner")
    known = make_customer(store, email="bob@example.test", phone=None, name="Robert", tags=["old"])
    linked = make_customer(store, email="carl.old@example.test", phone="+14155550199", external_ids={"import": "c-3"})
    set_consent(known, "sms", "opted_in", "checkout")
    db.session.commit()
    text = ("external_id,email,phone,name,tags,sms_consent,email_consent\n"
            "c-1,ann@example.test,+14155550101,Ann Archer,vip,yes,yes\n"
            ",bob@example.test,,,\"vip, old\",no,\n"
            "c-3,carl@example.test,,Carl Cruz,,,\n"
            ",,+14155550104,Dee Dunn,,,no\n")
    import_id = import_id_of(upload(client, text, "crm.csv"))
    columns = ["external_id", "email", "phone", "name", "tags", "sms_consent", "email_consent"]
    done = client.get(start(client, import_id, columns, origin="signup_form").headers["Location"])
    assert "Imported 4 rows: 2 new customers, 2 updated." in done.get_data(as_text=True)

    by_email = {c.email: c for c in customers_of(store)}
    assert set(by_email) == {"ann@example.test", "bob@example.test", "carl@example.test", None}
    assert (by_email["bob@example.test"].id, by_email["bob@example.test"].name, by_email["bob@example.test"].tags) == \
        (known.id, "Robert", ["old", "vip"])  # empty cells keep what was there; tags are added
    carl = by_email["carl@example.test"]
    assert (carl.id, carl.name, carl.phone) == (linked.id, "Carl Cruz", "+14155550199")  # found by external id
    ann = by_email["ann@example.test"]
    assert (ann.external_ids, ann.tags, ann.locale) == ({"import": "c-1"}, ["vip"], "en")
    assert consents_of(ann.id) == {"sms": "opted_in", "email": "opted_in"}
    assert consents_of(known.id) == {"sms": "opted_out"}
    assert consents_of(by_email[None].id) == {"email": "opted_out"}
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.customer_id == known.id, ConsentEvent.source ==
                                                         "import"))
    assert (event.action, event.actor, event.detail) == (
        "opt_out", uploader.email, "crm.csv line 3; consent given: A sign-up form on the website")
    assert set(db.session.execute(select(ConsentEvent.channel, ConsentEvent.address)
                                  .where(ConsentEvent.customer_id == ann.id)).all()) == {
        ("sms", "+14155550101"), ("email", "ann@example.test")}
    row = db.session.get(CustomerImport, import_id)
    assert (row.status, row.content, row.created_count, row.updated_count, row.consent_source) == (
        "done", None, 2, 2, "signup_form")
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "customers.imported"))
    assert audit.new == {"rows": 4, "created": 2, "updated": 2, "consent_changes": 4}


def test_importing_the_same_file_twice_changes_nothing_the_second_time(client, login_as, store):
    login_as("marketer")
    for _ in range(2):
        start(client, import_id_of(upload(client, GOOD)), COLUMNS)
    assert len(customers_of(store)) == 3
    assert db.session.scalar(select(func.count(ConsentEvent.id))) == 2  # yes and no once; the empty cell nothing
    latest = import_store.recent_imports(store.id)[0]
    assert (latest.created_count, latest.updated_count) == (0, 0)


def test_rows_for_the_same_customer_in_one_file_become_one_customer(client, login_as, store):
    login_as("owner")
    text = "email,phone,tags\nann@example.test,,a\nann@example.test,+14155550101,b\n,+14155550101,c\n"
    start(client, import_id_of(upload(client, text)), ["email", "phone", "tags"])
    [ann] = customers_of(store)
    assert (ann.email, ann.phone, ann.tags) == ("ann@example.test", "+14155550101", ["a", "b", "c"])


def test_a_phone_shared_with_someone_else_does_not_merge_two_people(client, login_as, store):
    login_as("owner")
    mum = make_customer(store, email="mum@example.test", phone="+14155550101")
    start(client, import_id_of(upload(client, "email,phone\nkid@example.test,+14155550101\n")), ["email", "phone"])
    assert [c.email for c in customers_of(store)] == [mum.email, "kid@example.test"]


def test_importing_consent_requires_saying_where_it_came_from(client, login_as, store):
    login_as("owner")
    import_id = import_id_of(upload(client, GOOD))
    refused = start(client, import_id, COLUMNS, origin="")
    assert refused.status_code == 400 and "importing consent requires it" in refused.get_data(as_text=True)
    assert customers_of(store) == [] and db.session.get(CustomerImport, import_id).status == "previewed"
    bad_mapping = start(client, import_id, ["", "", "name", "tags", ""], origin="")
    assert bad_mapping.status_code == 400 and "Choose the email or the phone column" in bad_mapping.get_data(True)
    without_consent = start(client, import_id, ["email", "phone", "name", "tags", ""], origin="")
    assert without_consent.status_code == 302 and len(customers_of(store)) == 3
    assert db.session.scalar(select(func.count(CustomerConsent.id))) == 0


def test_an_unreadable_upload_is_refused_on_the_upload_page(client, login_as, store):
    login_as("owner")
    for text, why in (("", "the file is empty"), ("email,email\na,b\n", "appears twice")):
        response = upload(client, text)
        assert response.status_code == 400 and why in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CustomerImport.id))) == 0


def test_uploads_up_to_32_mib_are_taken_while_other_posts_keep_the_1_mib_cap(client, login_as, store):
    login_as("owner")
    text = "email,name\n" + "".join(f"c{i}@example.test,{'x' * 40}\n" for i in range(25_000))
    assert len(text) > 1024 * 1024
    assert upload(client, text).status_code == 302
    customer = make_customer(store)
    too_big = client.post(f"/customers/{customer.id}/labels", data={"csrf_token": client.csrf,
                                                                    "tags": "x" * (2 * 1024 * 1024)})
    assert too_big.status_code == 413


def test_a_large_import_runs_as_a_job_with_progress(client, login_as, store, monkeypatch):
    monkeypatch.setattr(customers_view, "SYNC_IMPORT_ROWS", 2)
    monkeypatch.setattr(import_store, "PROGRESS_EVERY", 1)
    login_as("owner")
    import_id = import_id_of(upload(client, GOOD))
    page = client.get(start(client, import_id, COLUMNS).headers["Location"]).get_data(as_text=True)
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page and customers_of(store) == []
    run_worker()
    progress = client.get(f"/customers/imports/{import_id}/progress").get_data(as_text=True)
    assert "Imported 3 rows: 3 new customers, 0 updated." in progress and "every 1s" not in progress
    assert len(customers_of(store)) == 3
    assert import_store.run_import(import_id, set_consents) is None  # a duplicated job finds it done


def test_a_previewed_import_can_be_discarded(client, login_as, store):
    login_as("owner")
    import_id = import_id_of(upload(client, GOOD))
    assert client.post(f"/customers/imports/{import_id}/discard", data={"csrf_token": client.csrf}).status_code == 302
    row = db.session.get(CustomerImport, import_id)
    assert (row.status, row.content) == ("failed", None)
    assert start(client, import_id, COLUMNS).status_code == 302 and customers_of(store) == []


def test_bulk_consents_end_as_set_consent_one_by_one_would(app, store):
    def customers_with_history() -> list[Customer]:
        customers = [make_customer(store) for _ in range(3)]
        set_consent(customers[0], "sms", "opted_in", "checkout")
        set_consent(customers[1], "email", "opted_out", "checkout")
        db.session.commit()
        return customers

    plan = [(0, "sms", "opted_in"), (0, "sms", "opted_out"), (1, "email", "opted_in"), (1, "email", "opted_out"),
            (2, "push", "opted_in"), (2, "sms", "opted_out"), (2, "sms", "never_asked")]
    one_by_one, in_bulk = customers_with_history(), customers_with_history()
    singles = sum(set_consent(one_by_one[i], channel, status, "import", actor="me") for i, channel, status in plan)
    bulk = set_consents([ConsentChange(store.id, in_bulk[i].id, channel, status,
                                       in_bulk[i].email if channel == "email" else in_bulk[i].phone)
                         for i, channel, status in plan], "import", actor="me")
    db.session.commit()

    def outcome(customers):
        events = [[(channel, action, address == (c.email if channel == "email" else c.phone), actor)
                   for channel, action, address, actor in db.session.execute(
                       select(ConsentEvent.channel, ConsentEvent.action, ConsentEvent.address, ConsentEvent.actor)
                       .where(ConsentEvent.customer_id == c.id).order_by(ConsentEvent.id))] for c in customers]
        rows = [db.session.execute(select(CustomerConsent.channel, CustomerConsent.status, CustomerConsent.source)
                                   .where(CustomerConsent.customer_id == c.id).order_by(CustomerConsent.channel)).all()
                for c in customers]
        return events, rows

    assert bulk == singles == 6
    assert outcome(in_bulk) == outcome(one_by_one)
    assert [consents_of(c.id) for c in in_bulk] == [{"sms": "opted_out"}, {"email": "opted_out"}, {"push": "opted_in"}]
    with pytest.raises(ValueError, match="source is required"):
        set_consents([ConsentChange(store.id, in_bulk[0].id, "sms", "opted_in", "")], "")


# ------------------------------------------------------------------------------------ list and page

def test_search_and_filters_find_the_right_customers(client, login_as, store):
    login_as("support")
    ann = make_customer(store, name="Ann Archer", email="ann@example.test", phone="+14155550101", groups=["VIP"],
                        tags=["vip-gold"])
    bob = make_customer(store, name="Bob Brown", email="bob@shop.test", phone="+4930123456", tags=["vip"])
    eve = make_customer(store, name="Eve Evans", email="eve@example.test", phone=None, groups=["Wholesale"])
    set_consent(ann, "sms", "opted_in", "checkout")
    set_consent(bob, "sms", "opted_out", "checkout")
    db.session.commit()

    def found(**params) -> set[str]:
        response = client.get("/customers", query_string=params)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        return {c.name for c in (ann, bob, eve) if f'href="/customers/{c.id}"' in html}

    assert found() == {"Ann Archer", "Bob Brown", "Eve Evans"}
    assert found(q="archer") == found(q="ANN@EXAMPLE") == found(q="(415) 555-0101") == {"Ann Archer"}
    assert found(q="example.test") == {"Ann Archer", "Eve Evans"}
    assert found(q="100%") == set()  # wildcards are taken literally
    assert found(tag="vip") == {"Bob Brown"}  # not vip-gold
    assert found(tag="VIP-GOLD") == {"Ann Archer"} and found(group="vip") == {"Ann Archer"}
    assert found(consent_channel="sms", consent_status="opted_in") == {"Ann Archer"}
    assert found(consent_channel="sms", consent_status="opted_out") == {"Bob Brown"}
    assert found(consent_channel="sms", consent_status="never_asked") == {"Eve Evans"}
    assert found(consent_channel="sms", consent_status="never_asked", group="Wholesale", q="eve") == {"Eve Evans"}
    bad = client.get("/customers", query_string={"consent_channel": "fax", "consent_status": "opted_in"})
    assert bad.status_code == 400 and "consent_channel “fax”" in bad.get_data(as_text=True)


def test_the_list_pages_by_fifty_newest_first(client, login_as, store):
    login_as("owner")
    db.session.add_all(Customer(store_id=store.id, name=f"P{i:03}", email=f"p{i}@example.test") for i in range(120))
    db.session.commit()
    first = client.get("/customers").get_data(as_text=True)
    assert first.count('href="/customers/') - first.count('href="/customers/imports') == 50 and "P119" in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert "P069" in second and "P070" not in second and "P119" not in second


def test_another_stores_customer_is_never_visible(client, login_as, store):
    login_as("owner")
    stranger = make_customer(make_store("elsewhere"), name="Stranger Danger", email="s@elsewhere.test")
    assert "Stranger Danger" not in client.get("/customers", query_string={"q": "stranger"}).get_data(as_text=True)
    assert client.get(f"/customers/{stranger.id}").status_code == 404
    post = client.post(f"/customers/{stranger.id}/consent", data={"csrf_token": client.csrf, "channel": "sms",
                                                                 "status": "opted_out"})
    assert post.status_code == 404 and consents_of(stranger.id) == {}
    other_import = CustomerImport(store_id=stranger.store_id, filename="theirs.csv", content="email\nx@y.io\n")
    db.session.add(other_import)
    db.session.commit()
    assert client.get(f"/customers/imports/{other_import.id}").status_code == 404
    assert "theirs.csv" not in client.get("/customers/imports").get_data(as_text=True)


def test_the_customer_page_shows_orders_notifications_and_suppressions(client, login_as, store):
    login_as("support")
    customer = make_customer(store, name="Ann Archer", email="ann@example.test", phone="+14155550101")
    order = make_order(store, customer=customer, number="#5001")
    sent = notification(store, customer_id=customer.id, order_id=order.id, reason="rule: Shopify · Cancelled")
    held = notification(store, customer_id=customer.id, message_type="campaign.message", channel="sms",
                        priority="marketing", status="suppressed", error="not opted in to SMS marketing")
    notification(store, customer_id=make_customer(store).id, reason="someone else's")
    db.session.add(ChannelSuppression(store_id=store.id, channel="sms", address="+14155550101", reason="hard bounce",
                                      created_at=datetime(2026, 11, 2, tzinfo=UTC)))
    db.session.commit()
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert f'href="/orders/{order.id}"' in page and "#5001" in page
    assert f'href="/activity/{sent.id}"' in page and f'href="/activity/{held.id}"' in page
    assert "rule: Shopify · Cancelled" in page and "not opted in to SMS marketing" in page
    assert "someone else" not in page
    assert "suppressed: hard bounce 2026-11-02" in page


def test_staff_opt_a_customer_out_of_sms_and_the_history_says_who(client, login_as, store):
    staff = login_as("support")
    customer = make_customer(store)
    answer = client.post(f"/customers/{customer.id}/consent", headers={"HX-Request": "true"},
                         data={"csrf_token": client.csrf, "channel": "sms", "status": "opted_out"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and html.startswith('<section class="card" id="consent"')
    assert "SMS: opted out." in html and staff.email in html and "Opt in to SMS" in html
    assert consents_of(customer.id) == {"sms": "opted_out"}
    again = client.post(f"/customers/{customer.id}/consent", data={"csrf_token": client.csrf, "channel": "sms",
                                                                  "status": "opted_out"})
    assert again.status_code == 303
    assert "SMS was already opted out." in client.get(again.headers["Location"]).get_data(as_text=True)
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.customer_id == customer.id))
    assert (event.source, event.actor, event.action) == ("staff", staff.email, "opt_out")
    assert db.session.scalar(select(func.count(ConsentEvent.id))) == 1
    bad = client.post(f"/customers/{customer.id}/consent", headers={"HX-Request": "true"},
                      data={"csrf_token": client.csrf, "channel": "fax", "status": "opted_out"})
    assert bad.status_code == 400 and "Consent not changed: channel must be one of" in bad.get_data(as_text=True)


def test_groups_and_tags_are_edited_on_the_customer_page(client, login_as, store):
    login_as("marketer")
    customer = make_customer(store, tags=["old"])
    saved = client.post(f"/customers/{customer.id}/labels", data={"csrf_token": client.csrf,
                                                                  "groups": "VIP, Wholesale", "tags": ""})
    assert saved.status_code == 302
    db.session.expire_all()
    assert (customer.groups, customer.tags) == (["VIP", "Wholesale"], [])
    refused = client.post(f"/customers/{customer.id}/labels", data={"csrf_token": client.csrf,
                                                                    "groups": 'say "hi"', "tags": ""})
    assert refused.status_code == 400 and "may not contain quotes" in refused.get_data(as_text=True)


@pytest.mark.parametrize("role,view,edit,import_", [("owner", 200, 303, 200), ("marketer", 200, 303, 200),
                                                      ("support", 200, 303, 403)])
def test_roles(app, store, role, view, edit, import_):
    browser = signed_in_client(app, make_user(store, role))
    customer = make_customer(store)
    with app.app_context():
        assert browser.get("/customers").status_code == view
        assert browser.get(f"/customers/{customer.id}").status_code == view
        assert browser.post(f"/customers/{customer.id}/consent", data={"csrf_token": browser.csrf, "channel": "email",
                                                                      "status": "opted_out"}).status_code == edit
        assert browser.get("/customers/imports").status_code == import_
        nav = browser.get("/").get_data(as_text=True)
    assert 'href="/customers"' in nav


def test_signed_out_visitors_are_sent_to_sign_in(client, store):
    assert "/login" in client.get("/customers").headers["Location"]


# ----------------------------------------------------------------------------------------------- API

@pytest.fixture
def api(store):
    return {"Authorization": f"Bearer {create_api_key(store.id, 'crm').plaintext}"}


def test_the_api_creates_then_updates_a_customer_by_external_id_then_email(client, store, api):
    crm_id = "crm-'42\\%"  # quotes, backslashes and wildcards are ids like any other
    body = {"external_id": crm_id, "email": "Ann@Example.TEST", "phone": "+1 415 555 0101", "name": "Ann",
            "locale": "pt_BR", "timezone": "America/Sao_Paulo", "groups": ["VIP"], "tags": ["a", "b"]}
    created = client.post("/api/v1/customers", json=body, headers=api)
    assert created.status_code == 201
    customer = created.get_json()
    assert {k: customer[k] for k in ("email", "phone", "locale", "groups", "tags", "external_ids")} == {
        "email": "ann@example.test", "phone": "+14155550101", "locale": "pt-BR", "groups": ["VIP"], "tags": ["a", "b"],
        "external_ids": {"api": crm_id}}
    assert customer["consent"] == {"email": "never_asked", "sms": "never_asked", "whatsapp": "never_asked",
                                   "push": "never_asked"}
    renamed = client.post("/api/v1/customers", json={"external_id": crm_id, "email": "ann@new.test", "tags": ["c"]},
                          headers=api)
    assert renamed.status_code == 200 and renamed.get_json()["id"] == customer["id"]
    assert (renamed.get_json()["email"], renamed.get_json()["tags"], renamed.get_json()["name"]) == (
        "ann@new.test", ["c"], "Ann")
    by_email = client.post("/api/v1/customers", json={"email": "ANN@new.test", "name": "Ann A."}, headers=api)
    assert by_email.status_code == 200 and by_email.get_json()["id"] == customer["id"]
    assert len(customers_of(store)) == 1


def test_api_bad_input_says_why_and_changes_nothing(client, store, api):
    for body, status, why in (
            (b"{not json", 400, "invalid JSON"), (b"[]", 400, "JSON object"),
            ({"email": "bob@"}, 422, "email “bob@” is not a valid email address"),
            ({"email": "a@example.test", "emial": "x"}, 422, "unknown field “emial”"),
            ({"email": "a@example.test", "tags": "vip"}, 422, "tags must be a list of strings"),
            ({"email": "a@example.test", "timezone": "Mars/Base"}, 422, "is not a time zone"),
            ({"phone": "+14155550101"}, 422, "send an external_id or an email"),
            ({"external_id": "nobody"}, 422, "a new customer needs an email or a phone"),
            ({"email": 7}, 422, "email must be a string")):
        kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) else {"json": body}
        response = client.post("/api/v1/customers", headers=api, **kwargs)
        assert response.status_code == status and why in response.get_json()["error"], (body, response.get_json())
    assert customers_of(store) == []


def test_api_reads_a_customer_with_consent_and_suppressions_and_never_another_stores(client, store, api):
    customer = make_customer(store, email="ann@example.test", phone="+14155550101")
    set_consent(customer, "email", "opted_in", "checkout")
    db.session.add(ChannelSuppression(store_id=store.id, channel="sms", address="+14155550101",
                                      reason="opted out (STOP)"))
    db.session.commit()
    answer = client.get(f"/api/v1/customers/{customer.id}", headers=api).get_json()
    assert answer["consent"]["email"] == "opted_in" and answer["consent"]["sms"] == "never_asked"
    assert [(s["channel"], s["reason"]) for s in answer["suppressions"]] == [("sms", "opted out (STOP)")]
    stranger = make_customer(make_store("elsewhere"))
    for response in (client.get(f"/api/v1/customers/{stranger.id}", headers=api),
                     client.put(f"/api/v1/customers/{stranger.id}/consent", headers=api,
                                json={"channel": "sms", "status": "opted_out", "source": "api"})):
        assert response.status_code == 404 and response.get_json() == {"error": "no such customer in this store"}
    assert client.get(f"/api/v1/customers/{customer.id}").status_code == 401


def test_api_consent_requires_a_source_and_keeps_the_evidence(client, store, api):
    customer = make_customer(store)
    path = f"/api/v1/customers/{customer.id}/consent"
    missing = client.put(path, headers=api, json={"channel": "sms", "status": "opted_in"})
    assert missing.status_code == 422 and "source is required" in missing.get_json()["error"]
    for body, why in (({"channel": "fax", "status": "opted_in", "source": "api"}, "channel must be one of"),
                      ({"channel": "sms", "status": "maybe", "source": "api"}, "status must be one of"),
                      ({"channel": "sms", "status": "opted_in", "source": "rumour"}, "source must be one of")):
        answer = client.put(path, headers=api, json=body)
        assert answer.status_code == 422 and why in answer.get_json()["error"]
    assert consents_of(customer.id) == {} and db.session.scalar(select(func.count(ConsentEvent.id))) == 0
    done = client.put(path, headers=api, json={"channel": "sms", "status": "opted_in", "source": "checkout",
                                               "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"})
    assert done.status_code == 200 and done.get_json()["changed"] is True
    assert done.get_json()["customer"]["consent"]["sms"] == "opted_in"
    again = client.put(path, headers=api, json={"channel": "sms", "status": "opted_in", "source": "checkout"})
    assert again.get_json()["changed"] is False
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.customer_id == customer.id))
    assert (event.source, event.actor, event.ip, event.user_agent) == ("checkout", "api", "203.0.113.9", "Mozilla/5.0")
