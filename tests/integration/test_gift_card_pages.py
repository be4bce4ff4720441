"""Promotions → Gift cards in the dashboard: issuing shows the full code exactly once and the list
masks it, the ledger follows adjustments, a correction below zero is refused with nothing written,
disabling is audited, problems land next to their input, support is refused and another store's
card is not found."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from tests.factories import make_store
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.promotions.balances import card_ledger, issue_gift_card, masked, parse_gift_card
from webapp.promotions.models import GiftCard, GiftCardEntry


def issue_form(client, **fields) -> dict:
    return {"csrf_token": client.csrf, "value": "50.00", "currency": "USD", "recipient_email": "", "message": "",
            "expires_on": "", "code": "", **fields}


def a_card(store, value="40.00", code=None) -> GiftCard:
    data = {"value": value, "currency": "USD", **({"code": code} if code else {})}
    request, problems = parse_gift_card(data, store)
    assert not problems
    card, problems = issue_gift_card(store, request)
    assert not problems
    return card


def count_of(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_issuing_shows_the_code_once_and_the_list_masks_it(client, login_as, store):
    login_as("marketer")
    assert "No gift cards yet" in client.get("/gift-cards/").get_data(as_text=True)
    issued = client.post("/gift-cards/", data=issue_form(client, recipient_email="Ann@Example.test",
                                                         message="Happy birthday", expires_on="2099-12-31"))
    assert issued.status_code == 303
    card = db.session.scalar(select(GiftCard))
    assert issued.headers["Location"].endswith(f"/gift-cards/{card.id}")
    assert (card.value_minor, card.balance_minor, card.currency, card.recipient_email) == (5000, 5000, "USD",
                                                                                          "ann@example.test")
    assert len(card.code.replace("-", "")) == 16

    first = client.get(f"/gift-cards/{card.id}")
    page = first.get_data(as_text=True)
    assert card.code in page and "only time the full code is shown" in page and "emailed to ann@example.test" in page
    assert first.headers["Cache-Control"] == "no-store"
    again = client.get(f"/gift-cards/{card.id}").get_data(as_text=True)
    assert card.code not in again and masked(card.code) in again

    listing = client.get("/gift-cards/").get_data(as_text=True)
    assert card.code not in listing
    assert masked(card.code) in listing and "50.00 USD" in listing and "ann@example.test" in listing
    assert "2099-12-31" in listing
    assert "2099-12-31 23:59" in again  # good through the end of the day, in the store's time zone

    entry = db.session.scalar(select(AuditEntry))
    assert entry.action == "gift_card.issued" and card.code not in str(entry.new) + entry.target
    assert entry.new["value"] == "50.00" and entry.new["code_last4"] == card.code[-4:]


def test_a_card_without_a_recipient_says_nobody_was_emailed_and_the_search_finds_it_by_code(client, login_as, store):
    login_as("owner")
    client.post("/gift-cards/", data=issue_form(client, code="Summer-Gift-2099"))
    card = db.session.scalar(select(GiftCard))
    page = client.get(f"/gift-cards/{card.id}").get_data(as_text=True)
    assert "Summer-Gift-2099" in page and "not emailed to anyone" in page
    other = a_card(store, code="OTHER-CARD-0001")

    found = client.get("/gift-cards/?code=summer-gift-2099").get_data(as_text=True)
    assert masked(card.code) in found and masked(other.code) not in found
    assert "Summer-Gift-2099" not in found  # the search shows the card masked too
    missing = client.get("/gift-cards/?code=NOPE-NOPE-NOPE").get_data(as_text=True)
    assert "No gift card with the code" in missing


def test_problems_are_shown_beside_their_input_and_nothing_is_issued(client, login_as, store):
    login_as("owner")
    for fields, field, words in [({"value": "abc"}, "value", "is not an amount"),
                                 ({"value": "0"}, "value", "Value is more than 0"),
                                 ({"value": "5.001"}, "value", "USD has 2 decimal places"),
                                 ({"recipient_email": "not-an-email"}, "recipient_email", "Recipient email is not"),
                                 ({"expires_on": "2001-01-01"}, "expires_on", "Expiry is in the past"),
                                 ({"code": "short"}, "code", "at least 8 characters")]:
        answer = client.post("/gift-cards/", data=issue_form(client, **fields))
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400, fields
        assert f'id="error-{field}"' in page and words in page, (fields, page[page.find("field-error"):][:200])
    a_card(store, code="TAKEN-CODE-1")
    taken = client.post("/gift-cards/", data=issue_form(client, code="taken-code-1")).get_data(as_text=True)
    assert 'id="error-code"' in taken and "already used in this store" in taken
    assert count_of(GiftCard) == 1 and count_of(AuditEntry) == 0


def test_the_ledger_follows_an_adjustment_and_a_correction_below_zero_is_refused(client, login_as, store):
    login_as("marketer")
    card = a_card(store, "40.00")
    taken = client.post(f"/gift-cards/{card.id}/adjust", data={"csrf_token": client.csrf, "amount": "-15.50",
                                                              "note": "Part refunded by bank transfer"})
    assert taken.status_code == 303
    page = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "Balance adjusted by −15.50 USD: it is now 24.50 USD." in page
    assert "24.50 USD" in page and "−15.50 USD" in page and "+40.00 USD" in page
    assert "Part refunded by bank transfer" in page and "Adjusted" in page
    db.session.refresh(card)
    assert card.balance_minor == 2450
    assert [(e.kind, e.amount_minor) for e in card_ledger(card)] == [("adjust", -1550), ("issue", 4000)]

    refused = client.post(f"/gift-cards/{card.id}/adjust", data={"csrf_token": client.csrf, "amount": "-30",
                                                                "note": "Too much"})
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "below zero" in text and "it holds 24.50 USD" in text and 'id="error-amount"' in text
    db.session.refresh(card)
    assert card.balance_minor == 2450 and count_of(GiftCardEntry) == 2

    added = client.post(f"/gift-cards/{card.id}/adjust", data={"csrf_token": client.csrf, "amount": "5",
                                                              "note": "Goodwill"})
    assert added.status_code == 303
    db.session.refresh(card)
    assert card.balance_minor == 2950
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "gift_card.adjusted")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.old["balance"], e.new["balance"], e.reason) for e in entries] == [
        ("40.00", "24.50", "Part refunded by bank transfer"), ("24.50", "29.50", "Goodwill")]


def test_an_adjustment_needs_an_amount_and_a_note(client, login_as, store):
    login_as("owner")
    card = a_card(store)
    answer = client.post(f"/gift-cards/{card.id}/adjust", data={"csrf_token": client.csrf, "amount": "0",
                                                               "note": " "})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'id="error-amount"' in page and 'id="error-note"' in page
    assert "Note is required" in page and count_of(GiftCardEntry) == 1


def test_disabling_and_enabling_a_card_is_audited(client, login_as, store):
    login_as("owner")
    card = a_card(store)
    off = client.post(f"/gift-cards/{card.id}/disabled", data={"csrf_token": client.csrf, "disabled": "1"})
    assert off.status_code == 303
    db.session.refresh(card)
    assert card.disabled
    page = client.get(f"/gift-cards/{card.id}").get_data(as_text=True)
    assert "disabled: it cannot be spent" in page and "Enable card" in page and "pill-balance-disabled" in page
    assert "pill-balance-disabled" in client.get("/gift-cards/").get_data(as_text=True)
    client.post(f"/gift-cards/{card.id}/disabled", data={"csrf_token": client.csrf, "disabled": "0"})
    db.session.refresh(card)
    assert not card.disabled
    assert [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
        "gift_card.disabled", "gift_card.enabled"]
    assert "Gift card disabled" in client.get("/settings/audit").get_data(as_text=True)


def test_support_is_refused_and_another_stores_card_is_not_found(client, login_as, store):
    other = make_store("other")
    theirs = a_card(other)
    login_as("owner")
    assert client.get(f"/gift-cards/{theirs.id}").status_code == 404
    assert client.post(f"/gift-cards/{theirs.id}/disabled", data={"csrf_token": client.csrf,
                                                                  "disabled": "1"}).status_code == 404
    assert client.post(f"/gift-cards/{theirs.id}/adjust", data={"csrf_token": client.csrf, "amount": "-1",
                                                               "note": "x"}).status_code == 404
    assert masked(theirs.code) not in client.get("/gift-cards/").get_data(as_text=True)
    assert "No gift card" in client.get(f"/gift-cards/?code={theirs.code}").get_data(as_text=True)
    db.session.refresh(theirs)
    assert theirs.balance_minor == 4000 and not theirs.disabled

    client.post("/logout", data={"csrf_token": client.csrf})
    mine = a_card(store)
    login_as("support")
    assert client.get("/gift-cards/").status_code == 403
    assert client.get(f"/gift-cards/{mine.id}").status_code == 403
    assert client.post("/gift-cards/", data=issue_form(client)).status_code == 403
    assert client.post(f"/gift-cards/{mine.id}/adjust", data={"csrf_token": client.csrf, "amount": "-1",
                                                             "note": "x"}).status_code == 403
    assert count_of(GiftCard) == 2 and Decimal(mine.balance_minor) == 4000
