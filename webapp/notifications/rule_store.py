"""Loading and saving a store's rules. Saving writes every change and its audit entry in one
transaction: either all of a save lands or none of it does."""
from __future__ import annotations

from sqlalchemy import select, update

from webapp.accounts.models import Store
from webapp.audit.models import record
from webapp.extensions import db
from webapp.notifications.models import NotificationRule
from webapp.notifications.rules import RuleChange, RuleKey, RuleState, complete, diff_rules
from webapp.vocabulary import INVOICE, INVOICE_SOURCE


class RulesChangedElsewhere(Exception):
    """Someone saved the rules after this form was loaded."""

    def __init__(self, current_revision: int):
        super().__init__(
            "Someone else saved these rules after you opened this page, so nothing was saved. "
            "Your edits are still shown; check them and press Save again to overwrite."
        )
        self.current_revision = current_revision


def load_rules(store_id: int) -> dict[RuleKey, RuleState]:
    rows = db.session.scalars(select(NotificationRule).where(NotificationRule.store_id == store_id))
    return complete({row.key: row.state for row in rows})


def rules_for_event(store_id: int, kind: str, source: str, status: str) -> dict[RuleKey, RuleState]:
    """Just the rule an event can match (the hot path of every webhook), in load_rules' shape."""
    key = RuleKey(kind, INVOICE_SOURCE.code if kind == INVOICE else source, status)
    row = db.session.execute(
        select(NotificationRule.active, NotificationRule.channels)
        .where(NotificationRule.store_id == store_id, NotificationRule.kind == key.kind,
               NotificationRule.source == key.source, NotificationRule.status == key.status)
    ).first()
    return {key: RuleState(row.active, frozenset(row.channels or ()))} if row else {}


def rules_revision(store_id: int) -> int:
    return db.session.scalar(select(Store.rules_revision).where(Store.id == store_id)) or 0


def save_rules(store_id: int, user_id: int | None, submitted: dict[RuleKey, RuleState],
               expected_revision: int | None = None) -> list[RuleChange]:
    try:
        if expected_revision is not None and not diff_rules(load_rules(store_id), submitted):
            return []  # nothing to save: leave the revision alone so other open pages stay valid
        if expected_revision is not None:
            # Compare-and-set on the store row also serialises concurrent saves.
            bumped = db.session.execute(
                update(Store).where(Store.id == store_id, Store.rules_revision == expected_revision)
                .values(rules_revision=Store.rules_revision + 1)
            ).rowcount
            if bumped != 1:
                db.session.rollback()
                raise RulesChangedElsewhere(rules_revision(store_id))
        rows = {
            row.key: row
            for row in db.session.scalars(select(NotificationRule).where(NotificationRule.store_id == store_id))
        }
        changes = diff_rules({key: row.state for key, row in rows.items()}, submitted)
        for change in changes:
            row = rows.get(change.key)
            if row is None:
                row = NotificationRule(store_id=store_id, kind=change.key.kind,
                                       source=change.key.source, status=change.key.status)
                db.session.add(row)
            row.active = change.new.active
            row.channels = sorted(change.new.channels)
            record(store_id, user_id, "notification_rule.updated", change.key.label,
                   old=change.old.describe(), new=change.new.describe())
        db.session.commit()
    except RulesChangedElsewhere:
        raise
    except Exception:
        db.session.rollback()
        raise
    return changes
