"""Campaigns → Segments: the store's saved segments, and an editor with condition rows and a live
count of who the segment reaches on a channel, with how many each rule excludes.

The form names every input the way the domain's problems name fields ("conditions[2].value"), so a
problem lands next to its input. Rows are added, removed and re-shaped (a new field brings its own
operators and value input) by posting the whole form back with an `edit` command, as HTMX swaps of
the rows or, without JavaScript, as the whole page. Owners and marketers; support gets a 403.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.accounts.permissions import EDIT_CAMPAIGNS
from webapp.campaigns.audience import CHANNELS, EXCLUSIONS, NO_ADDRESS, NOT_OPTED_IN, SUPPRESSED, TOPIC_OFF, reach
from webapp.campaigns.segment_rules import (
    DATE_FIELDS,
    FIELDS,
    LIST_FIELDS,
    MATCHES,
    MAX_CONDITIONS,
    NUMBER_FIELDS,
    OPERATORS,
    TEXT_FIELDS,
    Problem,
    parse,
)
from webapp.campaigns.segment_store import (
    delete_segment,
    get_segment,
    list_segments,
    save_new_segment,
    update_segment,
)
from webapp.views import cursor_arg, is_htmx, require
from webapp.views.read.labels import channel_label

bp = Blueprint("segments", __name__, url_prefix="/segments")

FIELD_LABELS = {"tags": "Tags", "groups": "Shopper groups", "locale": "Language", "country": "Country",
                "orders_count": "Number of orders", "total_spent": "Total spent", "last_order_at": "Last order date",
                "last_opened_at": "Last opened a campaign", "last_clicked_at": "Last clicked in a campaign"}
# How each operator reads after the field's name, per kind of field: "Tags include any of vip, sale".
OP_LABELS = {
    **{name: {"any_of": "include any of", "all_of": "include all of", "none_of": "include none of"}
       for name in LIST_FIELDS},
    **{name: {"eq": "is", "any_of": "is one of", "none_of": "is none of"} for name in TEXT_FIELDS},
    **{name: {"eq": "is exactly", "gt": "is more than", "lt": "is less than"} for name in NUMBER_FIELDS},
    **{name: {"before": "is before", "after": "is on or after"} for name in DATE_FIELDS},
}
PLACEHOLDERS = {"tags": "vip, newsletter", "groups": "VIP, Wholesale", "locale": "en", "country": "US",
                "orders_count": "3", "total_spent": "100.00"}
MATCH_LABELS = {"all": "all of the conditions (AND)", "any": "any of the conditions (OR)"}
DEFAULT_CHANNEL = "email"
ROW_KEY = re.compile(r"conditions\[(\d{1,4})\]\.(field|op|value)")
EDIT_COMMAND = re.compile(r"add|refresh|remove-(\d{1,4})")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _segment_or_404(segment_id: int):
    segment = get_segment(current_user.store_id, segment_id)
    if segment is None:
        abort(404)
    return segment


# ------------------------------------------------------------------------- the form, both ways

def _blank_row() -> dict:
    return {"field": FIELDS[0], "op": OPERATORS[FIELDS[0]][0], "value": ""}


def _submitted() -> dict:
    """The editor's state as posted: rows in their order, renumbered from 0."""
    form = request.form
    found: dict[int, dict] = {}
    for key in form:
        named = ROW_KEY.fullmatch(key)
        if named:
            found.setdefault(int(named[1]), {"field": "", "op": "", "value": ""})[named[2]] = form.get(key, "")
    channel = form.get("channel", DEFAULT_CHANNEL)
    return {"name": form.get("name", ""), "match": form.get("match", "all"), "rows": [found[i] for i in sorted(found)],
            "channel": channel, "revision": form.get("revision", "")}


def _conditions(rows: list[dict]) -> list[dict]:
    """The rows in the API's shape: lists split at commas, blanks as missing values."""
    conditions = []
    for row in rows:
        name, op, raw = row["field"], row["op"], row["value"].strip()
        if name in LIST_FIELDS or op in ("any_of", "none_of"):
            value = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            value = raw or None
        conditions.append({"field": name, "op": op, "value": value})
    return conditions


def _row_of(condition: dict) -> dict:
    """A stored condition as the editor shows it."""
    name, value = condition.get("field", ""), condition.get("value")
    if isinstance(value, list):
        shown = ", ".join(str(item) for item in value)
    elif name in DATE_FIELDS and isinstance(value, str):
        shown = _day_of(value)
    else:
        shown = "" if value is None else str(value)
    if name == "country":  # stored lower-case (matching ignores case); shown as the codes are written
        shown = shown.upper()
    return {"field": name, "op": condition.get("op", ""), "value": shown}


def _day_of(value: str) -> str:
    """A stored moment as a date when it is midnight UTC (what the date input saved), else as it is."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None and moment.astimezone(UTC).time() == datetime.min.time():
        return moment.astimezone(UTC).date().isoformat()
    return value


def _edited(state: dict, command: str) -> dict:
    """The state after an add, remove or refresh: a row whose field changed gets that field's first
    operator (and an empty value) when its operator does not fit the new field."""
    rows = [dict(row) for row in state["rows"]]
    wanted = EDIT_COMMAND.fullmatch(command)
    if wanted and command == "add" and len(rows) < MAX_CONDITIONS:
        rows.append(_blank_row())
    elif wanted and wanted[1] is not None and int(wanted[1]) < len(rows):
        del rows[int(wanted[1])]
    for row in rows:
        ops = OPERATORS.get(row["field"])
        if ops and row["op"] not in ops:
            row["op"], row["value"] = ops[0], ""
    return {**state, "rows": rows}


def _revision(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


# ------------------------------------------------------------------------------------ in words

def in_sentence(label: str) -> str:
    """"Email" inside a sentence is "email"; "SMS" and "WhatsApp" stay as they are."""
    return label[:1].lower() + label[1:] if label[1:].islower() else label


def exclusion_label(reason: str, channel: str) -> tuple[str, str]:
    """Why a customer of the segment is not reached, in words, and a detail for the less obvious ones."""
    name = in_sentence(channel_label(channel))
    return {NO_ADDRESS: ("no email address" if channel == "email" else "no phone number", ""),
            SUPPRESSED: (f"suppressed on {name}", "hard bounce or spam complaint" if channel == "email"
                         else "replied STOP"),
            NOT_OPTED_IN: (f"not opted in to {name}", "never asked, or opted out"),
            TOPIC_OFF: ("turned campaign messages off", "in the preference centre")}.get(reason, (reason, ""))


def summary(match: str, conditions: list[dict]) -> str:
    """A saved segment's rules as one sentence: "Tags include any of vip and total spent is more than 100"."""
    if not conditions:
        return "Every customer"
    joiner = " and " if match == "all" else " or "
    parts = []
    for condition in conditions:
        name, op, value = condition.get("field"), condition.get("op"), _row_of(condition)["value"]
        if name in LIST_FIELDS + TEXT_FIELDS:  # words in quotes, so "and" and commas inside read right
            value = ", ".join(f"“{word.strip()}”" for word in value.split(","))
        label = FIELD_LABELS.get(name, str(name))
        parts.append(f"{label.lower()} {OP_LABELS.get(name, {}).get(op, op)} {value}")
    text = joiner.join(parts)
    return text[:1].upper() + text[1:]


def _where(field: str) -> str:
    """Where a problem is, for the list at the top of the page: "Condition 3, value"."""
    found = re.fullmatch(r"conditions\[(\d+)\](?:\.(\w+))?", field)
    if found:
        part = {"field": "field", "op": "operator", "value": "value"}.get(found[2] or "", "")
        return f"Condition {int(found[1]) + 1}" + (f", {part}" if part else "")
    return {"name": "Name", "match": "Match", "conditions": "Conditions", "channel": "Count for"}.get(field, "")


def _said(problem: Problem) -> str:
    """The domain's message with the field's own name in words: "Total spent needs a number"."""
    message = problem.message
    for name in sorted(FIELDS, key=len, reverse=True):
        if message.startswith(f"{name} "):
            message = FIELD_LABELS[name] + message[len(name):]
            break
    if problem.field == "name":
        message = "A name is required (at most 200 characters)"
    return message[:1].upper() + message[1:]


def _problems_by_field(problems: list[Problem]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for problem in problems:
        shown.setdefault(problem.field, _said(problem))
    return shown


def value_input(row: dict) -> dict:
    """The value input a row's field calls for: its type, step and placeholder, and a hint."""
    name, op, value = row["field"], row["op"], row["value"]
    if name in LIST_FIELDS or op in ("any_of", "none_of"):
        return {"type": "text", "placeholder": PLACEHOLDERS.get(name, ""), "hint": "separate several with commas"}
    if name in NUMBER_FIELDS:
        return {"type": "number", "step": "1" if name == "orders_count" else "0.01", "min": "0",
                "placeholder": PLACEHOLDERS[name], "hint": "in the store's currency" if name == "total_spent" else ""}
    if name in DATE_FIELDS:
        if not value or DAY.fullmatch(value):
            return {"type": "date", "hint": "UTC"}
        return {"type": "text", "hint": "an ISO 8601 time"}
    return {"type": "text", "placeholder": PLACEHOLDERS.get(name, ""),
            "hint": "a language code; en includes en-GB" if name == "locale" else
            "a two-letter country code" if name == "country" else ""}


# ------------------------------------------------------------------------------------ rendering

def _count(state: dict) -> tuple[dict, int]:
    """The count panel's context: who the rules reach on the channel now, or why they cannot be counted."""
    channel = state["channel"]
    # A row whose value is not typed yet is left out of the count (and said so), not an error yet.
    blank = [index for index, row in enumerate(state["rows"]) if not row["value"].strip()]
    filled = [row for index, row in enumerate(state["rows"]) if index not in blank]
    match, parsed, problems = parse(state["match"], _conditions(filled))
    if channel not in CHANNELS:
        problems.append(Problem("channel", f"channel must be one of {', '.join(CHANNELS)}"))
    if problems:
        numbered = {f"conditions[{position}]": f"conditions[{index}]"
                    for position, index in enumerate(i for i in range(len(state["rows"])) if i not in blank)}
        return {"problems": [(_where(_renumbered(p.field, numbered)), _said(p)) for p in problems],
                "counted": None, "channel": channel, "blank_note": _blank_note(blank)}, 422
    counted = reach(current_user.store_id, match, parsed, channel)
    return {"problems": [], "counted": counted, "channel": channel, "blank_note": _blank_note(blank),
            "exclusions": [(reason, *exclusion_label(reason, channel), counted.excluded.get(reason, 0))
                           for reason in EXCLUSIONS]}, 200


def _blank_note(blank: list[int]) -> str:
    if not blank:
        return ""
    names = [f"Condition {index + 1}" for index in blank]
    named = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return (f"{named} has no value yet, so it is left out of this count." if len(names) == 1 else
            f"{named} have no value yet, so they are left out of this count.")


def _renumbered(field: str, numbered: dict[str, str]) -> str:
    """A problem of the filled rows named by the row's place on the page."""
    head, dot, tail = field.partition(".")
    return numbered.get(head, head) + dot + tail


def _editor_context(segment, state: dict, problems: list[Problem]) -> dict:
    action = url_for("segments.update", segment_id=segment.id) if segment else url_for("segments.create")
    count, _ = _count(state)
    return {"segment": segment, "state": state, "action": action, "problems": problems,
            "problem_at": _problems_by_field(problems), "where": _where, "said": _said, "count": count,
            "fields": FIELDS, "field_labels": FIELD_LABELS, "operators": OPERATORS, "op_labels": OP_LABELS,
            "value_input": value_input, "matches": MATCHES, "match_labels": MATCH_LABELS, "channels": CHANNELS,
            "max_conditions": MAX_CONDITIONS}


def _editor(segment, state: dict, problems: list[Problem] = (), status: int = 200):
    return render_template("segments/edit.html", **_editor_context(segment, state, list(problems))), status


def _rows_answer(segment, state: dict):
    """An add, remove or refresh: the rows alone for HTMX (the count follows on its own), else the page."""
    state = _edited(state, request.form.get("edit", ""))
    if not is_htmx():
        return _editor(segment, state)
    context = _editor_context(segment, state, [])
    return render_template("segments/_conditions.html", **context), 200, {
        "HX-Trigger-After-Settle": "segment-rules-changed", "Vary": "HX-Request"}


# ---------------------------------------------------------------------------------------- routes

@bp.get("")
@require(EDIT_CAMPAIGNS)
def index():
    before = cursor_arg()
    page = list_segments(current_user.store_id, before)
    return render_template("segments/index.html", page=page, before=before, summary=summary)


@bp.get("/new")
@require(EDIT_CAMPAIGNS)
def new():
    state = {"name": "", "match": "all", "rows": [_blank_row()], "channel": DEFAULT_CHANNEL, "revision": ""}
    return _editor(None, state)


@bp.post("")
@require(EDIT_CAMPAIGNS)
def create():
    state = _submitted()
    if "edit" in request.form:
        return _rows_answer(None, state)
    segment, problems = save_new_segment(current_user.store_id, current_user.id, state["name"], state["match"],
                                         _conditions(state["rows"]))
    if problems:
        return _editor(None, state, problems, 400)
    flash(f"Segment “{segment.name}” saved.", "success")
    return redirect(url_for("segments.index"), 303)


@bp.get("/<int:segment_id>")
@require(EDIT_CAMPAIGNS)
def edit(segment_id: int):
    segment = _segment_or_404(segment_id)
    channel = request.args.get("channel", DEFAULT_CHANNEL)
    state = {"name": segment.name, "match": segment.match, "rows": [_row_of(c) for c in segment.conditions or []],
             "channel": channel if channel in CHANNELS else DEFAULT_CHANNEL,
             "revision": segment.updated_at.isoformat()}
    return _editor(segment, state)


@bp.post("/<int:segment_id>")
@require(EDIT_CAMPAIGNS)
def update(segment_id: int):
    segment = _segment_or_404(segment_id)
    state = _submitted()
    if "edit" in request.form:
        return _rows_answer(segment, state)
    saved, problems = update_segment(current_user.store_id, segment.id, current_user.id, state["name"],
                                     state["match"], _conditions(state["rows"]), _revision(state["revision"]))
    if problems:
        stale = any(problem.field == "segment" for problem in problems)
        return _editor(get_segment(current_user.store_id, segment_id), state, problems, 409 if stale else 400)
    flash(f"Segment “{saved.name}” saved.", "success")
    return redirect(url_for("segments.index"), 303)


@bp.post("/<int:segment_id>/delete")
@require(EDIT_CAMPAIGNS)
def delete(segment_id: int):
    segment = _segment_or_404(segment_id)
    name = segment.name
    problems = delete_segment(current_user.store_id, segment.id, current_user.id)
    if problems:
        flash(f"Segment “{name}” not deleted: {problems[0].message}.", "error")
        target = url_for("segments.edit", segment_id=segment_id)
    else:
        flash(f"Segment “{name}” deleted.", "success")
        target = url_for("segments.index")
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@bp.post("/count")
@require(EDIT_CAMPAIGNS)
def count():
    """The live count panel for the rules on the page (nothing is saved)."""
    context, status = _count(_submitted())
    return render_template("segments/_count.html", count=context), status
