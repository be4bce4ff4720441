"""How audit values read to a person: "Active · Email, SMS" rather than raw JSON."""
from __future__ import annotations

import json

from webapp.channels.registry import get_channel

ACTION_LABELS = {
    "notification_rule.updated": "Notification rule changed",
    "message_route.updated": "Routing changed",
    "message_route.reset": "Routing reset to the default",
    "store.send_limits_updated": "Quiet hours or frequency cap changed",
    "notification.manual_send": "Notification sent by staff",
    "notification.resent": "Notification resent",
    "customer.labels_changed": "Customer groups and tags changed",
    "customers.imported": "Customers imported from CSV",
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "integration.secret_set": "Integration secret set",
    "provider.configured": "Provider saved",
    "provider.enabled": "Provider switched on",
    "provider.disabled": "Provider switched off",
    "provider.reordered": "Provider order changed",
    "provider.removed": "Provider removed",
    "provider.rate_limits_set": "Provider sending limits changed",
    "provider.rate_limits_cleared": "Provider sending limits removed",
    "provider.test_sent": "Test message sent",
    "team.member_added": "Team member added",
    "template.saved": "Template saved",
    "branding.updated": "Email branding changed",
    "template.restored": "Template version restored",
    "template.reset": "Template reset to the default",
    "template.test_sent": "Template test sent",
    "team.role_changed": "Team member's role changed",
    "team.member_removed": "Team member removed",
    "segment.created": "Segment created",
    "segment.updated": "Segment changed",
    "segment.deleted": "Segment deleted",
    "campaign.created": "Campaign created",
    "campaign.updated": "Campaign changed",
    "campaign.launched": "Campaign sent or scheduled",
    "campaign.paused": "Campaign paused",
    "campaign.resumed": "Campaign resumed",
    "campaign.cancelled": "Campaign cancelled",
    "campaign.resent_failed": "Campaign resent to failed recipients",
    "promotion.created": "Promotion created",
    "promotion.updated": "Promotion changed",
    "promotion.disabled": "Promotion disabled",
    "promotion.enabled": "Promotion enabled",
    "promotion.coupons_added": "Coupon codes added",
    "gift_card.issued": "Gift card issued",
    "gift_card.disabled": "Gift card disabled",
    "gift_card.enabled": "Gift card enabled",
    "gift_card.adjusted": "Gift card balance adjusted",
    "bundle.created": "Bundle created",
    "bundle.disabled": "Bundle disabled",
    "bundle.enabled": "Bundle enabled",
    "store_credit.issued": "Store credit issued or taken back",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def describe_value(value: dict | None) -> str:
    if value is None:
        return "—"
    if set(value) == {"active", "channels"}:
        channels = ", ".join(_channel_label(code) for code in value["channels"]) or "no channels"
        return f"{'Active' if value['active'] else 'Inactive'} · {channels}"
    return json.dumps(value, sort_keys=True)


def _channel_label(code: str) -> str:
    channel = get_channel(code)
    return channel.label if channel else code
