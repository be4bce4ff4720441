"""Promotions, bundles, coupons, gift cards and store credit through the API (store API key).
Bad input is a 422 naming the field and the reason, and nothing is saved."""
from __future__ import annotations

from flask import g, jsonify
from sqlalchemy import select

from webapp.customers.models import Customer
from webapp.extensions import db
from webapp.promotions import promotion_store as store_
from webapp.promotions.balances import (
    card_balance,
    card_status,
    credit_account,
    credit_balance,
    issue_credit,
    issue_gift_card,
    parse_credit,
    parse_gift_card,
)
from webapp.promotions.minor import from_minor
from webapp.promotions.models import BUNDLE, PROMOTION, GiftCard
from webapp.promotions.summary import describe
from webapp.views.api import api_key_required, bp, error, json_payload, problems_error


def promotion_json(promotion) -> dict:
    counts = store_.coupon_counts([promotion.id]).get(promotion.id, (0, 0))
    found = {"id": promotion.id, "kind": promotion.kind, "name": promotion.name, "priority": promotion.priority,
             "exclusive": promotion.exclusive, "status": store_.promotion_status(promotion),
             "starts_at": promotion.starts_at.isoformat() if promotion.starts_at else None,
             "ends_at": promotion.ends_at.isoformat() if promotion.ends_at else None,
             "summary": describe(promotion.conditions, promotion.actions, promotion.starts_at, promotion.ends_at,
                                 g.api_store.timezone),
             "times_used": promotion.times_used, "coupons": counts[0], "coupon_uses": counts[1]}
    if promotion.kind == BUNDLE:
        action = promotion.actions[0]
        found.update(items=action["items"], **{k: action[k] for k in ("percent", "amount") if k in action})
    else:
        found.update(conditions=promotion.conditions, actions=promotion.actions)
    return found


def coupon_json(coupon) -> dict:
    return {"id": coupon.id, "code": coupon.code, "promotion_id": coupon.promotion_id,
            "usage_limit": coupon.usage_limit, "once_per_customer": coupon.once_per_customer,
            "times_used": coupon.times_used, "created_at": coupon.created_at.isoformat()}


def gift_card_json(card: GiftCard, with_code: bool = False) -> dict:
    found = {"id": card.id, "code_last4": card.code[-4:], "currency": card.currency,
             "value": str(from_minor(card.value_minor, card.currency)), "balance": str(card_balance(card)),
             "status": card_status(card), "expires_at": card.expires_at.isoformat() if card.expires_at else None,
             "recipient_email": card.recipient_email, "created_at": card.created_at.isoformat()}
    if with_code:  # once, to whoever issued it: lists and reads show the last four characters only
        found["code"] = card.code
    return found


@bp.post("/promotions")
@api_key_required
def post_promotion():
    payload, failed = json_payload()
    if failed:
        return failed
    promotion, problems = store_.create_promotion(g.api_store, payload)
    if problems:
        return problems_error(problems)
    return jsonify(promotion_json(promotion)), 201


@bp.get("/promotions")
@api_key_required
def list_promotions():
    rows = store_.list_promotions(g.api_store.id, PROMOTION) + store_.list_promotions(g.api_store.id, BUNDLE)
    return jsonify({"promotions": [promotion_json(p) for p in rows]})


@bp.get("/promotions/<int:promotion_id>")
@api_key_required
def get_promotion(promotion_id: int):
    promotion = store_.get_promotion(g.api_store.id, promotion_id)
    if promotion is None:
        return error(404, "no such promotion in this store")
    return jsonify(promotion_json(promotion))


@bp.put("/promotions/<int:promotion_id>")
@api_key_required
def put_promotion(promotion_id: int):
    promotion = store_.get_promotion(g.api_store.id, promotion_id, PROMOTION)
    if promotion is None:
        return error(404, "no such promotion in this store")
    payload, failed = json_payload()
    if failed:
        return failed
    problems = store_.update_promotion(promotion, g.api_store, payload)
    if problems:
        return problems_error(problems)
    return jsonify(promotion_json(promotion))


@bp.post("/promotions/<int:promotion_id>/coupons")
@api_key_required
def post_coupons(promotion_id: int):
    promotion = store_.get_promotion(g.api_store.id, promotion_id, PROMOTION)  # a bundle takes no codes
    if promotion is None:
        return error(404, "no such promotion in this store")
    payload, failed = json_payload()
    if failed:
        return failed
    request, problems = store_.parse_coupon_request(payload)
    if problems:
        return problems_error(problems)
    coupons, problems = store_.add_coupons(promotion, request)
    if problems:
        return error(409, problems[0].message, field=problems[0].field)
    return jsonify({"coupons": [coupon_json(c) for c in coupons]}), 201


@bp.get("/promotions/<int:promotion_id>/coupons")
@api_key_required
def get_coupons(promotion_id: int):
    promotion = store_.get_promotion(g.api_store.id, promotion_id)
    if promotion is None:
        return error(404, "no such promotion in this store")
    return jsonify({"coupons": [coupon_json(c) for c in store_.coupons_of(promotion, limit=1000)]})


@bp.post("/bundles")
@api_key_required
def post_bundle():
    payload, failed = json_payload()
    if failed:
        return failed
    bundle, problems = store_.create_bundle(g.api_store, payload)
    if problems:
        return problems_error(problems)
    return jsonify(promotion_json(bundle)), 201


@bp.post("/gift-cards")
@api_key_required
def post_gift_card():
    payload, failed = json_payload()
    if failed:
        return failed
    request, problems = parse_gift_card(payload, g.api_store)
    if problems:
        return problems_error(problems)
    card, problems = issue_gift_card(g.api_store, request)
    if problems:
        return error(409, problems[0].message, field=problems[0].field)
    return jsonify(gift_card_json(card, with_code=True)), 201


@bp.get("/gift-cards/<int:card_id>")
@api_key_required
def get_gift_card(card_id: int):
    card = db.session.scalar(select(GiftCard).where(GiftCard.store_id == g.api_store.id, GiftCard.id == card_id))
    if card is None:
        return error(404, "no such gift card in this store")
    return jsonify(gift_card_json(card))


@bp.post("/customers/<int:customer_id>/store-credit")
@api_key_required
def post_store_credit(customer_id: int):
    customer = db.session.scalar(select(Customer).where(Customer.store_id == g.api_store.id,
                                                        Customer.id == customer_id, Customer.erased_at.is_(None)))
    if customer is None:
        return error(404, "no such customer in this store")
    payload, failed = json_payload()
    if failed:
        return failed
    parsed, problems = parse_credit(payload, g.api_store)
    if problems:
        return problems_error(problems)
    amount, currency, reason = parsed
    if not issue_credit(g.api_store, customer, amount, currency, reason):
        return error(409, f"the customer's store credit holds less than {-amount} {currency}", field="amount")
    account = credit_account(g.api_store.id, customer.id, currency)
    return jsonify({"customer_id": customer.id, "currency": currency, "balance": str(credit_balance(account)),
                    "amount": str(amount), "reason": reason}), 201
