"""Settings → Team and Your account: the owner adds, re-roles and removes staff; removing someone
or changing your password ends their sessions everywhere at once."""
import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_store, make_user
from webapp.accounts.models import User
from webapp.audit.models import AuditEntry
from webapp.extensions import db
from webapp.team.members import TeamError, change_role, remove_member


def signed_in_client(app, user):
    browser = app.test_client()
    with app.app_context():
        token = csrf_token(browser, "/login")
        assert browser.post("/login", data={"email": user.email, "password": PASSWORD,
                                            "csrf_token": token}).status_code == 302
        browser.csrf = csrf_token(browser, "/")
    return browser


def get(app, browser, path):
    with app.app_context():  # a request of its own, as the browser's next one would be
        return browser.get(path)


def post(app, browser, path, data=None):
    with app.app_context():
        return browser.post(path, data={"csrf_token": browser.csrf, **(data or {})})


def test_the_owner_adds_someone_who_can_then_sign_in_with_that_role(app, store):
    owner = signed_in_client(app, make_user(store, "owner"))
    response = post(app, owner, "/settings/team", {"email": "Sam@Acme.test", "role": "support",
                                                   "password": "first-password-1"})
    assert response.status_code == 302
    page = get(app, owner, "/settings/team").get_data(as_text=True)
    assert "sam@acme.test can now sign in as support" in page and "sam@acme.test" in page
    sam = db.session.scalar(select(User).where(User.email == "sam@acme.test"))
    assert sam.role == "support" and sam.check_password("first-password-1")
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.target == "sam@acme.test")) == \
        "team.member_added"


def test_bad_input_changes_nothing_and_says_why(app, store):
    owner = signed_in_client(app, make_user(store, "owner"))
    other_store_user = make_user(make_store("elsewhere"), "owner")
    for data, why in (({"email": "not-an-email", "role": "support", "password": "first-password-1"}, "not an email"),
                      ({"email": "a@acme.test", "role": "admin", "password": "first-password-1"}, "Choose a role"),
                      ({"email": "a@acme.test", "role": "support", "password": "short"}, "at least 10"),
                      ({"email": other_store_user.email, "role": "support", "password": "first-password-1"},
                       "already has a NotifyHub account")):
        response = post(app, owner, "/settings/team", data)
        assert response.status_code == 400 and why in response.get_data(as_text=True), data
    assert db.session.scalar(select(User).where(User.email == "a@acme.test")) is None
    assert db.session.get(User, other_store_user.id).store_id != store.id


def test_removing_someone_signs_them_out_everywhere_and_keeps_them_out(app, store):
    owner_user, support_user = make_user(store, "owner"), make_user(store, "support")
    owner = signed_in_client(app, owner_user)
    laptop, phone = signed_in_client(app, support_user), signed_in_client(app, support_user)
    assert get(app, laptop, "/orders").status_code == 200
    response = post(app, owner, f"/settings/team/{support_user.id}/remove")
    assert response.status_code == 302
    for browser in (laptop, phone):
        answer = get(app, browser, "/orders")
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    again = app.test_client()
    with app.app_context():
        token = csrf_token(again, "/login")
        refused = again.post("/login", data={"email": support_user.email, "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 401
    page = get(app, owner, "/settings/team").get_data(as_text=True)
    assert "was removed and signed out everywhere" in page
    db.session.expire_all()
    assert db.session.get(User, support_user.id).removed_at is not None  # kept, so the audit log still names them


def test_a_removed_person_can_be_added_back(app, store):
    owner_user, gone = make_user(store, "owner"), make_user(store, "support")
    owner = signed_in_client(app, owner_user)
    post(app, owner, f"/settings/team/{gone.id}/remove")
    assert post(app, owner, "/settings/team", {"email": gone.email, "role": "marketer",
                                               "password": "welcome-back-1"}).status_code == 302
    db.session.expire_all()
    back = db.session.get(User, gone.id)
    assert back.removed_at is None and back.role == "marketer" and back.check_password("welcome-back-1")


def test_nobody_removes_or_demotes_themselves_so_the_store_keeps_an_owner(app, store):
    first, second = make_user(store, "owner"), make_user(store, "owner")
    owner = signed_in_client(app, first)
    for path, data in ((f"/settings/team/{first.id}/remove", None), (f"/settings/team/{first.id}/role",
                                                                      {"role": "support"})):
        response = post(app, owner, path, data)
        assert response.status_code == 400 and "cannot" in response.get_data(as_text=True)
    assert post(app, owner, f"/settings/team/{second.id}/role", {"role": "marketer"}).status_code == 302
    other = signed_in_client(app, make_user(store, "owner"))
    assert post(app, other, f"/settings/team/{first.id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, second.id).role == "marketer"
    assert db.session.get(User, first.id).removed_at is not None


def test_another_stores_member_is_not_found_and_staff_cannot_manage_the_team(app, store):
    owner = signed_in_client(app, make_user(store, "owner"))
    stranger = make_user(make_store("elsewhere"), "support")
    assert post(app, owner, f"/settings/team/{stranger.id}/remove").status_code == 404
    assert post(app, owner, f"/settings/team/{stranger.id}/role", {"role": "owner"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(User, stranger.id).removed_at is None
    for role in ("marketer", "support"):
        staff = signed_in_client(app, make_user(store, role))
        assert get(app, staff, "/settings/team").status_code == 403
        assert post(app, staff, "/settings/team", {"email": "x@acme.test", "role": "owner",
                                                   "password": "first-password-1"}).status_code == 403


def test_changing_your_password_signs_you_out_everywhere_else(app, store):
    user = make_user(store, "marketer")
    here, elsewhere = signed_in_client(app, user), signed_in_client(app, user)
    wrong = post(app, here, "/account/password", {"current": "nope", "new": "a-new-password-1",
                                                  "repeat": "a-new-password-1"})
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    mismatch = post(app, here, "/account/password", {"current": PASSWORD, "new": "a-new-password-1",
                                                     "repeat": "a-new-password-2"})
    assert mismatch.status_code == 400 and "not the same" in mismatch.get_data(as_text=True)
    done = post(app, here, "/account/password", {"current": PASSWORD, "new": "a-new-password-1",
                                                  "repeat": "a-new-password-1"})
    assert done.status_code == 302
    assert get(app, here, "/").status_code == 200  # this browser stays signed in
    answer = get(app, elsewhere, "/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("a-new-password-1")


def test_the_domain_never_leaves_a_store_without_an_owner(app, store):
    """Not reachable from the page (only an owner manages the team, and not themselves), but the
    rule holds for any caller: the last owner cannot be removed or demoted."""
    sole_owner, caller = make_user(store, "owner"), make_user(store, "support")
    for action in (lambda: remove_member(store.id, sole_owner.id, caller),
                   lambda: change_role(store.id, sole_owner.id, "support", caller)):
        with pytest.raises(TeamError, match="at least one owner"):
            action()
        db.session.rollback()
    assert db.session.get(User, sole_owner.id).role == "owner"
