"""Settings → Providers: the owner sets and clears a provider account's sending limits; each change
is audited, a bad box says which and keeps what was typed, and nobody else can change them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import make_store
from tests.fakes.providers import SENDGRID_KEY
from webapp.audit.models import AuditEntry
from webapp.channels.accounts import ProviderSettingsError, configure_provider, set_rate_limits
from webapp.channels.models import ProviderConfig
from webapp.extensions import db

PAGE = "/settings/providers"
HX = {"HX-Request": "true"}


def sendgrid(store) -> ProviderConfig:
    return configure_provider(store.id, "email", "sendgrid", {"api_key": SENDGRID_KEY, "from_email": "o@acme.test"})


def post_limits(client, row, headers=HX, **boxes):
    data = {"csrf_token": client.csrf, **{f"limit-{per}": value for per, value in boxes.items()}}
    return client.post(f"{PAGE}/{row.id}/rate-limits", data=data, headers=headers)


def saved(row) -> list | None:
    db.session.expire_all()
    return db.session.get(ProviderConfig, row.id).rate_limits


def audits(store) -> list[tuple[str, dict | None, dict | None]]:
    return [(entry.action, entry.old, entry.new) for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.store_id == store.id, AuditEntry.action.like("provider.rate%"))
        .order_by(AuditEntry.id))]


def flat(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_owner_sets_limits_and_sees_them_on_the_card(client, login_as, store):
    row = sendgrid(store)
    login_as("owner")
    page = flat(client.get(PAGE).get_data(as_text=True))
    assert f'action="/settings/providers/{row.id}/rate-limits"' in page
    assert "<dt>Sending limits</dt> <dd><span class=\"muted\">None</span></dd>" in page
    for per in ("second", "minute", "day"):
        assert f'<label for="limit-{row.id}-{per}">Up to … per {per}' in page
    response = post_limits(client, row, second="", minute="600", day="10000")
    assert response.status_code == 200
    card = flat(response.get_data(as_text=True))
    assert card.lstrip().startswith('<section class="card provider-channel" id="channel-email"')
    assert "SendGrid: marketing now goes out at most 600 a minute · 10,000 a day." in card
    assert "<dt>Sending limits</dt> <dd>600 a minute · 10,000 a day</dd>" in card
    assert 'name="limit-minute" value="600"' in card and 'name="limit-second" value=""' in card
    assert f'id="limits-save-{row.id}" autofocus' in card
    assert saved(row) == [{"per": "minute", "limit": 600}, {"per": "day", "limit": 10000}]
    assert audits(store) == [("provider.rate_limits_set", {"rate_limits": None},
                              {"rate_limits": [{"per": "minute", "limit": 600}, {"per": "day", "limit": 10000}]})]
    assert "Provider sending limits changed" in client.get("/settings/audit").get_data(as_text=True)


def test_emptying_every_box_clears_the_limits(client, login_as, store):
    row = sendgrid(store)
    set_rate_limits(store.id, row.id, [{"per": "second", "limit": 5}])
    login_as("owner")
    card = flat(post_limits(client, row, second="", minute="", day="").get_data(as_text=True))
    assert "SendGrid: no sending limits; marketing goes out as fast as SendGrid takes it." in card
    assert saved(row) is None
    assert [action for action, _, _ in audits(store)] == ["provider.rate_limits_set", "provider.rate_limits_cleared"]
    post_limits(client, row, second="", minute="", day="")  # no change, no entry
    assert len(audits(store)) == 2


@pytest.mark.parametrize(("typed", "message"), [
    ("0", "Up to … per minute: must be a whole number from 1 to 1000000."),
    ("1000001", "Up to … per minute: must be a whole number from 1 to 1000000."),
    ("twenty", "Up to … per minute: must be a whole number from 1 to 1000000."),
    ("2.5", "Up to … per minute: must be a whole number from 1 to 1000000."),
])
def test_a_bad_box_is_named_kept_and_saves_nothing(client, login_as, store, typed, message):
    row = sendgrid(store)
    set_rate_limits(store.id, row.id, [{"per": "day", "limit": 9}])
    login_as("owner")
    response = post_limits(client, row, second="3", minute=typed, day="9")
    assert response.status_code == 422
    card = flat(response.get_data(as_text=True))
    assert f'<p class="flash-inline flash-error" role="alert" id="limits-{row.id}-error">' in card
    assert message in card
    assert f'name="limit-minute" value="{typed}"' in card and 'name="limit-second" value="3"' in card
    assert re.search(rf'id="limit-{row.id}-minute"[^>]*aria-invalid="true"[^>]*autofocus', card)
    assert saved(row) == [{"per": "day", "limit": 9}]
    assert len(audits(store)) == 1


def test_without_javascript_the_page_comes_back_with_the_message(client, login_as, store):
    row = sendgrid(store)
    login_as("owner")
    response = post_limits(client, row, headers={}, second="20")
    assert response.status_code == 303 and response.location.endswith(f"{PAGE}#channel-email")
    page = client.get(PAGE).get_data(as_text=True)
    assert "SendGrid: marketing now goes out at most 20 a second." in page
    assert saved(row) == [{"per": "second", "limit": 20}]


@pytest.mark.parametrize("role", ["marketer", "support"])
def test_only_the_owner_may_change_limits(client, login_as, store, role):
    row = sendgrid(store)
    login_as(role)
    assert post_limits(client, row, minute="5").status_code == 403
    assert saved(row) is None and audits(store) == []


def test_another_stores_account_is_404_and_unchanged(client, login_as, store):
    foreign = sendgrid(make_store("other"))
    login_as("owner")
    assert post_limits(client, foreign, minute="5").status_code == 404
    assert saved(foreign) is None


def test_a_post_without_the_token_is_refused(client, login_as, store):
    row = sendgrid(store)
    login_as("owner")
    response = client.post(f"{PAGE}/{row.id}/rate-limits", data={"limit-minute": "5"}, headers=HX)
    assert response.status_code == 400 and saved(row) is None


def test_the_domain_call_validates_untrusted_json_and_stays_in_its_store(store):
    row = sendgrid(store)
    with pytest.raises(ProviderSettingsError, match=r"rate_limits\[1\]\.limit must be a whole number from 1 to "
                                                    r"1000000\.") as raised:
        set_rate_limits(store.id, row.id, [{"per": "minute", "limit": 600}, {"per": "day", "limit": -1}])
    assert raised.value.fields == ("rate_limits",)
    db.session.rollback()
    assert saved(row) is None
    other = make_store("other")
    with pytest.raises(LookupError):
        set_rate_limits(other.id, row.id, [{"per": "minute", "limit": 600}])
