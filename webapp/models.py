"""Imports every model module so Alembic and create_all() see the whole schema."""
from webapp.accounts.models import Store, User  # noqa: F401
from webapp.audit.models import AuditEntry  # noqa: F401
from webapp.consent.models import ConsentEvent  # noqa: F401
from webapp.events.models import ApiKey, IdempotentResponse, InboundEvent, IntegrationSecret  # noqa: F401
from webapp.inbox.models import InboxMessage  # noqa: F401
from webapp.notifications.models import (  # noqa: F401
    ChannelSuppression,
    EscalationAlert,
    Notification,
    NotificationEvent,
    NotificationRule,
    ProcessedCallback,
    ProviderConfig,
    SandboxMessage,
)
from webapp.orders.models import Customer, CustomerDevice, Order, OrderStatusChange  # noqa: F401
