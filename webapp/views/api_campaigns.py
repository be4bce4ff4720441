"""Campaigns through the API (store API key): compose one (`POST /api/v1/campaigns`, a draft),
edit it until it starts (`PUT`), send or schedule it (`POST …/send`), test it, pause, resume,
cancel, resend to those that failed, and read its status and counts (`GET /api/v1/campaigns/<id>`).
Bad input is a 422 naming the field, and nothing is saved or queued."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, jsonify

from webapp.campaigns import results
from webapp.campaigns.campaign_store import create_campaign, get_campaign, input_of, update_campaign
from webapp.campaigns.control import CampaignStateError, cancel, pause, resend_failed, resume
from webapp.campaigns.launch import edit_checks, launch, send_test
from webapp.channels.test_sends import TestAddressError
from webapp.views import runtime_settings
from webapp.views.api import api_key_required, bp, error, json_payload, problems_error


def campaign_json(campaign, with_counts: bool = True) -> dict:
    found = {**input_of(campaign), "id": campaign.id, "status": campaign.status,
             "status_reason": campaign.status_reason, "ab_winner": campaign.ab_winner,
             "created_at": campaign.created_at.isoformat(),
             "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
             "finished_at": campaign.finished_at.isoformat() if campaign.finished_at else None}
    if with_counts:
        found["counts"] = results.progress(campaign).as_dict()
        found["engagement"] = results.engagement(campaign)
    return found


def _refused(problems):
    """409 when the campaign's state forbids it (already sending, done), else 422 naming the field."""
    if problems[0].field == "status":
        return error(409, problems[0].message, field="status")
    return problems_error(problems)


def with_campaign(view):
    """The key's store's campaign by its id in the URL, passed in place of the id; else 404."""
    @wraps(view)
    def wrapped(campaign_id: int, **kwargs):
        campaign = get_campaign(g.api_store.id, campaign_id)
        if campaign is None:
            return error(404, "no such campaign in this store")
        return view(campaign, **kwargs)

    return wrapped


@bp.post("/campaigns")
@api_key_required
def post_campaign():
    payload, failed = json_payload()
    if failed:
        return failed
    campaign, problems = create_campaign(g.api_store, payload)
    if problems:
        return problems_error(problems)
    return jsonify(campaign_json(campaign, with_counts=False)), 201


@bp.get("/campaigns/<int:campaign_id>")
@api_key_required
@with_campaign
def get_campaign_json(campaign):
    return jsonify(campaign_json(campaign))


@bp.put("/campaigns/<int:campaign_id>")
@api_key_required
@with_campaign
def put_campaign(campaign):
    payload, failed = json_payload()
    if failed:
        return failed
    problems = update_campaign(g.api_store, campaign, payload,
                               checks=edit_checks(g.api_store, campaign, production=runtime_settings().production))
    if problems:
        return _refused(problems)
    return jsonify(campaign_json(campaign, with_counts=False))


@bp.post("/campaigns/<int:campaign_id>/send")
@api_key_required
@with_campaign
def send_campaign(campaign):
    problems = launch(g.api_store, campaign, production=runtime_settings().production)
    if problems:
        return _refused(problems)
    return jsonify(campaign_json(campaign, with_counts=False)), 202


@bp.post("/campaigns/<int:campaign_id>/test")
@api_key_required
@with_campaign
def test_campaign(campaign):
    payload, failed = json_payload()
    if failed:
        return failed
    address = payload.get("address") if isinstance(payload, dict) else None
    if not isinstance(address, str) or not address.strip():
        return error(422, "address is required: where the test goes", field="address")
    try:
        outcome = send_test(g.api_store, campaign, address, public_base_url=runtime_settings().public_base_url,
                            context=current_app._get_current_object().app_context)
    except TestAddressError as exc:
        return error(422, str(exc), field="address")
    return jsonify({"sent": outcome.ok, "outcome": outcome.kind, "message": outcome.message})


ACTIONS = {"pause": pause, "resume": resume, "cancel": cancel, "resend-failed": resend_failed}


@bp.post("/campaigns/<int:campaign_id>/<any(pause, resume, cancel, 'resend-failed'):action>")
@api_key_required
@with_campaign
def control_campaign(campaign, action: str):
    try:
        count = ACTIONS[action](g.api_store, campaign)
    except CampaignStateError as exc:
        return error(409, str(exc), field="status")
    answer = campaign_json(campaign)
    if action == "resend-failed":
        answer["resent"] = count
    return jsonify(answer)
