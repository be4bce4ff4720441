"""Finding one person in text and JSON: every spelling of their phone, their email in any case, their
name parts as whole words only (so somebody called Bobby keeps his name)."""
from datetime import UTC, datetime, timedelta

from webapp.customers.export_links import ExportLinks
from webapp.customers.redaction import MARKER, PersonalValues, Redactor, values_in_payload

BOB = PersonalValues.of(emails=["bob.norman@hostmail.com"], phones=["+15556251199"], names=["Bob Norman"])


def test_phone_is_found_however_it_is_written_but_not_inside_a_longer_number():
    redact = Redactor(BOB).text
    for written in ("+15556251199", "+1 555-625-1199", "(555) 625-1199", "555.625.1199", "15556251199",
                    "001 555 625 1199"):
        assert redact(f"call {written} now") == f"call {MARKER} now", written
    assert redact("order 155562511990") == "order 155562511990"


def test_email_in_any_case_and_name_parts_only_as_whole_words():
    redact = Redactor(BOB).text
    assert redact("To BOB.Norman@HostMail.com") == f"To {MARKER}"
    assert redact("Bob called; Bobby from Normandy did not") == f"{MARKER} called; Bobby from Normandy did not"


def test_store_wide_redaction_leaves_a_lone_first_name_alone():
    wide = Redactor(BOB, name_parts=False)
    assert wide.text("Bob called about Bob Norman's order") == f"Bob called about {MARKER}'s order"
    assert "Bob" not in wide.needles() and "Bob Norman" in wide.needles() and "1199" in wide.needles()
    # A one-word name is only ever a name part: "Bobby" elsewhere in the store is somebody else.
    only_first = Redactor(PersonalValues.of(names=["Bob"]), name_parts=False)
    assert only_first.text("Bobby and Bob") == "Bobby and Bob" and only_first.needles() == []


def test_json_keys_and_strings_are_redacted_and_other_values_kept():
    value = {"bob.norman@hostmail.com": {"name": "Bob Norman", "total": 12.5, "lines": ["Mug", "for Bob"]}}
    assert Redactor(BOB).json(value) == {MARKER: {"name": MARKER, "total": 12.5, "lines": ["Mug", f"for {MARKER}"]}}
    assert Redactor(BOB).mentions(value) and not Redactor(BOB).mentions({"name": "Alice"})


def test_a_webhook_gives_the_buyers_emails_phones_and_names_but_not_product_names():
    payload = {"email": "bob@x.example", "line_items": [{"name": "IPod Nano", "title": "IPod"}],
               "shipping_address": {"first_name": "Rob", "last_name": "Norman", "name": "Rob Norman",
                                    "phone": "555-625-1199"},
               "billing": {"first_name": "Bob", "last_name": "", "email": "bob@work.example"}}
    found = values_in_payload(payload)
    assert found.emails == {"bob@x.example", "bob@work.example"}
    assert found.phones == {"555-625-1199"}
    assert found.names == {"Rob Norman", "Bob"}


def test_export_link_verifies_only_unaltered_tokens_of_this_secret_and_knows_its_expiry():
    links, ready = ExportLinks("secret"), datetime(2026, 1, 1, tzinfo=UTC)
    link = links.verify(links.token(3, 7, ready))
    assert (link.store_id, link.request_id, link.expires_at) == (3, 7, ready + timedelta(days=7))
    assert not link.expired(ready + timedelta(days=6)) and link.expired(ready + timedelta(days=7))
    assert links.token(3, 7, ready) == links.token(3, 7, ready)  # showing it again never extends it
    assert links.verify(links.token(3, 7, ready)[:-1] + "x") is None
    assert ExportLinks("other").verify(links.token(3, 7, ready)) is None
    assert links.verify("") is None
