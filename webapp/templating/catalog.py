"""Every message the product can send: its key, its name, its priority class, the channels it makes
sense on, and the variables its templates may use (each with a description and a sample value).

Pure data. The planner, the template editor, validation, the preview and the API all read this one
catalog, so a variable offered in the editor is exactly one a template may use and a message will
have. Types that nothing triggers yet still have templates; routing makes them send.
"""
from __future__ import annotations

from dataclasses import dataclass

from webapp.vocabulary import INVOICE_STATUSES, ORDER_STATUSES

CRITICAL, TRANSACTIONAL, MARKETING = "critical", "transactional", "marketing"
CUSTOMER_CHANNELS = ("email", "sms", "whatsapp", "push", "in_app")
TEXT_CHANNELS = ("sms", "whatsapp")

# What each channel's template is made of, in the order the editor shows them.
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "preheader", "body", "text"),
    "sms": ("body",),
    "whatsapp": ("body", "provider_template", "provider_params"),
    "push": ("title", "body", "link"),
    "in_app": ("title", "body", "link"),
    "ops": ("body",),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {"email": ("subject", "body"), "push": ("title", "body"),
                                               "in_app": ("title", "body")}
FIELD_LABELS = {"subject": "Subject", "preheader": "Preheader (the preview line after the subject)",
                "body": "Message", "text": "Plain-text version (leave empty to generate it from the HTML)",
                "provider_template": "Approved WhatsApp template name (optional)",
                "provider_params": "Its parameters, one per line (optional)", "title": "Title",
                "link": "Link (optional)"}


@dataclass(frozen=True)
class Variable:
    name: str  # a dotted path: "order.number"
    description: str
    sample: object


@dataclass(frozen=True)
class MessageType:
    key: str
    name: str
    priority: str
    channels: tuple[str, ...]
    variables: tuple[Variable, ...]

    @property
    def roots(self) -> frozenset[str]:
        return frozenset(v.name.split(".")[0] for v in self.variables)


SAMPLE_LINES = [{"name": "Merino crew sweater", "quantity": 1, "price": "89.00", "sku": "MER-CRW-M"},
                {"name": "Wool socks, 2 pairs", "quantity": 2, "price": "12.50", "sku": "SCK-2P"}]

STORE = (Variable("store.name", "Your store's name", "Demo Outfitters"),
         Variable("store.url", "Your shop's address", "https://shop.example.com"),
         Variable("store.support_email", "Where customers write to you", "help@shop.example.com"))
CUSTOMER = (Variable("customer.name", "The customer's full name (may be empty)", "Ana Souza"),
            Variable("customer.first_name", "The customer's first name (may be empty)", "Ana"),
            Variable("customer.email", "The customer's email address", "ana@example.com"),
            Variable("customer.phone", "The customer's phone number", "+351912345678"))
ORDER = (Variable("order.number", "The order number customers see", "#1042"),
         Variable("order.status", "The order's status", "ready"),
         Variable("order.total", "The order total (format it with | money)", "113.50"),
         Variable("order.currency", "The order's currency code", "EUR"),
         Variable("order.created_at", "When the order was placed (format it with | date)", "2026-11-28T14:05:00Z"),
         Variable("order.lines", "The order's lines: name, quantity, price, sku", SAMPLE_LINES),
         Variable("order.url", "Where the customer sees the order", "https://shop.example.com/orders/1042"),
         Variable("order.tracking.number", "The shipment's tracking number", "1Z999AA10123456784"),
         Variable("order.tracking.url", "Where to follow the shipment", "https://track.example.com/1Z999AA1"),
         Variable("order.tracking.carrier", "The carrier", "UPS"))
NOTE = (Variable("note", "A note from your staff (manual sends; may be empty)", "We added a free gift."),)
PAYMENT = (Variable("payment.amount", "The amount paid or refunded (format it with | money)", "113.50"),
           Variable("payment.method", "How it was paid", "Visa •••• 4242"),
           Variable("payment.reason", "Why a payment failed (may be empty)", "The card was declined."))
SHIPPING = (Variable("shipment.status", "The latest shipment status, in the carrier's words", "In transit"),
            Variable("shipment.eta", "The expected delivery date (format it with | date)", "2026-12-03"))
ACCOUNT = (Variable("reset.url", "The one-time link to choose a new password", "https://shop.example.com/reset/abc123"),
           Variable("reset.expires_minutes", "How long the link works, in minutes", 30))
GDPR = (Variable("gdpr.download_url", "Where the customer downloads their data",
                 "https://shop.example.com/privacy/export/abc123"),
        Variable("gdpr.expires_days", "How many days the download stays available", 7))
GIFT_CARD = (Variable("gift_card.code", "The gift card code", "GIFT-7Q2M-XK4P"),
             Variable("gift_card.amount", "Its value (format it with | money)", "50.00"),
             Variable("gift_card.message", "The giver's message (may be empty)", "Happy birthday!"))
CART = (Variable("cart.url", "Where the customer picks up their cart", "https://shop.example.com/cart/r/abc123"),
        Variable("cart.lines", "The cart's lines: name, quantity, price, sku", SAMPLE_LINES),
        Variable("cart.total", "The cart total (format it with | money)", "113.50"),
        Variable("cart.discount_code", "A code you offer to finish the order (may be empty)", "COMEBACK10"))
UNSUBSCRIBE = (Variable("unsubscribe_url", "The one-click unsubscribe link (added to every marketing email)",
                        "https://notify.example.com/u/abc123"),)
REVIEW = (Variable("review.url", "Where the customer writes the review", "https://shop.example.com/review/1042"),)
CAMPAIGN = (Variable("campaign.headline", "The campaign's headline", "Winter warmers are here"),
            Variable("campaign.text", "The campaign's message", "Our new merino range just landed."),
            Variable("campaign.url", "Where the button leads", "https://shop.example.com/winter"))

ORDER_CONTEXT = STORE + CUSTOMER + ORDER + NOTE
ALL = CUSTOMER_CHANNELS


def _type(key, name, priority, variables, channels=ALL) -> MessageType:
    return MessageType(key, name, priority, tuple(channels), tuple(variables))


_ORDER_NAMES = {"initiated": "Order received", "sent_for_processing": "Order confirmed",
                "processing": "Order being prepared", "ready": "Order ready", "delivered": "Order delivered",
                "cancelled": "Order cancelled", "returned": "Return received"}
_INVOICE_NAMES = {"closed": "Invoice paid", "cancelled": "Invoice cancelled"}

MESSAGE_TYPES: dict[str, MessageType] = {t.key: t for t in (
    *(_type(f"order.{s.code}", _ORDER_NAMES[s.code], CRITICAL if s.code == "cancelled" else TRANSACTIONAL,
            ORDER_CONTEXT) for s in ORDER_STATUSES),
    *(_type(f"invoice.{s.code}", _INVOICE_NAMES[s.code], CRITICAL if s.code == "cancelled" else TRANSACTIONAL,
            ORDER_CONTEXT) for s in INVOICE_STATUSES),
    _type("payment.confirmed", "Payment confirmed", TRANSACTIONAL, ORDER_CONTEXT + PAYMENT),
    _type("payment.failed", "Payment failed", CRITICAL, ORDER_CONTEXT + PAYMENT),
    _type("refund.processed", "Refund processed", TRANSACTIONAL, ORDER_CONTEXT + PAYMENT),
    _type("shipping.update", "Shipping update", TRANSACTIONAL, ORDER_CONTEXT + SHIPPING),
    _type("shipping.out_for_delivery", "Out for delivery", TRANSACTIONAL, ORDER_CONTEXT + SHIPPING),
    _type("account.password_reset", "Password reset", CRITICAL, STORE + CUSTOMER + ACCOUNT, ("email", "sms")),
    _type("gdpr.export_ready", "Your data export is ready", CRITICAL, STORE + CUSTOMER + GDPR, ("email",)),
    _type("gdpr.erasure_done", "Your data was erased", CRITICAL, STORE + CUSTOMER, ("email",)),
    _type("gift_card.issued", "Gift card issued", TRANSACTIONAL, STORE + CUSTOMER + GIFT_CARD),
    _type("cart.recovery_1", "Cart reminder (first)", MARKETING, STORE + CUSTOMER + CART + UNSUBSCRIBE),
    _type("cart.recovery_2", "Cart reminder (second)", MARKETING, STORE + CUSTOMER + CART + UNSUBSCRIBE),
    _type("cart.recovery_3", "Cart reminder (last, with an offer)", MARKETING,
          STORE + CUSTOMER + CART + UNSUBSCRIBE),
    _type("review.request", "Review request", MARKETING, ORDER_CONTEXT + REVIEW + UNSUBSCRIBE),
    _type("campaign.message", "Campaign message", MARKETING, STORE + CUSTOMER + CAMPAIGN + UNSUBSCRIBE),
)}


def get(key: str) -> MessageType | None:
    return MESSAGE_TYPES.get(key)


def sample_context(message_type: MessageType) -> dict:
    """The sample values of a type's variables as the nested dict templates see."""
    context: dict = {}
    for variable in message_type.variables:
        *parents, leaf = variable.name.split(".")
        node = context
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = variable.sample
    return context
