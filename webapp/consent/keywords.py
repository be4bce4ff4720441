"""What an inbound text asks for (STOP, START, HELP), and the TwiML answered to it. Pure functions."""
from __future__ import annotations

from xml.sax.saxutils import escape

from webapp.consent.actions import HELP, OPT_IN, OPT_OUT

# Twilio's and the CTIA's standard keywords; anything else is an ordinary reply and changes nothing.
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
OPT_OUT_REASON = "opted out (STOP)"
# Twilio's Advanced Opt-Out names the keyword class it matched (including merchant-defined keywords).
OPT_OUT_TYPES = {"STOP": OPT_OUT, "START": OPT_IN, "HELP": HELP}
_TRAILING = ".,!?;:'\"()"


def keyword(body: str | None) -> str:
    """The first word of the text, upper-cased, without trailing punctuation ("Stop." -> "STOP")."""
    words = (body or "").strip().split(maxsplit=1)
    return words[0].strip(_TRAILING).upper() if words else ""


def classify(body: str | None) -> str | None:
    """OPT_OUT, OPT_IN or HELP for a keyword text; None for anything else."""
    word = keyword(body)
    if word in OPT_OUT_WORDS:
        return OPT_OUT
    if word in OPT_IN_WORDS:
        return OPT_IN
    if word in HELP_WORDS:
        return HELP
    return None


def classify_inbound(body: str | None, opt_out_type: str | None = None) -> str | None:
    """The action of an inbound text: Twilio's OptOutType when it sent one, else the first keyword."""
    return OPT_OUT_TYPES.get((opt_out_type or "").strip().upper()) or classify(body)


def answered_by_twilio(body: str | None, opt_out_type: str | None = None) -> bool:
    """Whether Twilio itself confirms this opt-out / opt-in: it does when the whole text is one of its
    keywords (case-insensitive), or whenever Advanced Opt-Out matched it; "stop please" it lets through."""
    if (opt_out_type or "").strip():
        return True
    return (body or "").strip().upper() in OPT_OUT_WORDS | OPT_IN_WORDS


def confirmation(action: str, store_name: str) -> str:
    """Our own confirmation of an opt-out / opt-in that Twilio does not answer itself."""
    if action == OPT_OUT:
        return f"{store_name}: you are unsubscribed and will get no more messages here. Reply START to resubscribe."
    return f"{store_name}: you are subscribed again. Reply STOP to unsubscribe."


def sender(from_: str | None) -> tuple[str, str]:
    """(channel, address) of an inbound message's From: "whatsapp:+1555..." is WhatsApp, else SMS."""
    value = (from_ or "").strip()
    if value.lower().startswith("whatsapp:"):
        return "whatsapp", value.split(":", 1)[1].strip()
    return "sms", value


def help_text(store_name: str, custom: str | None) -> str:
    return (custom or "").strip() or (f"{store_name}: order updates by text. "
                                      "Reply STOP to unsubscribe, START to resubscribe.")


def twiml(message: str | None = None) -> str:
    """A TwiML answer: one reply message, or none (an empty <Response/>)."""
    if not message:
        return '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(message)}</Message></Response>'
