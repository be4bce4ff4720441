"""Saving and reading a store's segments; the rules are parsed first, so a segment that is stored
always parses."""
from __future__ import annotations

from sqlalchemy import select

from webapp.campaigns.models import Segment
from webapp.campaigns.segment_rules import Condition, Problem, as_json, parse
from webapp.extensions import db

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
