"""What each role may do. Checked on the server for every request and used to hide UI."""
from __future__ import annotations

OWNER = "owner"
MARKETER = "marketer"
SUPPORT = "support"
ROLES = (OWNER, MARKETER, SUPPORT)

# Permission names are "<area>.<verb>"; the owner holds every permission.
MANAGE_SETTINGS = "settings.manage"
VIEW_AUDIT = "audit.view"
EDIT_TEMPLATES = "templates.edit"
EDIT_PROMOTIONS = "promotions.edit"
EDIT_CAMPAIGNS = "campaigns.edit"
VIEW_ORDERS = "orders.view"
VIEW_ACTIVITY = "activity.view"
SEND_NOTIFICATIONS = "notifications.send"

_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    MARKETER: frozenset({EDIT_TEMPLATES, EDIT_PROMOTIONS, EDIT_CAMPAIGNS, VIEW_ACTIVITY}),
    SUPPORT: frozenset({VIEW_ORDERS, VIEW_ACTIVITY, SEND_NOTIFICATIONS}),
}


def role_can(role: str, permission: str) -> bool:
    if role == OWNER:
        return True
    return permission in _ROLE_PERMISSIONS.get(role, frozenset())
