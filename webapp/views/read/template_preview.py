"""A template draft rendered as the customer would get it: the same context builder, renderer and
layout as planning, with the message type's sample data (in the store's name) or a real order's."""
from __future__ import annotations

from webapp.accounts.models import Store
from webapp.notifications.plan_requests import store_info
from webapp.templating import catalog
from webapp.templating.context import build_context
from webapp.templating.defaults import direction, unsubscribe_label
from webapp.templating.message import RenderedMessage, render_message
from webapp.templating.store_templates import TemplateKey


def preview_message(store: Store, message_type: catalog.MessageType, key: TemplateKey, fields: dict,
                    context: dict | None = None) -> RenderedMessage:
    info = store_info(store)
    if context is None:
        sample = catalog.sample_context(message_type)
        sample.setdefault("store", {})["name"] = store.name
        currency = (sample.get("order") or {}).get("currency") or store.currency
        context = build_context(message_type, sample, locale=key.locale, currency=currency,
                                timezone=store.timezone)
    return render_message(key.channel, {k: v for k, v in fields.items() if v}, context, branding=info.branding,
                          lang=key.locale, direction=direction(key.locale),
                          marketing=message_type.priority == catalog.MARKETING,
                          unsubscribe_label=unsubscribe_label(key.locale))
