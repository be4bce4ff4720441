"""Segment rules (pure): which conditions a saved segment may hold, what each one means, and
whether a customer's profile matches them.

The vocabulary is the API's contract (`POST /api/v1/segments`): `match` is "all" or "any", and each
condition is `{"field", "op", "value"}` with the fields and operators below. `parse` turns untrusted
input into conditions or a list of problems that each name the field at fault; `matches` evaluates
parsed conditions against one profile. Segments are evaluated when a send starts, never copied in
advance, so this runs over the live customer list.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

MATCHES = ("all", "any")
LIST_FIELDS = ("tags", "groups")  # a customer holds several: any_of / all_of / none_of
TEXT_FIELDS = ("locale", "country")  # one value each: eq, or any_of / none_of a list
NUMBER_FIELDS = ("orders_count", "total_spent")
# last_opened_at / last_clicked_at: the customer's latest open or click of any campaign message,
# so "opened a campaign since 1 November" is `last_opened_at after 2026-11-01`.
ENGAGEMENT_FIELDS = ("last_opened_at", "last_clicked_at")
DATE_FIELDS = ("last_order_at", *ENGAGEMENT_FIELDS)
FIELDS = LIST_FIELDS + TEXT_FIELDS + NUMBER_FIELDS + DATE_FIELDS
OPERATORS: dict[str, tuple[str, ...]] = {
    **{name: ("any_of", "all_of", "none_of") for name in LIST_FIELDS},
    **{name: ("eq", "any_of", "none_of") for name in TEXT_FIELDS},
    **{name: ("eq", "gt", "lt") for name in NUMBER_FIELDS},
    **{name: ("before", "after") for name in DATE_FIELDS},
}
MAX_CONDITIONS = 50
MAX_VALUES = 200


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: object  # frozenset[str] for lists, str, Decimal, or an aware datetime


@dataclass(frozen=True)
class Profile:
    """What a segment can ask about one customer."""

    tags: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    locale: str | None = None
    country: str | None = None
    orders_count: int = 0
    total_spent: Decimal = Decimal("0")
    last_order_at: datetime | None = None
    last_opened_at: datetime | None = None
    last_clicked_at: datetime | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    field: str  # "match", "conditions", or "conditions[2].value"
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


def parse(match: object, conditions: object) -> tuple[str, list[Condition], list[Problem]]:
    """Untrusted `match` and `conditions` as parsed conditions, or the problems with them."""
    problems: list[Problem] = []
    if match not in MATCHES:
        problems.append(Problem("match", f"match must be one of {', '.join(MATCHES)}"))
    if not isinstance(conditions, list):
        return str(match), [], [*problems, Problem("conditions", "conditions must be a list")]
    if len(conditions) > MAX_CONDITIONS:
        problems.append(Problem("conditions", f"at most {MAX_CONDITIONS} conditions"))
    parsed = []
    for index, raw in enumerate(conditions[:MAX_CONDITIONS]):
        condition, problem = _parse_condition(index, raw)
        if problem:
            problems.append(problem)
        else:
            parsed.append(condition)
    return str(match), parsed, problems


def _parse_condition(index: int, raw: object) -> tuple[Condition | None, Problem | None]:
    where = f"conditions[{index}]"
    if not isinstance(raw, Mapping):
        return None, Problem(where, "each condition is an object with field, op and value")
    name, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if name not in OPERATORS:
        return None, Problem(f"{where}.field", f"field must be one of {', '.join(FIELDS)}")
    if op not in OPERATORS[name]:
        return None, Problem(f"{where}.op", f"{name} takes {', '.join(OPERATORS[name])}")
    try:
        return Condition(name, op, _value(name, op, value)), None
    except ValueError as error:
        return None, Problem(f"{where}.value", str(error))


def _value(name: str, op: str, value: object) -> object:
    if name in LIST_FIELDS or op in ("any_of", "none_of"):
        return _words(value, name)
    if name in TEXT_FIELDS:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} needs a value")
        return value.strip().lower()
    if name in NUMBER_FIELDS:
        return _number(value, name)
    return _moment(value, name)


def _words(value: object, name: str) -> frozenset[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
        raise ValueError(f"{name} needs a list of 1 to {MAX_VALUES} values")
    if not all(isinstance(item, str) and item.strip() for item in values):
        raise ValueError(f"{name} values must be non-empty text")
    return frozenset(item.strip().lower() for item in values)


def _number(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} needs a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} needs a number, not {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} needs a number of 0 or more")
    return number


def _moment(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name} needs a date (YYYY-MM-DD) or an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} needs a date (YYYY-MM-DD) or an ISO 8601 time, not {value!r}") from None
    if moment.tzinfo is None:  # a date alone, or a time without its zone: UTC
        moment = moment.replace(tzinfo=UTC)
    return moment


def as_json(match: str, conditions: list[Condition]) -> dict:
    """Parsed conditions back in the API's shape (how a segment is stored and answered)."""
    def shown(condition: Condition):
        value = condition.value
        if isinstance(value, frozenset):
            return sorted(value)
        if isinstance(value, Decimal):
            return float(value) if value % 1 else int(value)
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    return {"match": match, "conditions": [{"field": c.field, "op": c.op, "value": shown(c)} for c in conditions]}


def matches(match: str, conditions: list[Condition], profile: Profile) -> bool:
    """Whether the profile is in the segment. No conditions: every customer."""
    if not conditions:
        return True
    results = (_holds(condition, profile) for condition in conditions)
    return all(results) if match == "all" else any(results)


def _holds(condition: Condition, profile: Profile) -> bool:
    name, op, wanted = condition.field, condition.op, condition.value
    if name in LIST_FIELDS:
        held = {item.lower() for item in getattr(profile, name)}
        return {"any_of": bool(held & wanted), "all_of": wanted <= held, "none_of": not held & wanted}[op]
    if name in TEXT_FIELDS:
        actual = (getattr(profile, name) or "").lower()
        if name == "locale" and op == "eq":  # "pt" matches pt-BR too: a language includes its regions
            return actual == wanted or actual.startswith(f"{wanted}-")
        return {"eq": actual == wanted, "any_of": actual in wanted, "none_of": actual not in wanted}[op]
    if name in NUMBER_FIELDS:
        actual = Decimal(str(getattr(profile, name)))
        return {"eq": actual == wanted, "gt": actual > wanted, "lt": actual < wanted}[op]
    moment = getattr(profile, name)
    if moment is None:  # never ordered (opened, clicked): neither before nor after any date
        return False
    return moment < wanted if op == "before" else moment > wanted
