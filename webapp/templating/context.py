"""The one render context of a message, built the same way for planning, the editor's preview, the
API's preview and test sends: every variable the message type offers is present (None or an empty
list when the data has no value), so a template can test `{% if order.tracking.number %}` without
failing on an order that has no tracking, and nothing else is there."""
from __future__ import annotations

from collections.abc import Mapping

from webapp.templating.catalog import MessageType
from webapp.templating.render import CURRENCY_KEY, LOCALE_KEY, TIMEZONE_KEY, DataList


def build_context(message_type: MessageType, data: Mapping, *, locale: str = "en", currency: str = "USD",
                  timezone: str = "UTC") -> dict:
    context: dict = {}
    for variable in message_type.variables:
        *parents, leaf = variable.name.split(".")
        node, source = context, data
        for part in parents:
            node = node.setdefault(part, {})
            source = source.get(part) if isinstance(source, Mapping) else None
        value = source.get(leaf) if isinstance(source, Mapping) else None
        node[leaf] = _shaped(value, variable.sample)
    customer = context.get("customer")
    if isinstance(customer, dict):
        name = " ".join(str(customer.get("name") or "").split())
        customer["name"] = name or None  # a name of only spaces is no name
        if not customer.get("first_name") and name:
            customer["first_name"] = name.split()[0]
    context.update({LOCALE_KEY: locale, CURRENCY_KEY: currency, TIMEZONE_KEY: timezone})
    return context


def _shaped(value, sample):
    """Lists of records get every field of the sample's records (None when missing)."""
    if isinstance(sample, list):
        items = value if isinstance(value, list | tuple) else []
        fields = sample[0].keys() if sample and isinstance(sample[0], dict) else ()
        return DataList({key: item.get(key) for key in fields} | dict(item) if isinstance(item, Mapping) else item
                        for item in items)
    if isinstance(value, Mapping | list | tuple) and not isinstance(sample, Mapping | list):
        return None  # a structure where the catalog promises a plain value is not rendered
    return value
