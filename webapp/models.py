"""Imports every model module so Alembic and create_all() see the whole schema."""
from webapp.accounts.models import Store, User  # noqa: F401
from webapp.audit.models import AuditEntry  # noqa: F401
from webapp.notifications.models import NotificationRule  # noqa: F401
from webapp.orders.models import Customer, Order  # noqa: F401
