"""The Campaigns pages: a marketer composes with a live preview, sends a test, sends, watches the
progress panel reach 100 % and reads each recipient's outcome; support has no access; another
store's campaign is not found."""
from sqlalchemy import func, select

from tests.factories import make_store
from tests.integration.test_campaigns import CONTENT, customers, drive
from tests.pipeline import sandbox_messages
from webapp.campaigns.models import Campaign
from webapp.campaigns.segment_store import create_segment
from webapp.extensions import db


def form(segment_id, **extra):
    data = {"name": "Winter", "channel": "email", "segment_id": str(segment_id), "locale-0": "en",
            "subject-0": CONTENT["en"]["subject"], "body-0": CONTENT["en"]["body"], "locale-1": "fr",
            "subject-1": CONTENT["fr"]["subject"], "body-1": CONTENT["fr"]["body"], "utm_source": "newsletter"}
    return {**data, **extra}


def test_a_marketer_composes_tests_sends_and_watches_it_finish(app, client, store, login_as):
    customers(store, 4)
    segment, _ = create_segment(store.id, "Everyone", "all", [])
    login_as("marketer")
    assert client.get("/campaigns").status_code == 200
    preview = client.post("/campaigns/preview", data={**form(segment.id), "csrf_token": client.csrf},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Winter sale, Alex" in preview and "email-preview" in preview
    bad = client.post("/campaigns/new", data={**form(segment.id, **{"body-0": "{{ oops"}), "csrf_token": client.csrf})
    assert bad.status_code == 422 and "content.en.body" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    made = client.post("/campaigns/new", data={**form(segment.id), "csrf_token": client.csrf})
    assert made.status_code == 302
    campaign_id = db.session.scalar(select(Campaign.id))
    page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Send a test" in page and "Send campaign" in page
    client.post(f"/campaigns/{campaign_id}/test", data={"address": "me@shop.test", "csrf_token": client.csrf})
    assert [m.subject for m in sandbox_messages(store.id)] == ["[Test] Winter sale, friend"]
    sent = client.post(f"/campaigns/{campaign_id}/send", data={"when": "now", "csrf_token": client.csrf})
    assert sent.status_code == 302
    drive(app, campaign_id)
    # A panel drawn while sending asks the page to reload once the campaign is done...
    polled = client.get(f"/campaigns/{campaign_id}/progress?shown=sending", headers={"HX-Request": "true"})
    assert polled.headers["HX-Refresh"] == "true"
    # ...and the panel of a finished campaign no longer polls.
    panel = client.get(f"/campaigns/{campaign_id}/progress?shown=done", headers={"HX-Request": "true"})
    assert "100 %" in panel.get_data(as_text=True) and "every 2s" not in panel.get_data(as_text=True)
    detail = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'class="chart campaign-chart"' in detail and "Results" in detail
    listing = client.get(f"/campaigns/{campaign_id}/recipients").get_data(as_text=True)
    assert listing.count("/activity/") == 4  # each recipient links to their notification
    assert len(sandbox_messages(store.id)) == 5


def test_support_cannot_and_other_stores_are_not_found(app, client, store, login_as):
    theirs = make_store("theirs")
    segment, _ = create_segment(theirs.id, "Theirs", "all", [])
    db.session.add(Campaign(store_id=theirs.id, name="Theirs", channel="email", segment_id=segment.id,
                            content=CONTENT))
    db.session.commit()
    login_as("marketer")
    their_id = db.session.scalar(select(Campaign.id))
    assert client.get(f"/campaigns/{their_id}").status_code == 404
    assert client.post(f"/campaigns/{their_id}/cancel", data={"csrf_token": client.csrf}).status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf})
    login_as("support")
    assert client.get("/campaigns").status_code == 403
