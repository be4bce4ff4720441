import time

from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user
from tests.runtime import reconfigure
from webapp.extensions import db


def post_login(client, email, password, token=None):
    token = token if token is not None else csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_owner_signs_in_and_lands_on_overview(client, store):
    user = make_user(store, "owner")
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Acme Goods" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused_with_a_clear_message(client, store):
    user = make_user(store, "owner")
    response = post_login(client, user.email, "not-the-password")
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_unknown_user_gets_the_same_message(client, store):
    response = post_login(client, "nobody@example.test", "whatever-password")
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, store):
    user = make_user(store, "owner")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_repeated_failures_lock_the_account_for_a_while(client, store, app):
    user = make_user(store, "owner")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert post_login(client, user.email, "wrong-password").status_code == 401
    # Even the right password is refused while locked: guessing gains nothing.
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)


def test_success_resets_the_failure_count(client, store, app):
    user = make_user(store, "owner")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        post_login(client, user.email, "wrong-password")
    assert post_login(client, user.email, PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert post_login(client, user.email, "wrong-password").status_code == 401


def test_pages_require_sign_in(client, store):
    for path in ("/", "/settings/notifications", "/orders", "/settings/audit"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_next_parameter_cannot_redirect_off_site(client, store):
    user = make_user(store, "owner")
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/x",
                           data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_logout_needs_post_with_token(client, login_as):
    login_as("owner")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": client.csrf}).status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_http_only(client, store):
    user = make_user(store, "owner")
    response = post_login(client, user.email, PASSWORD)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_next_parameter_rejects_tab_and_newline_tricks(client, store):
    user = make_user(store, "owner")
    for target in ("/%09/evil.example", "/%0a/x", "/\\evil.example", "https://evil.example/"):
        token = csrf_token(client, "/login")
        response = client.post(f"/login?next={target}",
                               data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"] == "/", target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client, "/login")
    ok = client.post("/login?next=/orders?before=5",
                     data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert ok.headers["Location"] == "/orders?before=5"


def login_from(app, ip: str, email: str, password: str):
    """A sign-in from a browser of its own at address `ip` (in an app context of its own, so Flask-WTF's
    per-context token cache cannot hand it another browser's CSRF token)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    with app.app_context():
        return client, post_login(client, email, password)


def test_a_cookie_copied_before_sign_out_no_longer_opens_pages(app, client, store):
    user = make_user(store, "owner")
    assert post_login(client, user.email, PASSWORD).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    with app.app_context():
        assert thief.get("/").status_code == 200  # the copy works while the session lives
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    with app.app_context():
        response = thief.get("/settings/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_new_password_ends_the_users_other_sessions(app, client, store):
    user = make_user(store, "owner")
    assert post_login(client, user.email, PASSWORD).status_code == 302
    user.set_password("a-brand-new-password")
    db.session.commit()
    with app.app_context():  # a request of its own, as the browser's next one would be
        assert client.get("/").status_code == 302


def test_a_strangers_guesses_do_not_keep_the_owner_out(app, store):
    user = make_user(store, "owner")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login_from(app, "203.0.113.9", user.email, "guess")
    _, stranger = login_from(app, "203.0.113.9", user.email, PASSWORD)
    assert stranger.status_code == 429, stranger.get_data(as_text=True)[-800:]  # the guessing client is locked out
    _, owner = login_from(app, "198.51.100.7", user.email, PASSWORD)
    assert owner.status_code == 302  # the owner, elsewhere, signs in


def test_one_address_guessing_many_accounts_runs_out_of_its_budget(app, store):
    users = [make_user(store, "support") for _ in range(5)]
    budget = app.config["LOGIN_MAX_FAILURES"] * 4
    for attempt in range(budget):
        assert login_from(app, "203.0.113.10", users[attempt % 5].email, "guess")[1].status_code == 401
    fresh = make_user(store, "marketer")
    assert login_from(app, "203.0.113.10", fresh.email, PASSWORD)[1].status_code == 429
    assert login_from(app, "203.0.113.11", fresh.email, PASSWORD)[1].status_code == 302


def test_guesses_from_many_addresses_slow_the_account_down_without_locking_it(app, store):
    user = make_user(store, "owner")
    for n in range(app.config["LOGIN_MAX_FAILURES"] * 10):
        login_from(app, f"203.0.113.{n % 250}", user.email, f"guess-{n}")
    _, owner = login_from(app, "198.51.100.8", user.email, PASSWORD)
    assert owner.status_code == 302  # the account's next slot
    _, next_guess = login_from(app, "198.51.100.9", user.email, "guess")
    assert next_guess.status_code == 429 and "seconds" in next_guess.get_data(as_text=True)


def test_a_lock_out_ends_when_its_window_does(app, client, store):
    reconfigure(app, LOGIN_LOCKOUT_SECONDS=1)
    user = make_user(store, "owner")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        post_login(client, user.email, "wrong-password")
    assert post_login(client, user.email, PASSWORD).status_code == 429
    time.sleep(1.2)
    assert post_login(client, user.email, PASSWORD).status_code == 302
