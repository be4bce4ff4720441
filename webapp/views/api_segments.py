"""Segments through the API (store API key): save one (`POST /api/v1/segments`), read it, and count
who it reaches on a channel now (`GET /api/v1/segments/<id>/count?channel=email`), with how many
each rule excludes. Bad rules are a 422 naming the field, and nothing is saved."""
from __future__ import annotations

from flask import g, jsonify, request

from webapp import jsonbody
from webapp.campaigns.audience import CHANNELS, reach
from webapp.campaigns.segment_store import create_segment, get_segment, rules_of
from webapp.views.api import api_key_required, bp, error

SEGMENT_FIELDS = ("name", "match", "conditions")


def segment_json(segment) -> dict:
    return {"id": segment.id, "name": segment.name, "match": segment.match, "conditions": segment.conditions,
            "created_at": segment.created_at.isoformat(), "updated_at": segment.updated_at.isoformat()}


@bp.post("/segments")
@api_key_required
def post_segment():
    try:
        payload = jsonbody.loads(request.get_data())
    except (ValueError, UnicodeDecodeError) as exc:
        return error(400, f"invalid JSON: {exc}")
    if not isinstance(payload, dict):
        return error(400, "send a JSON object")
    unknown = sorted(set(payload) - set(SEGMENT_FIELDS))
    if unknown:
        return error(422, f"unknown field “{unknown[0]}”; the fields are: {', '.join(SEGMENT_FIELDS)}",
                     field=unknown[0])
    segment, problems = create_segment(g.api_store.id, payload.get("name"), payload.get("match", "all"),
                                       payload.get("conditions", []))
    if problems:
        return error(422, problems[0].message, field=problems[0].field,
                     problems=[problem.as_dict() for problem in problems])
    return jsonify(segment_json(segment)), 201


@bp.get("/segments/<int:segment_id>")
@api_key_required
def get_segment_json(segment_id: int):
    segment = get_segment(g.api_store.id, segment_id)
    return jsonify(segment_json(segment)) if segment else error(404, "no such segment in this store")


@bp.get("/segments/<int:segment_id>/count")
@api_key_required
def segment_count(segment_id: int):
    segment = get_segment(g.api_store.id, segment_id)
    if segment is None:
        return error(404, "no such segment in this store")
    channel = request.args.get("channel", "email")
    if channel not in CHANNELS:
        return error(422, f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    return jsonify({"segment_id": segment.id, "channel": channel,
                    **reach(g.api_store.id, *rules_of(segment), channel).as_dict()})
