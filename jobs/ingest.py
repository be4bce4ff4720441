"""Jobs that finish ingesting events which needed more data than the webhook carried."""
from __future__ import annotations

from jobs.appcontext import with_app_context
from webapp.pipeline.bigcommerce_fetch import complete_event


@with_app_context
def complete_bigcommerce_event(inbound_event_id: int) -> str:
    return complete_event(inbound_event_id)
