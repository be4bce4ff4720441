import json
import re
from pathlib import Path

from sqlalchemy import select

from webapp.accounts.models import Store, User
from webapp.demo import seed_demo
from webapp.dispatch.models import Notification
from webapp.events.api_keys import create_api_key
from webapp.extensions import db
from webapp.notifications.rule_store import load_rules


def test_stores_and_users_can_be_provisioned_from_the_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stores", "create", "bolt", "--name", "Bolt Bikes", "--currency", "EUR",
                                 "--timezone", "Europe/Berlin", "--locale", "de"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "--store", "bolt", "--email", "Ops@Bolt.test",
                                 "--role", "support", "--password", "long-enough-pass"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "ops@bolt.test"))
    assert user.role == "support" and user.store.slug == "bolt" and user.check_password("long-enough-pass")
    listing = runner.invoke(args=["stores", "list"])
    assert "bolt\tBolt Bikes\tEUR\t1 users" in listing.output


def test_cli_rejects_bad_input_and_creates_nothing(app):
    runner = app.test_cli_runner()
    for args in (["stores", "create", "Bad Slug!", "--name", "X"],
                 ["stores", "create", "okslug", "--name", "X", "--timezone", "Mars/Olympus"],
                 ["stores", "create", "okslug", "--name", "X", "--currency", "dollars"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and "Error" in result.output
    assert db.session.scalar(select(Store.id)) is None
    result = runner.invoke(args=["users", "create", "--store", "nope", "--email", "a@b.test", "--role", "owner",
                                 "--password", "long-enough-pass"])
    assert result.exit_code != 0 and "No store with slug" in result.output
    runner.invoke(args=["stores", "create", "real", "--name", "Real"])
    result = runner.invoke(args=["users", "create", "--store", "real", "--email", "a@b.test", "--role", "owner",
                                 "--password", "short"])
    assert result.exit_code != 0 and "at least" in result.output
    assert db.session.scalar(select(User.id)) is None


def test_demo_seed_is_idempotent(app):
    first = seed_demo()
    rules_before = load_rules(first.id)
    second = seed_demo()
    assert first.id == second.id
    assert load_rules(second.id) == rules_before
    users = db.session.scalars(select(User.email).order_by(User.email)).all()
    assert users == ["marketer@demo.test", "owner@demo.test", "support@demo.test"]
    assert db.session.get(User, db.session.scalar(select(User.id).where(User.email == "owner@demo.test"))) \
        .check_password("demo-owner-pass")
    assert sum(rule.active for rule in rules_before.values()) >= 3
    # A first event went through the pipeline, once, so Activity and Outbox have something to show.
    from webapp.dispatch.models import Notification

    channels = db.session.scalars(select(Notification.channel).order_by(Notification.channel)).all()
    assert channels == ["email", "sms"]


def test_the_readme_api_example_plans_a_notification_on_a_fresh_demo(app):
    """README.md's curl example, sent as written to a freshly seeded demo."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    body = json.loads(re.search(r"/api/v1/events .*?-d '(\{.*?\})'", readme, re.S).group(1))
    store = seed_demo()
    key = create_api_key(store.id, "README").plaintext
    response = app.test_client().post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code in (200, 201, 202), response.get_data(as_text=True)
    planned = db.session.scalars(select(Notification).where(Notification.store_id == store.id,
                                                            Notification.source == "cto")).all()
    assert {(n.channel, n.status) for n in planned} == {("email", "pending"), ("sms", "skipped")}
