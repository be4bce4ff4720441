"""Imports every model module so Alembic and create_all() see the whole schema."""
from webapp.accounts.models import Store, User  # noqa: F401
from webapp.audit.models import AuditEntry  # noqa: F401
from webapp.campaigns.models import Campaign, CampaignRecipient, Segment  # noqa: F401
from webapp.channels.models import ProviderConfig, SandboxMessage  # noqa: F401
from webapp.consent.models import (  # noqa: F401
    ChannelSuppression,
    ConsentEvent,
    CustomerConsent,
    ProcessedCallback,
)
from webapp.customers.models import Customer, CustomerDevice, CustomerImport, GdprRequest  # noqa: F401
from webapp.dispatch.models import EscalationAlert, Notification, NotificationEvent  # noqa: F401
from webapp.events.models import ApiKey, IdempotentResponse, InboundEvent, IntegrationSecret  # noqa: F401
from webapp.inbox.models import InboxMessage  # noqa: F401
from webapp.notifications.models import MessageRoute, NotificationRule  # noqa: F401
from webapp.orders.models import Order, OrderStatusChange  # noqa: F401
from webapp.promotions.models import (  # noqa: F401
    Checkout,
    Coupon,
    CouponRedemption,
    GiftCard,
    GiftCardEntry,
    Promotion,
    StoreCreditAccount,
    StoreCreditEntry,
)
from webapp.templating.models import MessageTemplate, MessageTemplateVersion  # noqa: F401
