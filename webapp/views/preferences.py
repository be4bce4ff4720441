"""The shopper's side of consent, reached from a signed link in a message, no login:
one-click unsubscribe (RFC 8058: a POST with no page in between) and the preference centre."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from webapp.consent import links
from webapp.consent.preferences import (
    LINK_OPT_IN_CHANNELS,
    Evidence,
    customer_for,
    reachable_channels,
    save_preferences,
    unsubscribe,
)
from webapp.consent.state import consents_of
from webapp.consent.vocabulary import OPTED_IN, TOPICS, channel_label
from webapp.extensions import csrf

bp = Blueprint("preferences", __name__)


def _evidence() -> Evidence:
    return Evidence(request.remote_addr, request.headers.get("User-Agent", "")[:300] or None)


def _target(token: str):
    found = customer_for(token)
    if found is None:
        abort(404, description="This link is not valid (it may have been altered, or the data it pointed to "
                               "was erased).")
    return found


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    """Mail scanners follow links: a GET only asks, the button POSTs."""
    customer, store, channel = _target(token)
    return render_template("preferences/unsubscribe.html", store=store, token=token, done=False,
                           channel_name=_channel_name(channel))


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # mail clients POST "List-Unsubscribe=One-Click" with no form token; the signed link is the proof
def unsubscribe_now(token: str):
    customer, store, channel = _target(token)
    unsubscribe(customer, channel, _evidence())
    return render_template("preferences/unsubscribe.html", store=store, token=token, done=True,
                           channel_name=_channel_name(channel),
                           preferences_url=links.unsubscribe_links(store.id, customer.id)["preferences"])


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preference_centre(token: str):
    customer, store, _ = _target(token)
    saved = None
    if request.method == "POST":
        if request.form.get("action") == "unsubscribe_all":
            unsubscribe(customer, links.ALL_CHANNELS, _evidence(), source="preference_centre")
        else:
            save_preferences(customer, set(request.form.getlist("channel")), set(request.form.getlist("topic")),
                             _evidence())
        saved = True
    consent = consents_of(customer.id)
    # (code, label, ticked, may be ticked here): texts and push are opted in where the device is proven.
    channels = [(c, channel_label(c), consent.get(c) == OPTED_IN,
                 c in LINK_OPT_IN_CHANNELS or consent.get(c) == OPTED_IN) for c in reachable_channels(customer)]
    topics = [(code, label, code not in (customer.muted_topics or ())) for code, label in TOPICS.items()]
    return render_template("preferences/centre.html", store=store, channels=channels, topics=topics, saved=saved)


def _channel_name(channel: str) -> str:
    return "all marketing" if channel == links.ALL_CHANNELS else f"{channel_label(channel)} marketing"
