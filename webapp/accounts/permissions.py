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
VIEW_CUSTOMERS = "customers.view"
# Consent and groups/tags; support too, because they take opt-out requests on the phone.
EDIT_CUSTOMERS = "customers.edit"
IMPORT_CUSTOMERS = "customers.import"
# GDPR: support may start a data export (it goes to the customer, not to staff); erasure is the owner's.
GDPR_EXPORT = "gdpr.export"
GDPR_ERASE = "gdpr.erase"

_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    MARKETER: frozenset({EDIT_TEMPLATES, EDIT_PROMOTIONS, EDIT_CAMPAIGNS, VIEW_ACTIVITY, VIEW_CUSTOMERS,
                         EDIT_CUSTOMERS, IMPORT_CUSTOMERS}),
    SUPPORT: frozenset({VIEW_ORDERS, VIEW_ACTIVITY, SEND_NOTIFICATIONS, VIEW_CUSTOMERS, EDIT_CUSTOMERS,
                        GDPR_EXPORT}),
}


def role_can(role: str, permission: str) -> bool:
    if role == OWNER:
        return True
    return permission in _ROLE_PERMISSIONS.get(role, frozenset())
