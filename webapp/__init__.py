"""NotifyHub: customer notifications and marketing for online merchants.

create_app() is the only entry point; nothing at import time needs a running app.
"""
from __future__ import annotations

import logging

import redis
from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError, StatementError
from sqlalchemy.orm import configure_mappers

from webapp.config import load_config
from webapp.extensions import csrf, db, login_manager, migrate
from webapp.runtime import RuntimeSettings


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(app.instance_path, config))
    # Built once: domain code is handed this, never the config (see webapp/runtime.py).
    app.extensions["runtime_settings"] = RuntimeSettings.from_config(app.config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One INFO line per provider call drowns the worker log; errors still show.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # SendGrid's HTTP client logs request headers, API key included, at DEBUG: never let it.
    logging.getLogger("python_http_client").setLevel(logging.WARNING)
    # Twilio's SDK logs every request's URL and headers at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

    from webapp import models  # noqa: F401  (register every table with the metadata)
    from webapp.channels import egress

    # Where merchant-configured connections may go: public addresses only in production.
    egress.set_policy(production=app.extensions["runtime_settings"].production)
    from webapp.consent import links

    # Unsubscribe and preference-centre links are signed with a key derived from SECRET_KEY.
    links.configure(app.config["SECRET_KEY"], app.config.get("PUBLIC_BASE_URL") or "")
    from webapp.campaigns.campaign_store import stopped_campaigns
    from webapp.dispatch import marketing_gate

    # The send-time check holds back messages of a campaign paused or cancelled after they were
    # queued; campaigns sit above dispatch, so their lookup is handed down here.
    marketing_gate.watch_campaigns(stopped_campaigns)

    # Configure the ORM now: lazily, on the first query, a worker's stop signal could interrupt it
    # half-way and leave every later query failing.
    configure_mappers()
    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "strong"

    if app.config["TRUSTED_PROXIES"]:
        # Behind a load balancer: take client IP, scheme and host from its X-Forwarded-* headers,
        # so login throttling counts real clients and webhook URLs come out as https.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    _register_blueprints(app)
    _register_error_pages(app)
    _register_cli(app)
    _register_template_globals(app)
    _register_security_headers(app)
    return app


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


def _register_blueprints(app: Flask) -> None:
    from webapp.views import (
        account,
        activity,
        api,
        audit,
        auth,
        bundles,
        callbacks,
        campaigns,
        customers,
        dashboard,
        gift_cards,
        health,
        inbox,
        integrations,
        orders,
        outbox,
        preferences,
        promotions,
        providers,
        routing,
        segments,
        settings,
        team,
        templates,
        webhooks,
    )

    for module in (auth, account, dashboard, settings, templates, providers, team, audit, orders, activity, outbox,
                   health, integrations, preferences, customers, routing, segments, campaigns, promotions, bundles,
                   gift_cards):
        app.register_blueprint(module.bp)
    from webapp.views import api_gdpr, gdpr  # noqa: F401 - api_gdpr adds the /api/v1 GDPR routes to api.bp

    app.register_blueprint(gdpr.bp)  # GDPR requests; the customers' export downloads need no login
    from webapp.views import (
        api_campaigns,  # noqa: F401 - adds the /api/v1/campaigns routes to api.bp
        api_checkout,  # noqa: F401 - adds the /api/v1/checkout routes to api.bp
        api_customers,  # noqa: F401 - adds the /api/v1/customers routes to api.bp
        api_messages,  # noqa: F401 - adds POST /api/v1/messages to api.bp
        api_promotions,  # noqa: F401 - adds promotions, coupons, bundles, gift cards, store credit to api.bp
        api_segments,  # noqa: F401 - adds the /api/v1/segments routes to api.bp
        api_templates,  # noqa: F401 - adds the /api/v1/templates routes to api.bp
    )

    # Machine-to-machine endpoints authenticate by signature or API key, not by session cookie.
    for module in (webhooks, api, callbacks, inbox):
        csrf.exempt(module.bp)
        app.register_blueprint(module.bp)


def _register_error_pages(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        if _machine_path():  # webhooks, callbacks and the API are read by programs: JSON, always
            return {"error": message}, status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return page(400, "Your session form expired",
                    "The request was missing a valid security token, so nothing was changed. "
                    "Reload the page and try again.")

    @app.errorhandler(400)
    def bad_request(error):
        return page(400, "Bad request", getattr(error, "description", "") or "The request was malformed.")

    @app.errorhandler(403)
    def forbidden(error):
        return page(403, "Not allowed", "Your role does not allow this. Ask the store owner if you need it.")

    @app.errorhandler(404)
    def not_found(error):
        return page(404, "Not found", "There is nothing here, or it belongs to another store.")

    @app.errorhandler(405)
    def method_not_allowed(error):
        return page(405, "Method not allowed", "This address does not accept that kind of request.")

    @app.errorhandler(413)
    def too_large(error):
        return page(413, "Request too large", "The request body is larger than this endpoint accepts.")

    @app.errorhandler(DataError)
    @app.errorhandler(StatementError)
    @app.errorhandler(OverflowError)
    def value_out_of_range(error):
        # A value the database cannot hold (too long, too large): the input's fault, nothing written.
        db.session.rollback()
        app.logger.info("refused out-of-range input: %s", type(error).__name__)
        message = "a value is too long or out of range" if _machine_path() else \
            "A value in the request is too long or out of range. Nothing was changed."
        return page(400, "Bad request", message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def service_unavailable(error):
        # The database or Redis is away: nothing was written, and a sender must retry, so never a
        # 4xx (which platforms read as "do not retry"). OperationalError is also a StatementError:
        # this more specific handler is the one Flask picks for it.
        db.session.rollback()
        app.logger.warning("answering 503, a backing service is unavailable: %s", type(error).__name__)
        headers = {"Retry-After": str(app.config["RETRY_AFTER_SECONDS"])}
        message = ("temporarily unavailable; nothing was stored, retry later" if _machine_path() else
                   "The database or the queue is not answering just now, so nothing was changed. "
                   "Please try again in a moment.")
        response, status = page(503, "Temporarily unavailable", message)
        return response, status, headers

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        message = "internal error; nothing was stored, retry later" if _machine_path() else \
            "The error was logged. Nothing was changed; please try again."
        return page(500, "Something went wrong", message)

    def _machine_path() -> bool:
        return request.path.startswith(("/api/", "/webhooks/", "/callbacks/"))


# No inline script or style and no eval anywhere (behaviour lives in static/app.js), and no page
# may be framed: owner settings cannot be clickjacked.
# Inline styles and https images are allowed for the email previews (sandboxed srcdoc iframes inherit
# this policy, and email HTML is styled inline); script stays 'self' only, with no inline or eval.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: https:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
                           "frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Frame-Options": "DENY",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _register_cli(app: Flask) -> None:
    from webapp.cli import register

    register(app)


def _register_template_globals(app: Flask) -> None:
    from webapp.accounts import permissions
    from webapp.views.read.audit_labels import action_label, describe_value

    app.jinja_env.globals["perm"] = permissions
    app.jinja_env.filters["audit_action"] = action_label
    app.jinja_env.filters["audit_value"] = describe_value
    from webapp.views.read.labels import channel_label, message_type_label

    app.jinja_env.globals.update(channel_label=channel_label, message_type_label=message_type_label)
