import pytest

from webapp.consent import keywords
from webapp.consent.actions import HELP, OPT_IN, OPT_OUT


@pytest.mark.parametrize("body, action", [
    ("STOP", OPT_OUT), ("stop", OPT_OUT), ("  Stop  ", OPT_OUT), ("Stop.", OPT_OUT), ("stop please", OPT_OUT),
    ("STOPALL", OPT_OUT), ("unsubscribe", OPT_OUT), ("Cancel", OPT_OUT), ("END", OPT_OUT), ("quit", OPT_OUT),
    ("START", OPT_IN), ("unstop", OPT_IN), ("Yes!", OPT_IN),
    ("HELP", HELP), ("info", HELP), ("Help me", HELP),
    ("", None), (None, None), ("   ", None), ("Thanks!", None),
    ("stopping by later", None), ("Where is my order?", None),
])
def test_first_word_decides(body, action):
    assert keywords.classify(body) == action


def test_sender_channel_and_address():
    assert keywords.sender("+15556251199") == ("sms", "+15556251199")
    assert keywords.sender("whatsapp:+15556251199") == ("whatsapp", "+15556251199")
    assert keywords.sender(None) == ("sms", "")


def test_help_text_defaults_to_the_store_name():
    assert keywords.help_text("Acme Goods", None) == ("Acme Goods: order updates by text. "
                                                      "Reply STOP to unsubscribe, START to resubscribe.")
    assert keywords.help_text("Acme Goods", "  Call 555-0100  ") == "Call 555-0100"


def test_twiml_is_escaped_or_empty():
    assert keywords.twiml() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert keywords.twiml("Tom & Jerry <shop>") == ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
                                                    'Tom &amp; Jerry &lt;shop&gt;</Message></Response>')


@pytest.mark.parametrize("body, opt_out_type, action", [
    ("REVOKE", None, OPT_OUT), ("optout", None, OPT_OUT),
    ("ARRET", "STOP", OPT_OUT), ("Weer aan", "start", OPT_IN), ("AIDE", "HELP", HELP),  # Advanced Opt-Out keywords
    ("ARRET", None, None), ("STOP", "", OPT_OUT), ("hello", "SOMETHING", None),
])
def test_twilio_opt_out_type_decides_when_present(body, opt_out_type, action):
    assert keywords.classify_inbound(body, opt_out_type) == action


def test_twilio_confirms_only_whole_keyword_texts():
    assert keywords.answered_by_twilio(" stop ")
    assert keywords.answered_by_twilio("Unstop")
    assert keywords.answered_by_twilio("ARRET please", "STOP")
    assert not keywords.answered_by_twilio("stop please")
    assert not keywords.answered_by_twilio("Stop.")
    assert "Reply START" in keywords.confirmation(OPT_OUT, "Acme Goods")
    assert "Reply STOP" in keywords.confirmation(OPT_IN, "Acme Goods")
