"""Health: the delivery queues and workers, and how this store's notifications are doing.

/health and /health.json are for staff; /healthz is for load balancers (no sign-in, no store data).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user
from rq import Queue, Worker
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from webapp.accounts.permissions import VIEW_ACTIVITY
from webapp.consent.policy import PRIORITIES
from webapp.dispatch.models import FAILED, OPEN_STATUSES, STATUSES, Notification
from webapp.extensions import db
from webapp.redis_conn import get_redis
from webapp.timeutil import utcnow
from webapp.views import require

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
# Any way Redis can fail to answer: refused, timed out, or a socket error before redis-py wraps it.
REDIS_ERRORS = (redis.RedisError, OSError)
REDIS_TIMEOUT_SECONDS = 2.0


def _redis() -> redis.Redis:
    """The app's Redis, with short socket timeouts: a health check must answer even when Redis hangs."""
    client = current_app.extensions.get("redis_health")
    if client is None:
        pool = get_redis().connection_pool
        kwargs = {**pool.connection_kwargs, "socket_timeout": REDIS_TIMEOUT_SECONDS,
                  "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
        client = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))
        current_app.extensions["redis_health"] = client
    return client


def _delivery_stats() -> dict:
    """Queue lengths and live workers (shared by every store), or reachable=False when Redis is down."""
    try:
        connection = _redis()
        queues = []
        for name in PRIORITIES:
            queue = Queue(name, connection=connection)
            queues.append({"name": name, "queued": queue.count, "scheduled": queue.scheduled_job_registry.count,
                           "running": queue.started_job_registry.count, "failed_jobs": queue.failed_job_registry.count})
        workers = [{"name": w.name, "state": w.get_state(), "queues": w.queue_names(),
                    "last_heartbeat": w.last_heartbeat.isoformat() if w.last_heartbeat else None}
                   for w in sorted(Worker.all(connection=connection), key=lambda w: w.name)]
    except REDIS_ERRORS as error:
        log.warning("Health: Redis unavailable: %s", error)
        return {"reachable": False, "queues": None, "workers": None}
    return {"reachable": True, "queues": queues, "workers": workers}


def _store_stats(store_id: int, now: datetime) -> dict:
    mine = Notification.store_id == store_id
    open_count, oldest_open = db.session.execute(
        select(func.count(), func.min(Notification.created_at)).where(mine, Notification.status.in_(OPEN_STATUSES))
    ).one()
    failed_last_hour = db.session.scalar(select(func.count()).select_from(Notification).where(
        mine, Notification.status == FAILED, Notification.finished_at >= now - timedelta(hours=1)))
    by_status = dict.fromkeys(STATUSES, 0)
    by_status.update(db.session.execute(
        select(Notification.status, func.count()).where(mine, Notification.created_at >= now - timedelta(hours=24))
        .group_by(Notification.status)
    ).all())
    return {
        "open_notifications": open_count,
        "oldest_open_at": oldest_open.isoformat() if oldest_open else None,
        "oldest_open_age_seconds": int((now - oldest_open).total_seconds()) if oldest_open else None,
        "failed_last_hour": failed_last_hour,
        "by_status_last_24h": by_status,
    }


def _stats() -> dict:
    now = utcnow()
    return {"generated_at": now.isoformat(), "redis": _delivery_stats(),
            "store": _store_stats(current_user.store_id, now)}


def duration(seconds: int | None) -> str:
    """A rough, readable age: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    if seconds is None:
        return "—"
    seconds = max(0, seconds)  # a worker's clock may run slightly ahead of ours
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes} min"
    if days < 1:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


@bp.get("/health")
@require(VIEW_ACTIVITY)
def index():
    stats = _stats()
    return render_template("health/index.html", stats=stats, duration=duration,
                           parse_time=datetime.fromisoformat, now=datetime.fromisoformat(stats["generated_at"]))


@bp.get("/health.json")
@require(VIEW_ACTIVITY)
def as_json():
    response = jsonify(_stats())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """For load balancers: 200 when the database and Redis answer, else 503 naming what failed."""
    failed = []
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("Health check: database unavailable: %s", error)
        failed.append("database")
    try:
        _redis().ping()
    except REDIS_ERRORS as error:
        log.warning("Health check: Redis unavailable: %s", error)
        failed.append("redis")
    response = jsonify({"ok": False, "failed": failed} if failed else {"ok": True})
    response.status_code = 503 if failed else 200
    response.headers["Cache-Control"] = "no-store"
    return response
