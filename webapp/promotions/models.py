"""Promotions and bundles, their coupons, gift cards and store credit with their ledgers, and the
checkouts that spent them.

Money is stored in minor units (integers) of its currency: SQLite has no exact decimal, and the
conditional updates that keep a coupon within its limit and a balance above zero compare integers
exactly on both databases. A balance column is the running sum of its ledger, changed only in the
same transaction as the entry that explains it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.dbtypes import UTCDateTime
from webapp.extensions import db
from webapp.timeutil import utcnow

PROMOTION, BUNDLE = "promotion", "bundle"
# Ledger entry kinds, for gift cards and store credit alike.
ISSUE, REDEEM, REFUND, ADJUST = "issue", "redeem", "refund", "adjust"
ACTIVE, DISABLED, EXPIRED = "active", "disabled", "expired"


class Promotion(db.Model):
    """A promotion (conditions + actions as the API gives them) or a bundle (kind "bundle": its one
    action is the bundle's items and discount). Both are priced by webapp.promotions.engine."""

    __tablename__ = "promotions"
    __table_args__ = (Index("ix_promotions_store_id_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(16), default=PROMOTION)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(default=100)
    exclusive: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conditions: Mapped[list] = mapped_column(JSON, default=list)  # [{"type", ...}] as the API gives them
    actions: Mapped[list] = mapped_column(JSON, default=list)
    disabled: Mapped[bool] = mapped_column(default=False)
    times_used: Mapped[int] = mapped_column(default=0)  # orders it discounted
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # what it gave away, store currency
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Coupon(db.Model):
    __tablename__ = "coupons"
    __table_args__ = (UniqueConstraint("store_id", "code_key", name="uq_coupons_store_code"),
                      Index("ix_coupons_promotion_id", "promotion_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    code: Mapped[str] = mapped_column(String(64))  # as typed or generated, for display
    code_key: Mapped[str] = mapped_column(String(64))  # lower case: codes are case-insensitive
    usage_limit: Mapped[int | None] = mapped_column()  # None: unlimited
    once_per_customer: Mapped[bool] = mapped_column(default=False)
    times_used: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CouponRedemption(db.Model):
    """One use of a coupon by an order. `once_key` is the customer's email when the coupon is once
    per customer (else NULL, which a unique index never compares), so a second use by the same
    customer fails on the index even when two checkouts race."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (UniqueConstraint("coupon_id", "once_key", name="uq_coupon_redemptions_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id"))
    once_key: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GiftCard(db.Model):
    __tablename__ = "gift_cards"
    __table_args__ = (UniqueConstraint("store_id", "code_key", name="uq_gift_cards_store_code"),
                      Index("ix_gift_cards_store_id_id", "store_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(64))
    code_key: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    value_minor: Mapped[int] = mapped_column(BigInteger)  # face value
    balance_minor: Mapped[int] = mapped_column(BigInteger)  # the sum of its ledger
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(default=False)
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    message: Mapped[str | None] = mapped_column(String(500))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GiftCardEntry(db.Model):
    __tablename__ = "gift_card_entries"
    __table_args__ = (Index("ix_gift_card_entries_card", "gift_card_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gift_card_id: Mapped[int] = mapped_column(ForeignKey("gift_cards.id"))
    kind: Mapped[str] = mapped_column(String(16))  # issue, redeem, refund, adjust
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed: redeem is negative
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoreCreditAccount(db.Model):
    __tablename__ = "store_credit_accounts"
    __table_args__ = (UniqueConstraint("customer_id", "currency", name="uq_store_credit_customer_currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class StoreCreditEntry(db.Model):
    __tablename__ = "store_credit_entries"
    __table_args__ = (Index("ix_store_credit_entries_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("store_credit_accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed
    reason: Mapped[str | None] = mapped_column(String(300))
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkouts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Checkout(db.Model):
    """A completed checkout: the order it made, what it was priced at, and what it drew from gift
    cards and store credit (so a refund can give exactly that back, once)."""

    __tablename__ = "checkouts"
    __table_args__ = (UniqueConstraint("store_id", "number", name="uq_checkouts_store_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    number: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    priced: Mapped[dict] = mapped_column(JSON)  # the answer of checkout/price at the time
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
