"""Imports every model module so Alembic and create_all() see the whole schema."""
from webapp.accounts.models import Store, User  # noqa: F401
from webapp.audit.models import AuditEntry  # noqa: F401
from webapp.events.models import ApiKey, IdempotentResponse, InboundEvent, IntegrationSecret  # noqa: F401
from webapp.notifications.models import (  # noqa: F401
    ChannelSuppression,
    Notification,
    NotificationEvent,
    NotificationRule,
    ProviderConfig,
    SandboxMessage,
)
from webapp.orders.models import Customer, Order, OrderStatusChange  # noqa: F401
