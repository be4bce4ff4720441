"""Queueing a campaign's pump: the short job on the marketing queue that moves the campaign
forward (campaigns/pump.py). Several queued pumps are harmless: one runs at a time (a Redis lock)
and each pass only does what is due."""
from __future__ import annotations

import logging
from datetime import timedelta

import redis

from webapp.dispatch.queueing import queue

log = logging.getLogger(__name__)
PUMP_JOB = "jobs.campaigns.pump_campaign"
PUMP_OPTIONS = {"job_timeout": 300, "result_ttl": 0, "failure_ttl": 7 * 86400}


def enqueue_pump(campaign_id: int, delay_seconds: float = 0, at_front: bool = False) -> bool:
    """Queue a pass; False when Redis is unreachable (the sweep queues one when it is back)."""
    try:
        q = queue("marketing")
        if delay_seconds > 0:
            q.enqueue_in(timedelta(seconds=delay_seconds), PUMP_JOB, campaign_id, **PUMP_OPTIONS)
        else:
            q.enqueue(PUMP_JOB, campaign_id, at_front=at_front, **PUMP_OPTIONS)
        return True
    except (redis.ConnectionError, redis.TimeoutError) as error:
        log.warning("Redis unavailable, campaign %s left for the sweep: %s", campaign_id, error)
        return False
