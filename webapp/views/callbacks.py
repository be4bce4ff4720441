"""Provider callbacks: delivery receipts, email events and inbound messages, at one generic route
per provider, /callbacks/<provider>/<store>[/<kind>] (so today's /callbacks/twilio/<store>/status,
/callbacks/sendgrid/<store>/events, /callbacks/mailgun/<store>, /callbacks/ses/<store> are simply
its instances). The provider's own handler (ProviderSpec.callbacks) verifies and reads the request;
webapp/pipeline/callbacks.py applies it.

An unknown store or a provider that sends no callbacks is a 404; an unverified request is the
provider's refusal (401/403) and writes nothing; a verified callback about an unknown message is a
200 {"status": "ignored"}; replays change nothing; each request is one transaction."""
from __future__ import annotations

from flask import Blueprint, Response, abort, request

from webapp.channels.providers.callbacks import InboundRequest
from webapp.channels.providers.registry import providers
from webapp.pipeline.callbacks import handle_callback
from webapp.views import runtime_settings, store_from_url_or_404

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")
METHODS = ["GET", "POST"]  # Vonage and Plivo can be set to call back with GET


@bp.route("/<provider>/<store_slug>", methods=METHODS, defaults={"kind": ""})
@bp.route("/<provider>/<store_slug>/<kind>", methods=METHODS)
def receive(provider: str, store_slug: str, kind: str):
    cls = providers().get(provider)
    handler = getattr(getattr(cls, "spec", None), "callbacks", None)
    if handler is None or kind not in handler.kinds:
        abort(404)
    store = store_from_url_or_404(store_slug)
    body = request.get_data(cache=True)
    inbound = InboundRequest(
        method=request.method, url=request.url, kind=kind,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        form=(request.args if request.method == "GET" else request.form).to_dict(),
    )
    if body.lstrip()[:1] in (b"{", b"[") and inbound.json_error:  # cannot be verified nor read: write nothing
        return {"error": f"body is {inbound.json_error}"}, 400
    reply = handle_callback(store, provider, handler, inbound, runtime_settings())
    if isinstance(reply.body, dict):
        return reply.body, reply.status
    return Response(reply.body, status=reply.status, content_type=reply.content_type)
