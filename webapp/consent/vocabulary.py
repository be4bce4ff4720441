"""The words of marketing consent: its states, where a change came from, and the topics a shopper
can turn off in the preference centre. Plain constants, shared by the pure policy and the stores."""
from __future__ import annotations

OPTED_IN, OPTED_OUT, NEVER_ASKED = "opted_in", "opted_out", "never_asked"
STATUSES = (OPTED_IN, OPTED_OUT, NEVER_ASKED)
STATUS_LABELS = {OPTED_IN: "Opted in", OPTED_OUT: "Opted out", NEVER_ASKED: "Never asked"}

# Where a consent change came from. Import and API must name one (ConsentError otherwise).
SOURCES = {
    "checkout": "Checkout",
    "import": "CSV import",
    "preference_centre": "Preference centre",
    "sms_keyword": "SMS keyword",
    "unsubscribe_link": "Unsubscribe link",
    "staff": "Staff",
    "api": "API",
}

# Channels that carry marketing and so have a consent state of their own.
CONSENT_CHANNELS = ("email", "sms", "whatsapp", "push")
CHANNEL_LABELS = {"email": "email", "sms": "SMS", "whatsapp": "WhatsApp", "push": "push", "in_app": "in-app"}

# Marketing topics: a shopper may keep campaigns but turn off cart reminders, and so on.
TOPICS = {"news": "News and offers", "cart": "Cart reminders", "reviews": "Review requests"}
_TOPIC_OF_TYPE = {"campaign.message": "news", "cart.recovery_1": "cart", "cart.recovery_2": "cart",
                  "cart.recovery_3": "cart", "review.request": "reviews"}


def topic_of(message_type: str) -> str:
    """The marketing topic a message type belongs to ("news" for anything not listed)."""
    return _TOPIC_OF_TYPE.get(message_type, "news")


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)
