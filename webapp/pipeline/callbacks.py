"""A provider's request to us, end to end: verified by the provider's own handler against the
store's accounts of it, parsed into receipts and consent signals, and applied in one transaction,
each provider event at most once (its replay key)."""
from __future__ import annotations

from sqlalchemy import select

from webapp.accounts.models import Store
from webapp.channels.accounts import accounts_for
from webapp.channels.providers.callbacks import (
    CallbackContext,
    CallbackHandler,
    CallbackRejected,
    ConsentSignal,
    InboundRequest,
    Reply,
)
from webapp.consent import keywords
from webapp.consent.actions import OPT_IN, OPT_OUT
from webapp.consent.state import set_consent
from webapp.consent.suppression import first_seen, record, release_opt_out, suppress
from webapp.consent.vocabulary import CONSENT_CHANNELS, OPTED_OUT
from webapp.customers.models import Customer
from webapp.dispatch.receipts import apply_receipt
from webapp.extensions import db
from webapp.runtime import RuntimeSettings


def handle_callback(store: Store, code: str, handler: CallbackHandler, request: InboundRequest,
                    settings: RuntimeSettings) -> Reply:
    """Verify, parse and apply one callback; returns what to answer the provider. An unverified
    request writes nothing; a verified one about an unknown message is answered "ignored" (providers
    retry anything but a 2xx)."""
    context = CallbackContext(store.id, store.name, store.sms_help_text, accounts_for(store.id, code), settings)
    if not handler.verify(request, context):
        db.session.rollback()
        return handler.rejected(request)
    try:
        parsed = handler.parse(request, context)
    except CallbackRejected as rejected:
        db.session.rollback()
        return rejected.reply
    # all() stops at the first replayed key, as a replay must record nothing more.
    if not all(first_seen(store.id, key.scope, key.event_id) for key in parsed.replay_keys):
        db.session.rollback()
        return parsed.reply or Reply(200, {"status": "ignored"})
    changed = 0
    for receipt in parsed.receipts:
        if receipt.replay_key and not first_seen(store.id, receipt.replay_key.scope, receipt.replay_key.event_id):
            continue
        changed += apply_receipt(store.id, code, receipt.provider_message_ids, receipt.outcome, receipt.detail,
                                 commit=False, notification_id=receipt.notification_id,
                                 reported_recipients=receipt.reported_recipients)
    for signal in parsed.consent:
        if signal.replay_key and not first_seen(store.id, signal.replay_key.scope, signal.replay_key.event_id):
            continue
        apply_consent(store.id, signal)
        changed += 1
    db.session.commit()
    return parsed.reply or Reply(200, {"status": "updated" if changed else "ignored"})


def apply_consent(store_id: int, signal: ConsentSignal) -> None:
    """STOP suppresses the address on the channel, START lifts only an opt-out, HELP is recorded."""
    if signal.action == OPT_OUT:
        suppress(store_id, signal.channel, signal.address, OPT_OUT, keywords.OPT_OUT_REASON, signal.source,
                 signal.keyword)
        _opt_out_of_marketing(store_id, signal)
    elif signal.action == OPT_IN:
        release_opt_out(store_id, signal.channel, signal.address, signal.source, signal.keyword)
    else:
        record(store_id, signal.channel, signal.address, signal.action, signal.source, signal.keyword)


def _opt_out_of_marketing(store_id: int, signal: ConsentSignal) -> None:
    """STOP also ends the marketing consent of the customers with that number on the channel, so the
    customer page says "opted out" and not only "suppressed". START lifts the suppression only: a
    shopper opts back in to marketing explicitly (preference centre, checkout, staff)."""
    if signal.channel not in CONSENT_CHANNELS:
        return
    for customer in db.session.scalars(select(Customer).where(Customer.store_id == store_id,
                                                             Customer.phone == signal.address)):
        set_consent(customer, signal.channel, OPTED_OUT, "sms_keyword", actor="customer", record_event=False)
