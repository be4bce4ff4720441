"""Saving and reading a store's segments; the rules are parsed first, so a segment that is stored
always parses. The API creates them with create_segment; the dashboard's editor saves, updates and
deletes them with their audit entries in the same transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from webapp.audit.models import record
from webapp.campaigns.models import Campaign, Segment
from webapp.campaigns.segment_rules import Condition, Problem, as_json, parse
from webapp.extensions import db
from webapp.keyset import Page, keyset_page
from webapp.timeutil import utcnow

MAX_NAME = 200


def create_segment(store_id: int, name: object, match: object, conditions: object) -> tuple[Segment | None,
                                                                                            list[Problem]]:
    """A new segment, or (None, the problems): nothing is written when any field is wrong."""
    parsed_match, parsed, problems = parse(match, conditions)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        problems.insert(0, Problem("name", f"name is required, at most {MAX_NAME} characters"))
    if problems:
        return None, problems
    stored = as_json(parsed_match, parsed)
    segment = Segment(store_id=store_id, name=name.strip(), match=stored["match"], conditions=stored["conditions"])
    db.session.add(segment)
    db.session.commit()
    return segment, []


def get_segment(store_id: int, segment_id: int) -> Segment | None:
    return db.session.scalar(select(Segment).where(Segment.store_id == store_id, Segment.id == segment_id))


def rules_of(segment: Segment) -> tuple[str, list[Condition]]:
    match, parsed, problems = parse(segment.match, segment.conditions)
    if problems:  # only if a row was edited by hand: never count a half-understood segment
        raise ValueError(f"segment {segment.id} holds rules that no longer parse: {problems[0].message}")
    return match, parsed


# ---------------------------------------------------------------- the dashboard's editor (with audit)

STALE = "someone else saved this segment meanwhile: nothing was changed; reload to see their version"
IN_USE = "campaigns use this segment, so it stays; point them at another segment first"
LIST_PAGE = 50


def _checked(name: object, match: object, conditions: object) -> tuple[str, dict, list[Problem]]:
    """The name and the rules as stored, or the problems (the same checks as create_segment)."""
    parsed_match, parsed, problems = parse(match, conditions)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        problems.insert(0, Problem("name", f"name is required, at most {MAX_NAME} characters"))
    return (name.strip() if isinstance(name, str) else ""), as_json(parsed_match, parsed), problems


def _audited(segment: Segment) -> dict:
    return {"name": segment.name, "match": segment.match, "conditions": segment.conditions}


def save_new_segment(store_id: int, user_id: int | None, name: object, match: object,
                     conditions: object) -> tuple[Segment | None, list[Problem]]:
    """create_segment with its audit entry in the same transaction; nothing is written on a problem."""
    clean_name, stored, problems = _checked(name, match, conditions)
    if problems:
        return None, problems
    segment = Segment(store_id=store_id, name=clean_name, match=stored["match"], conditions=stored["conditions"])
    db.session.add(segment)
    db.session.flush()
    record(store_id, user_id, "segment.created", f"segment #{segment.id} ({clean_name})"[:200],
           new=_audited(segment))
    db.session.commit()
    return segment, []


def update_segment(store_id: int, segment_id: int, user_id: int | None, name: object, match: object,
                   conditions: object, seen_updated_at: datetime | None) -> tuple[Segment | None, list[Problem]]:
    """Replace a segment's name and rules, audited, if nobody saved it since `seen_updated_at` (the
    editor's copy): a compare-and-set, so two people editing at once cannot undo each other unseen.
    (None, problems) when anything is wrong, the segment is missing, or it changed meanwhile."""
    clean_name, stored, problems = _checked(name, match, conditions)
    segment = get_segment(store_id, segment_id)
    if segment is None:
        return None, [Problem("segment", "no such segment in this store")]
    if problems:
        return None, problems
    before = _audited(segment)
    changed = db.session.execute(
        update(Segment).where(Segment.store_id == store_id, Segment.id == segment_id,
                              Segment.updated_at == seen_updated_at)
        .values(name=clean_name, match=stored["match"], conditions=stored["conditions"], updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if seen_updated_at is None or changed != 1:
        db.session.rollback()
        return None, [Problem("segment", STALE)]
    record(store_id, user_id, "segment.updated", f"segment #{segment_id} ({clean_name})"[:200], old=before,
           new={"name": clean_name, **stored})
    db.session.commit()
    db.session.refresh(segment)
    return segment, []


def list_segments(store_id: int, before: int | None = None, size: int = LIST_PAGE) -> Page:
    """The store's segments, newest first, a keyset page at a time."""
    return keyset_page(db.session, select(Segment).where(Segment.store_id == store_id), Segment.id, before, size)


def campaigns_using(store_id: int, segment_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Campaign).where(
        Campaign.store_id == store_id, Campaign.segment_id == segment_id)) or 0


def delete_segment(store_id: int, segment_id: int, user_id: int | None) -> list[Problem]:
    """Delete a segment no campaign points at (a campaign keeps its segment, sent or not, so its
    history still says whom it was for), audited. The problems when it stays."""
    segment = get_segment(store_id, segment_id)
    if segment is None:
        return [Problem("segment", "no such segment in this store")]
    if campaigns_using(store_id, segment_id):
        return [Problem("segment", IN_USE)]
    record(store_id, user_id, "segment.deleted", f"segment #{segment.id} ({segment.name})"[:200],
           old=_audited(segment))
    db.session.delete(segment)
    db.session.commit()
    return []
