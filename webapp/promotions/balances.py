"""Gift cards and store credit: issuing, their ledgers, and the conditional updates that spend
them. A balance moves only by `balance = balance + :delta WHERE balance + :delta >= 0`, in the
same transaction as the ledger entry that explains it, so two checkouts racing for one card can
never take it below zero on either database (PostgreSQL re-checks the condition on the row it
locked; SQLite runs one writer at a time)."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp.accounts.models import Store
from webapp.customers.models import Customer
from webapp.customers.upsert import upsert_customer
from webapp.extensions import db
from webapp.notifications.send import send_message
from webapp.promotions import codes
from webapp.promotions.minor import from_minor, to_minor
from webapp.promotions.models import (
    ACTIVE,
    ADJUST,
    DISABLED,
    EXPIRED,
    ISSUE,
    GiftCard,
    GiftCardEntry,
    StoreCreditAccount,
    StoreCreditEntry,
)
from webapp.promotions.money import parse_amount
from webapp.promotions.promotion_input import Problem
from webapp.timeutil import utcnow

GIFT_CARD_FIELDS = ("code", "value", "currency", "recipient_email", "expires_at", "message")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_VALUE = Decimal("100000")


def card_status(card: GiftCard, now: datetime | None = None) -> str:
    if card.disabled:
        return DISABLED
    if card.expires_at and (now or utcnow()) >= card.expires_at:
        return EXPIRED
    return ACTIVE


def card_balance(card: GiftCard) -> Decimal:
    return from_minor(card.balance_minor, card.currency)


@dataclass(frozen=True)
class GiftCardRequest:
    code: str | None
    value: Decimal
    currency: str
    recipient_email: str | None
    expires_at: datetime | None
    message: str | None


def parse_gift_card(data: object, store: Store) -> tuple[GiftCardRequest | None, list[Problem]]:
    if not isinstance(data, dict):
        return None, [Problem("body", "send a JSON object with value, currency and optionally code, recipient_email")]
    unknown = sorted(set(data) - set(GIFT_CARD_FIELDS))
    if unknown:
        return None, [Problem(unknown[0], f"unknown field “{unknown[0]}”; gift cards have "
                                          f"{', '.join(GIFT_CARD_FIELDS)}")]
    currency = data.get("currency", store.currency)
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency.upper()):
        return None, [Problem("currency", "currency is a three-letter ISO 4217 code such as USD")]
    currency = currency.upper()
    if currency != store.currency.upper():  # checkout prices in the store's currency, and spends in it
        return None, [Problem("currency", f"gift cards are in the store's currency, {store.currency}")]
    try:
        value = parse_amount(data.get("value"), currency)
    except ValueError as error:
        return None, [Problem("value", str(error))]
    if not 0 < value <= MAX_VALUE:
        return None, [Problem("value", f"value is more than 0 and at most {MAX_VALUE}")]
    code = data.get("code")
    if code is not None and (why := codes.typed_problem(code, shortest=8)):  # a gift card is money
        return None, [Problem("code", why)]
    email = data.get("recipient_email")
    if email is not None and (not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()) or len(email) > 254):
        return None, [Problem("recipient_email", "recipient_email is not an email address")]
    message = data.get("message")
    if message is not None and (not isinstance(message, str) or len(message) > 500):
        return None, [Problem("message", "message is text of at most 500 characters")]
    expires_at = None
    if data.get("expires_at"):
        try:
            expires_at = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        except ValueError:
            return None, [Problem("expires_at", "expires_at is a date and time like 2027-12-31T23:59")]
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=ZoneInfo(store.timezone))
        if expires_at <= utcnow():
            return None, [Problem("expires_at", "expires_at is in the past")]
    return GiftCardRequest(code.strip() if code else None, value, currency,
                           email.strip().lower() if email else None, expires_at, message), []


def issue_gift_card(store: Store, request: GiftCardRequest, note: str = "issued",
                    before_commit: Callable[[GiftCard], None] | None = None) -> tuple[GiftCard | None, list[Problem]]:
    """The card and its first ledger entry in one commit (with whatever `before_commit` adds, such
    as the audit entry); then the "gift card issued" message to its recipient through the
    notification pipeline (routing, consent, templates, outbox)."""
    code = request.code or codes.generate(codes.GIFT_CARD_LENGTH)
    customer = upsert_customer(db.session, store.id, store.default_locale, email=request.recipient_email) \
        if request.recipient_email else None
    if customer is not None:
        db.session.flush()
    minor = to_minor(request.value, request.currency)
    card = GiftCard(store_id=store.id, code=code, code_key=codes.key(code), currency=request.currency,
                    value_minor=minor, balance_minor=minor, expires_at=request.expires_at,
                    recipient_email=request.recipient_email, message=request.message,
                    customer_id=customer.id if customer else None)
    db.session.add(card)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None, [Problem("code", f"the code “{code}” is already used in this store")]
    db.session.add(GiftCardEntry(gift_card_id=card.id, kind=ISSUE, amount_minor=minor, note=note))
    if before_commit is not None:
        before_commit(card)
    db.session.commit()
    if customer is not None:
        send_message(store, customer, "gift_card.issued", key=f"gift-card:{card.id}",
                     reason=f"gift card {masked(card.code)} issued", source="promotions",
                     data={"gift_card": {"code": card.code, "amount": str(request.value),
                                         "message": request.message or ""}})
    return card, []


def masked(code: str) -> str:
    """A code as lists and logs show it: only its last four characters."""
    return "•••• " + code[-4:]


def find_card(store_id: int, code: str) -> GiftCard | None:
    return db.session.scalar(select(GiftCard).where(GiftCard.store_id == store_id,
                                                    GiftCard.code_key == codes.key(code)))


def card_ledger(card: GiftCard) -> list[GiftCardEntry]:
    return list(db.session.scalars(select(GiftCardEntry).where(GiftCardEntry.gift_card_id == card.id)
                                   .order_by(GiftCardEntry.id.desc()).limit(200)))


def set_card_disabled(card: GiftCard, disabled: bool) -> None:
    card.disabled = disabled
    db.session.commit()


def adjust_card(card: GiftCard, delta: Decimal, note: str) -> bool:
    """Staff's correction (either way), refused when it is nothing or would take the card below zero."""
    if not delta or not move_card(card.id, to_minor(delta, card.currency), ADJUST, note=note):
        db.session.rollback()
        return False
    db.session.commit()
    return True


def move_card(card_id: int, delta_minor: int, kind: str, *, checkout_id: int | None = None,
              note: str | None = None, spend_at: datetime | None = None) -> bool:
    """Change the card's balance by `delta_minor` with its ledger entry (the caller commits); False,
    and nothing written, when that would take it below zero, or, spending at `spend_at`, when the
    card was disabled or expired since the checkout was priced."""
    spendable = True if spend_at is None else GiftCard.disabled.is_(False) & (
        GiftCard.expires_at.is_(None) | (GiftCard.expires_at > spend_at))
    changed = db.session.execute(update(GiftCard).where(GiftCard.id == card_id, spendable,
                                                        GiftCard.balance_minor + delta_minor >= 0)
                                 .values(balance_minor=GiftCard.balance_minor + delta_minor)
                                 .execution_options(synchronize_session=False)).rowcount
    if not changed:
        return False
    db.session.add(GiftCardEntry(gift_card_id=card_id, kind=kind, amount_minor=delta_minor, checkout_id=checkout_id,
                                 note=note))
    return True


# ----------------------------------------------------------------------------- store credit

def credit_account(store_id: int, customer_id: int, currency: str, create: bool = False) -> StoreCreditAccount | None:
    account = db.session.scalar(select(StoreCreditAccount).where(StoreCreditAccount.store_id == store_id,
                                                                 StoreCreditAccount.customer_id == customer_id,
                                                                 StoreCreditAccount.currency == currency))
    if account is None and create:
        account = StoreCreditAccount(store_id=store_id, customer_id=customer_id, currency=currency, balance_minor=0)
        db.session.add(account)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:  # opened concurrently: use that one
            account = db.session.scalar(select(StoreCreditAccount).where(
                StoreCreditAccount.customer_id == customer_id, StoreCreditAccount.currency == currency))
    return account


def credit_balance(account: StoreCreditAccount | None) -> Decimal:
    return from_minor(account.balance_minor, account.currency) if account else Decimal(0)


def parse_credit(data: object, store: Store) -> tuple[tuple[Decimal, str, str] | None, list[Problem]]:
    """(amount, currency, reason) of `POST /api/v1/customers/<id>/store-credit`; a negative amount
    takes credit back (never below zero)."""
    if not isinstance(data, dict):
        return None, [Problem("body", "send a JSON object with amount, currency and reason")]
    currency = data.get("currency", store.currency)
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency.upper()):
        return None, [Problem("currency", "currency is a three-letter ISO 4217 code such as USD")]
    currency = currency.upper()
    if currency != store.currency.upper():
        return None, [Problem("currency", f"store credit is in the store's currency, {store.currency}")]
    raw = data.get("amount")
    negative = isinstance(raw, str) and raw.strip().startswith("-")
    try:
        amount = parse_amount(raw.strip()[1:] if negative else raw, currency)
    except (ValueError, AttributeError) as error:
        return None, [Problem("amount", str(error))]
    if amount == 0 or amount > MAX_VALUE:
        return None, [Problem("amount", f"amount is more than 0 and at most {MAX_VALUE} (\"-5.00\" takes credit "
                                        "back)")]
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 300:
        return None, [Problem("reason", "reason is required (refund, goodwill, …), at most 300 characters")]
    return (-amount if negative else amount, currency, reason.strip()), []


def issue_credit(store: Store, customer: Customer, amount: Decimal, currency: str, reason: str) -> bool:
    """Credit (or, negative, debit) the customer's store credit with a ledger entry; False when a
    debit would take it below zero."""
    account = credit_account(store.id, customer.id, currency, create=True)
    if not move_credit(account.id, to_minor(amount, currency), ISSUE if amount > 0 else ADJUST, reason=reason):
        db.session.rollback()
        return False
    db.session.commit()
    return True


def move_credit(account_id: int, delta_minor: int, kind: str, *, checkout_id: int | None = None,
                reason: str | None = None) -> bool:
    changed = db.session.execute(update(StoreCreditAccount).where(
        StoreCreditAccount.id == account_id, StoreCreditAccount.balance_minor + delta_minor >= 0)
        .values(balance_minor=StoreCreditAccount.balance_minor + delta_minor)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        return False
    db.session.add(StoreCreditEntry(account_id=account_id, kind=kind, amount_minor=delta_minor,
                                    checkout_id=checkout_id, reason=reason))
    return True


def credit_ledger(store_id: int, customer_id: int) -> list[tuple[StoreCreditEntry, str]]:
    rows = db.session.execute(select(StoreCreditEntry, StoreCreditAccount.currency)
                              .join(StoreCreditAccount, StoreCreditEntry.account_id == StoreCreditAccount.id)
                              .where(StoreCreditAccount.store_id == store_id,
                                     StoreCreditAccount.customer_id == customer_id)
                              .order_by(StoreCreditEntry.id.desc()).limit(200))
    return [(entry, currency) for entry, currency in rows]


def credit_accounts(store_id: int, customer_id: int) -> list[StoreCreditAccount]:
    return list(db.session.scalars(select(StoreCreditAccount).where(StoreCreditAccount.store_id == store_id,
                                                                    StoreCreditAccount.customer_id == customer_id)))
