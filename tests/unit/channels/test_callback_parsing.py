"""Provider callback handlers are pure: signatures and payloads checked against the providers'
documented constructions and examples, with no app, database or network."""
from __future__ import annotations

import json
import time

from webapp.channels.providers import dialog360_callbacks, plivo_callbacks, vonage_callbacks
from webapp.channels.providers.callbacks import Account, CallbackContext, InboundRequest, e164, fresh
from webapp.consent.actions import OPT_OUT
from webapp.runtime import RuntimeSettings


def context(**secrets) -> CallbackContext:
    return CallbackContext(1, "Acme", None, (Account({}, secrets),), RuntimeSettings())


def test_plivo_v3_signed_string_follows_the_documented_construction():
    params = {"To": "1415", "From": "1202", "Status": "delivered"}
    assert plivo_callbacks.signed_string("POST", "https://example.com/sms/status", params) == \
        "https://example.com/sms/status?From1202StatusdeliveredTo1415"
    assert plivo_callbacks.signed_string("POST", "https://example.com/sms/status?b=2&a=1",
                                         {"To": "1415", "From": "1202"}) == \
        "https://example.com/sms/status?a=1&b=2.From1202To1415"
    assert plivo_callbacks.signed_string("GET", "https://example.com/sms/status?b=2",
                                         {"a": "1"}) == "https://example.com/sms/status?a=1&b=2"


def test_vonage_signature_sorts_parameters_and_replaces_separators_in_values():
    a = vonage_callbacks.signature({"b": "x&y", "a": "1=2", "sig": "ignored"}, "secret", "sha256")
    b = vonage_callbacks.signature({"a": "1_2", "b": "x_y"}, "secret", "sha256")
    assert a == b  # "&" and "=" in values count as "_", and sig itself is never signed
    assert vonage_callbacks.signature({"a": "1"}, "secret") != vonage_callbacks.signature({"a": "1"}, "other")


def test_vonage_inbound_keyword_becomes_an_opt_out_of_the_e164_number():
    params = {"msisdn": "447700900123", "text": "STOP please", "messageId": "m1",
              "timestamp": str(int(time.time())), "nonce": "n1"}
    params["sig"] = vonage_callbacks.signature(params, "s3cret", "md5hash")
    request = InboundRequest("POST", "https://x/callbacks/vonage/acme/inbound", "inbound",
                             {"content-type": "application/x-www-form-urlencoded"}, form=params)
    handler = vonage_callbacks.VonageCallbacks()
    assert handler.verify(request, context(signature_secret="s3cret"))
    assert not handler.verify(request, context(signature_secret="wrong"))
    [signal] = handler.parse(request, context()).consent
    assert (signal.channel, signal.address, signal.action, signal.keyword) == ("sms", "+447700900123", OPT_OUT, "STOP")


def test_360dialog_reads_both_payload_shapes_and_ignores_sent():
    cloud = {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
        "statuses": [{"id": "wamid.1", "status": "sent"}, {"id": "wamid.1", "status": "delivered"}]}}]}]}
    on_premise = {"statuses": [{"id": "wamid.2", "status": "read"}]}
    assert [v["statuses"][1]["status"] for v in dialog360_callbacks.values_of(cloud)] == ["delivered"]
    handler = dialog360_callbacks.Dialog360Callbacks()
    for payload, expected in ((cloud, [("wamid.1", "delivered")]), (on_premise, [("wamid.2", "opened")])):
        request = InboundRequest("POST", "https://x", "", {}, body=json.dumps(payload).encode())
        assert [(r.provider_message_ids[0], r.outcome) for r in handler.parse(request, context()).receipts] == expected


def test_helpers():
    assert e164("447700900123") == "+447700900123" and e164("+1555") == "+1555" and e164("") == ""
    assert fresh(int(time.time())) and not fresh(int(time.time()) - 3600) and not fresh("soon")
