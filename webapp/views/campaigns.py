"""Campaigns in the dashboard (marketers and owners): the list, compose and edit with a live
preview, a test to oneself, send now or schedule (in the store's timezone or each recipient's
local time), then live progress while sending (HTMX polling), pause / resume / cancel / resend to
failed, results with a chart, and each recipient linked to their notification."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.accounts.permissions import EDIT_CAMPAIGNS
from webapp.campaigns import results
from webapp.campaigns.audience import CHANNELS
from webapp.campaigns.campaign_store import create_campaign, get_campaign, input_of, list_campaigns, update_campaign
from webapp.campaigns.control import CampaignStateError, cancel, pause, resend_failed, resume
from webapp.campaigns.launch import edit_checks, launch, send_test
from webapp.campaigns.models import EDITABLE, SENDING, CampaignRecipient
from webapp.campaigns.render import CampaignRenderer, Person
from webapp.campaigns.segment_rules import Problem
from webapp.campaigns.segment_store import get_segment, list_segments
from webapp.channels.test_sends import TestAddressError
from webapp.dispatch.models import OPEN_STATUSES, Notification
from webapp.extensions import db
from webapp.notifications.plan_requests import store_info
from webapp.templating.render import TemplateRenderError
from webapp.templating.resolve import locale_name
from webapp.views import campaign_form, is_htmx, require, runtime_settings

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
STATUS_LABELS = {"draft": "Draft", "scheduled": "Scheduled", "sending": "Sending", "paused": "Paused",
                 "cancelled": "Cancelled", "done": "Sent"}
RECIPIENT_PAGE = 50


def _store() -> Store:
    return db.session.get(Store, current_user.store_id)


def _campaign_or_404(campaign_id: int):
    campaign = get_campaign(current_user.store_id, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@bp.get("")
@require(EDIT_CAMPAIGNS)
def index():
    campaigns = list_campaigns(current_user.store_id)
    progress = {c.id: results.progress(c) for c in campaigns if c.status not in EDITABLE}
    return render_template("campaigns/index.html", campaigns=campaigns, progress=progress, labels=STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@require(EDIT_CAMPAIGNS)
def new():
    store = _store()
    if request.method == "GET":
        return _compose(None, campaign_form.blank(store.default_locale or "en"))
    state = campaign_form.submitted(request.form)
    campaign, problems = create_campaign(store, campaign_form.as_input(state), current_user.id)
    if problems:
        return _compose(None, state, problems, 422)
    flash(f"Campaign “{campaign.name}” saved as a draft. Send yourself a test, then send or schedule it.", "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@require(EDIT_CAMPAIGNS)
def edit(campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    if campaign.status not in EDITABLE:
        flash(f"A {STATUS_LABELS[campaign.status].lower()} campaign can no longer be edited.", "error")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    if request.method == "GET":
        return _compose(campaign, campaign_form.from_campaign(campaign))
    state = campaign_form.submitted(request.form)
    keep = {"send_at": input_of(campaign)["send_at"], "local_time": campaign.local_time}
    store = _store()
    edited = campaign_form.as_input(state, keep, previous=input_of(campaign))
    problems = update_campaign(store, campaign, edited, current_user.id,
                               checks=edit_checks(store, campaign, production=runtime_settings().production))
    if problems:
        return _compose(campaign, state, problems, 422)
    flash("Campaign saved.", "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.post("/preview")
@require(EDIT_CAMPAIGNS)
def preview():
    """The first language's content as a customer named Alex would get it (HTMX, as you type)."""
    state = campaign_form.submitted(request.form)
    row = state["languages"][0]
    store = _store()
    fields = {"subject": row["subject"], "body": row["body"]} if state["channel"] == "email" else {"body": row["body"]}
    try:
        utm = {key: state[f"utm_{key}"] for key in ("source", "medium", "campaign") if state[f"utm_{key}"]}
        renderer = CampaignRenderer(store.id, store_info(store), state["channel"], utm)
        output = renderer.message(fields, row["locale"] or store.default_locale or "en",
                                  Person(0, "Alex Example", current_user.email))
        error = None
    except (TemplateRenderError, Exception) as failed:  # noqa: BLE001 - a draft's error is shown, never a 500
        output, error = None, str(failed)[:300]
    return render_template("campaigns/_preview.html", output=output, error=error, channel=state["channel"])


def _compose(campaign, state: dict, problems: list[Problem] = (), status: int = 200):
    segments = list_segments(current_user.store_id, size=200).rows
    return render_template("campaigns/compose.html", campaign=campaign, state=state, segments=segments,
                           channels=CHANNELS, errors=campaign_form.problems_by_field(problems), problems=problems,
                           days=campaign_form.DAYS, max_languages=campaign_form.MAX_LANGUAGES,
                           locale_name=locale_name), status


@bp.get("/<int:campaign_id>")
@require(EDIT_CAMPAIGNS)
def detail(campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    return _detail(campaign)


def _detail(campaign, problems: list[Problem] = (), status: int = 200):
    store = _store()
    segment = get_segment(store.id, campaign.segment_id) if campaign.segment_id else None
    context = {"campaign": campaign, "segment": segment, "labels": STATUS_LABELS, "problems": problems,
               "store_zone": store.timezone or "UTC", "now_local": _now_local(store)}
    if campaign.status != "draft":
        context |= _results(campaign)
    return render_template("campaigns/detail.html", **context), status


def _now_local(store: Store) -> str:
    return datetime.now(ZoneInfo(store.timezone or "UTC")).strftime("%Y-%m-%dT%H:%M")


def _results(campaign) -> dict:
    timeline = results.timeline(campaign)
    chart = {"x": timeline["labels"], "y_label": "messages", "height": 220,
             "series": [{"label": "Sent", "values": timeline["series"]["sent"]},
                        {"label": "Opened", "values": timeline["series"]["opened"]},
                        {"label": "Clicked", "values": timeline["series"]["clicked"]}]}
    return {"progress": results.progress(campaign), "engagement": results.engagement(campaign),
            "ab": results.ab_counts(campaign) if campaign.ab_test else None,
            "chart": json.dumps(chart) if timeline["labels"] else None}


@bp.get("/<int:campaign_id>/progress")
@require(EDIT_CAMPAIGNS)
def progress(campaign_id: int):
    """The progress panel alone, polled every two seconds while the campaign sends."""
    campaign = _campaign_or_404(campaign_id)
    if not is_htmx():
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    if request.args.get("shown") != campaign.status:
        # Started, paused or finished since the page was drawn: the whole page changes (the send
        # form goes, the results and chart come), so reload it.
        return "", 200, {"HX-Refresh": "true"}
    return render_template("campaigns/_progress.html", campaign=campaign, labels=STATUS_LABELS,
                           progress=results.progress(campaign))


@bp.post("/<int:campaign_id>/send")
@require(EDIT_CAMPAIGNS)
def send(campaign_id: int):
    """Send now, or schedule: at a time in the store's timezone, or at each recipient's local time."""
    campaign = _campaign_or_404(campaign_id)
    store = _store()
    when, problems = request.form.get("when", "now"), []
    if campaign.status in EDITABLE:
        keep = {k: v for k, v in input_of(campaign).items() if v is not None}
        keep["send_at"] = request.form.get("send_at") or None if when != "now" else None
        keep["local_time"] = when == "local"
        if when != "now" and not keep["send_at"]:
            problems = [Problem("send_at", "choose the date and time to send at")]
        else:  # the schedule is saved only if the launch checks pass: nothing changes otherwise
            problems = update_campaign(store, campaign, keep, current_user.id,
                                       checks=edit_checks(store, campaign, production=runtime_settings().production,
                                                          launching=True))
    if not problems:
        problems = launch(store, campaign, production=runtime_settings().production, user_id=current_user.id,
                          checked=campaign.status in EDITABLE)
    if problems:
        db.session.rollback()
        return _detail(_campaign_or_404(campaign_id), problems, 422)
    flash("Sending now." if campaign.status == SENDING or when == "now" else
          f"Scheduled: {campaign.status_reason or 'starts soon'}.", "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/test")
@require(EDIT_CAMPAIGNS)
def test(campaign_id: int):
    campaign = _campaign_or_404(campaign_id)
    address = (request.form.get("address") or current_user.email).strip()
    try:
        outcome = send_test(_store(), campaign, address, user_id=current_user.id,
                            public_base_url=runtime_settings().public_base_url,
                            context=current_app._get_current_object().app_context)
    except TestAddressError as error:
        flash(f"Test not sent: {error}", "error")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    flash(f"Test to {address}: {outcome.message}", "success" if outcome.ok else "error")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


ACTIONS = {"pause": (pause, "Paused: {n} queued messages were held back."),
           "resume": (resume, "Resumed."),
           "cancel": (cancel, "Cancelled: nothing more will be sent."),
           "resend-failed": (resend_failed, "Resending to {n} recipients whose message failed.")}


@bp.post("/<int:campaign_id>/<any(pause, resume, cancel, 'resend-failed'):action>")
@require(EDIT_CAMPAIGNS)
def control(campaign_id: int, action: str):
    campaign = _campaign_or_404(campaign_id)
    do, said = ACTIONS[action]
    try:
        count = do(_store(), campaign, current_user.id)
    except CampaignStateError as error:
        flash(str(error).capitalize() + ".", "error")
    else:
        flash(said.format(n=count or 0), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.get("/<int:campaign_id>/recipients")
@require(EDIT_CAMPAIGNS)
def recipients(campaign_id: int):
    """Each recipient, what became of their message and why, linked to the notification."""
    campaign = _campaign_or_404(campaign_id)
    after = request.args.get("after", type=int) or 0
    wanted = request.args.get("status", "")
    R, N = CampaignRecipient, Notification
    query = (select(R, N.status, N.error).outerjoin(N, N.id == R.notification_id)
             .where(R.campaign_id == campaign.id, R.id > after).order_by(R.id).limit(RECIPIENT_PAGE + 1))
    if wanted == "excluded":
        query = query.where(R.status == "excluded")
    elif wanted == "pending":  # "Queued": waiting for a worker, being sent, or between retries
        query = query.where(N.status.in_(OPEN_STATUSES))
    elif wanted:
        query = query.where(N.status == wanted)
    rows = db.session.execute(query).all()
    more = rows[RECIPIENT_PAGE].CampaignRecipient.id if len(rows) > RECIPIENT_PAGE else None
    return render_template("campaigns/recipients.html", campaign=campaign, rows=rows[:RECIPIENT_PAGE],
                           next_after=rows[RECIPIENT_PAGE - 1].CampaignRecipient.id if more else None,
                           wanted=wanted, labels=STATUS_LABELS)
