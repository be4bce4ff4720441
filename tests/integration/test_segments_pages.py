"""Campaigns → Segments in the dashboard: marketers list, build and edit segments (each save audited),
support is refused, another store's segment is not found, a bad condition is refused next to its
field with nothing saved, and the live count says what audience.reach says."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.factories import make_customer, make_order, make_store
from webapp.audit.models import AuditEntry
from webapp.campaigns.audience import EXCLUSIONS, reach
from webapp.campaigns.models import Campaign, Segment
from webapp.campaigns.segment_rules import parse
from webapp.campaigns.segment_store import create_segment
from webapp.consent.state import set_consent
from webapp.consent.suppression import suppress
from webapp.extensions import db

HX = {"HX-Request": "true"}


def form(client, name="VIP big spenders", match="all", rows=(("tags", "any_of", "vip"),), **extra) -> dict:
    data = {"csrf_token": client.csrf, "name": name, "match": match, "channel": "email", **extra}
    for index, (field, op, value) in enumerate(rows):
        data |= {f"conditions[{index}].field": field, f"conditions[{index}].op": op,
                 f"conditions[{index}].value": value}
    return data


def count_of(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def revision_on(html: str) -> str:
    return re.search(r'name="revision" value="([^"]*)"', html).group(1)


def test_a_marketer_lists_creates_and_edits_a_segment_and_each_save_is_audited(client, login_as, store):
    login_as("marketer")
    listing = client.get("/segments")
    assert listing.status_code == 200 and "No segments yet" in listing.get_data(as_text=True)
    assert client.get("/segments/new").status_code == 200

    created = client.post("/segments", data=form(client, rows=[("tags", "any_of", "vip, Sale"),
                                                               ("total_spent", "gt", "100")]))
    assert created.status_code == 303 and created.headers["Location"].endswith("/segments")
    segment = db.session.scalar(select(Segment))
    assert (segment.store_id, segment.name, segment.match) == (store.id, "VIP big spenders", "all")
    assert segment.conditions == [{"field": "tags", "op": "any_of", "value": ["sale", "vip"]},
                                  {"field": "total_spent", "op": "gt", "value": 100}]
    listing = client.get("/segments").get_data(as_text=True)
    assert "Segment “VIP big spenders” saved." in listing
    assert "VIP big spenders" in listing
    assert "Tags include any of “sale”, “vip” and total spent is more than 100" in listing

    editor = client.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert 'value="sale, vip"' in editor and 'value="100"' in editor
    updated = client.post(f"/segments/{segment.id}", data=form(
        client, name="Recent buyers", match="any", rows=[("last_order_at", "after", "2026-01-01"),
                                                         ("orders_count", "gt", "2")],
        revision=revision_on(editor)))
    assert updated.status_code == 303
    db.session.refresh(segment)
    assert (segment.name, segment.match) == ("Recent buyers", "any")
    assert segment.conditions[0] == {"field": "last_order_at", "op": "after", "value": "2026-01-01T00:00:00+00:00"}
    listing = client.get("/segments").get_data(as_text=True)
    assert "Last order date is on or after 2026-01-01 or number of orders is more than 2" in listing
    # The date saved from a date input comes back as a date.
    assert 'type="date" value="2026-01-01"' in client.get(f"/segments/{segment.id}").get_data(as_text=True)

    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [entry.action for entry in entries] == ["segment.created", "segment.updated"]
    assert entries[1].old["name"] == "VIP big spenders" and entries[1].new["name"] == "Recent buyers"


def test_the_owner_sees_segment_saves_in_the_audit_log(client, login_as, store):
    login_as("owner")
    client.post("/segments", data=form(client))
    audit = client.get("/settings/audit").get_data(as_text=True)
    assert "Segment created" in audit and "VIP big spenders" in audit


def test_support_is_refused_and_sees_no_campaigns_link(client, login_as, store):
    segment, _ = create_segment(store.id, "VIPs", "all", [])
    login_as("support")
    for url in ("/segments", "/segments/new", f"/segments/{segment.id}"):
        assert client.get(url).status_code == 403, url
    for url in ("/segments", f"/segments/{segment.id}", "/segments/count", f"/segments/{segment.id}/delete"):
        assert client.post(url, data=form(client)).status_code == 403, url
    assert ">Campaigns</a>" not in client.get("/").get_data(as_text=True)
    assert count_of(Segment) == 1


def test_marketers_and_owners_find_campaigns_in_the_navigation(client, login_as, store):
    login_as("marketer")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'<a href="/campaigns"[^>]*>Campaigns</a>', home)
    page = client.get("/segments").get_data(as_text=True)  # segments are part of Campaigns
    assert re.search(r'<a href="/campaigns" aria-current="page">Campaigns</a>', page)


def test_another_stores_segment_is_not_found(client, login_as, store):
    theirs, _ = create_segment(make_store("theirs").id, "Their VIPs", "all", [])
    login_as("marketer")
    assert client.get(f"/segments/{theirs.id}").status_code == 404
    assert client.post(f"/segments/{theirs.id}", data=form(client)).status_code == 404
    assert client.post(f"/segments/{theirs.id}", data=form(client, edit="add"), headers=HX).status_code == 404
    assert client.post(f"/segments/{theirs.id}/delete", data={"csrf_token": client.csrf}).status_code == 404
    assert "Their VIPs" not in client.get("/segments").get_data(as_text=True)
    db.session.refresh(theirs)
    assert theirs.name == "Their VIPs" and count_of(Segment) == 1


def test_a_bad_condition_shows_its_message_next_to_the_field_and_saves_nothing(client, login_as, store):
    login_as("marketer")
    answer = client.post("/segments", data=form(client, rows=[("tags", "any_of", "vip"),
                                                              ("total_spent", "gt", "lots")]))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "Not saved." in html
    message = re.search(r'<p class="field-error" id="error-cond-1-value">([^<]*)</p>', html)
    assert message and message.group(1) == "Total spent needs a number, not &#39;lots&#39;"
    assert re.search(r'name="conditions\[1\]\.value"[^>]*aria-invalid="true"', html, re.S)
    assert "Condition 2, value: Total spent needs a number" in html
    # What was typed stays on the page.
    assert 'value="lots"' in html and 'value="VIP big spenders"' in html

    nameless = client.post("/segments", data=form(client, name=" ", rows=[("tags", "any_of", "")]))
    html = nameless.get_data(as_text=True)
    assert nameless.status_code == 400
    assert re.search(r'id="error-name">A name is required', html)
    assert re.search(r'id="error-cond-0-value">Tags needs a list of 1 to 200 values', html)
    assert count_of(Segment) == 0 and count_of(AuditEntry) == 0


def test_a_bad_edit_changes_nothing(client, login_as, store):
    segment, _ = create_segment(store.id, "VIPs", "all", [{"field": "tags", "op": "any_of", "value": ["vip"]}])
    login_as("marketer")
    revision = revision_on(client.get(f"/segments/{segment.id}").get_data(as_text=True))
    answer = client.post(f"/segments/{segment.id}", data=form(
        client, name="Renamed", rows=[("last_order_at", "before", "yesterday")], revision=revision))
    assert answer.status_code == 400
    assert re.search(r'id="error-cond-0-value">Last order date needs a date', answer.get_data(as_text=True))
    db.session.refresh(segment)
    assert segment.name == "VIPs" and count_of(AuditEntry) == 0


def test_an_edit_over_someone_elses_newer_save_is_refused_and_keeps_the_typing(client, login_as, store):
    segment, _ = create_segment(store.id, "VIPs", "all", [])
    login_as("marketer")
    stale = revision_on(client.get(f"/segments/{segment.id}").get_data(as_text=True))
    assert client.post(f"/segments/{segment.id}", data=form(client, name="Theirs", revision=stale)).status_code == 303
    mine = client.post(f"/segments/{segment.id}", data=form(client, name="Mine", revision=stale))
    assert mine.status_code == 409
    html = mine.get_data(as_text=True)
    assert "Someone else saved this segment meanwhile" in html and 'value="Mine"' in html
    db.session.refresh(segment)
    assert segment.name == "Theirs"
    assert [e.action for e in db.session.scalars(select(AuditEntry))] == ["segment.updated"]


def test_rows_are_added_removed_and_reshaped_without_saving(client, login_as, store):
    login_as("marketer")
    added = client.post("/segments", data=form(client, edit="add"), headers=HX)
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and html.startswith('<fieldset id="conditions"')
    assert added.headers["HX-Trigger-After-Settle"] == "segment-rules-changed"
    assert 'name="conditions[1].field"' in html and 'name="conditions[2].field"' not in html

    removed = client.post("/segments", data=form(client, rows=[("tags", "any_of", "a"), ("country", "eq", "de")],
                                                 edit="remove-0"), headers=HX).get_data(as_text=True)
    assert 'name="conditions[1].field"' not in removed
    assert re.search(r'name="conditions\[0\]\.value"[^>]*value="de"', removed, re.S)

    # A new field with other operators gets its first operator, an empty value and its own input.
    reshaped = client.post("/segments", data=form(client, rows=[("total_spent", "all_of", "vip")], edit="refresh"),
                           headers=HX).get_data(as_text=True)
    assert re.search(r'<option value="eq" selected>is exactly</option>', reshaped)
    assert re.search(r'type="number" value=""', reshaped)
    dated = client.post("/segments", data=form(client, rows=[("last_order_at", "before", "")], edit="refresh"),
                        headers=HX).get_data(as_text=True)
    assert 'type="date"' in dated
    # Without JavaScript the same buttons answer the whole page.
    page = client.post("/segments", data=form(client, edit="add"))
    assert page.status_code == 200 and "<h1>New segment</h1>" in page.get_data(as_text=True)
    assert count_of(Segment) == 0


def test_the_count_fragment_says_what_audience_reach_says(client, login_as, store):
    vip = dict(tags=["vip"])
    opted = [make_customer(store, **vip) for _ in range(3)]
    for customer in opted:
        set_consent(customer, "email", "opted_in", "checkout")
    set_consent(opted[0], "sms", "opted_in", "checkout")
    make_customer(store, **vip)  # never asked
    make_customer(store, email=None, **vip)
    bounced = make_customer(store, email="bounced@example.test", **vip)
    set_consent(bounced, "email", "opted_in", "checkout")
    suppress(store.id, "email", "bounced@example.test", "BOUNCE", "hard bounce", "test", customer_id=bounced.id)
    muted = make_customer(store, muted_topics=["news"], **vip)
    set_consent(muted, "email", "opted_in", "checkout")
    make_customer(store, tags=["casual"])
    make_order(store, customer=opted[1], total=250)
    make_customer(make_store("elsewhere"), **vip)
    db.session.commit()
    login_as("marketer")

    rows = [("tags", "any_of", "VIP")]
    for channel in ("email", "sms", "whatsapp"):
        answer = client.post("/segments/count", data=form(client, rows=rows, channel=channel), headers=HX)
        assert answer.status_code == 200
        expected = reach(store.id, *parse("all", [{"field": "tags", "op": "any_of", "value": ["vip"]}])[:2],
                         channel).as_dict()
        assert shown_numbers(answer.get_data(as_text=True)) == expected, channel
    email = client.post("/segments/count", data=form(client, rows=rows), headers=HX).get_data(as_text=True)
    assert shown_numbers(email) == {"matched": 7, "reachable": 3, "excluded": {
        "no_address": 1, "suppressed": 1, "not_opted_in": 1, "topic_off": 1}}
    assert "Not opted in to email:" in email and "reachable by Email" in email
    assert "Not opted in to SMS:" in client.post("/segments/count", data=form(client, rows=rows, channel="sms"),
                                                 headers=HX).get_data(as_text=True)

    both = form(client, match="all", rows=[("tags", "any_of", "vip"), ("total_spent", "gt", "100")])
    assert shown_numbers(client.post("/segments/count", data=both, headers=HX).get_data(as_text=True))[
        "matched"] == 1
    either = form(client, match="any", rows=[("tags", "any_of", "casual"), ("total_spent", "gt", "100")])
    assert shown_numbers(client.post("/segments/count", data=either, headers=HX).get_data(as_text=True))[
        "matched"] == 2


def test_the_count_names_what_keeps_it_from_counting(client, login_as, store):
    login_as("marketer")
    bad = client.post("/segments/count", data=form(client, rows=[("orders_count", "gt", "many")]), headers=HX)
    assert bad.status_code == 422
    assert "Condition 1, value: Number of orders needs a number" in bad.get_data(as_text=True)
    fax = client.post("/segments/count", data=form(client, channel="fax"), headers=HX)
    assert fax.status_code == 422 and "Count for: Channel must be one of email, sms, whatsapp" in fax.get_data(
        as_text=True)


def test_a_segment_a_campaign_uses_is_not_deleted(client, login_as, store):
    used, _ = create_segment(store.id, "Used", "all", [])
    unused, _ = create_segment(store.id, "Unused", "all", [])
    db.session.add(Campaign(store_id=store.id, name="Spring sale", segment_id=used.id))
    db.session.commit()
    login_as("marketer")
    refused = client.post(f"/segments/{used.id}/delete", data={"csrf_token": client.csrf})
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"/segments/{used.id}")
    assert "campaigns use this segment" in client.get(refused.headers["Location"]).get_data(as_text=True)
    deleted = client.post(f"/segments/{unused.id}/delete", data={"csrf_token": client.csrf}, headers=HX)
    assert deleted.status_code == 204 and deleted.headers["HX-Redirect"].endswith("/segments")
    assert [s.name for s in db.session.scalars(select(Segment))] == ["Used"]
    assert [e.action for e in db.session.scalars(select(AuditEntry))] == ["segment.deleted"]


def test_the_list_pages_newest_first(client, login_as, store):
    for n in range(55):
        create_segment(store.id, f"Segment {n:02d}", "all", [])
    login_as("marketer")
    first = client.get("/segments").get_data(as_text=True)
    assert "Segment 54" in first and "Segment 04" not in first
    older = re.search(r'href="(/segments\?before=\d+)" rel="next"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert "Segment 04" in second and "Segment 54" not in second
    assert client.get("/segments?before=x").status_code == 400


def shown_numbers(html: str) -> dict:
    """The count panel's numbers: matched and reachable, and each exclusion's line."""
    def number(pattern: str) -> int:
        found = re.search(pattern, html, re.S)
        assert found, pattern
        return int(found.group(1).replace(",", ""))

    def exclusion(reason: str) -> int:  # the number in the reason's line
        return number(rf'id="count-{reason.replace("_", "-")}">(?:(?!</li>).)*<strong>([\d,]+)</strong>')

    return {"matched": number(r'id="count-matched">([\d,]+)<'), "reachable": number(r'id="count-reachable">([\d,]+)<'),
            "excluded": {reason: exclusion(reason) for reason in EXCLUSIONS}}


def test_country_and_language_read_as_they_are_written(client, login_as, store):
    segment, _ = create_segment(store.id, "Brazil", "any", [{"field": "country", "op": "eq", "value": "BR"},
                                                           {"field": "locale", "op": "any_of", "value": ["pt", "es"]}])
    login_as("marketer")
    assert "Country is “BR” or language is one of “es”, “pt”" in client.get("/segments").get_data(as_text=True)
    assert re.search(r'name="conditions\[0\]\.value"[^>]*value="BR"', client.get(f"/segments/{segment.id}").get_data(
        as_text=True), re.S)
