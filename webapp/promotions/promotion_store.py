"""Saving promotions, bundles and coupons, and loading a store's promotions as the engine prices
them. A promotion is stored in the API's own form (what the editor and the API read back) and
parsed into engine rules when loaded; the parse is cached per promotion and version, so pricing
against hundreds of promotions does not re-validate them on every checkout."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from webapp.accounts.models import Store
from webapp.extensions import db
from webapp.promotions import bundle_input, codes, engine, promotion_input
from webapp.promotions.models import BUNDLE, PROMOTION, Coupon, CouponRedemption, Promotion
from webapp.promotions.promotion_input import Problem
from webapp.promotions.summary import status
from webapp.timeutil import utcnow

MAX_COUPONS_PER_REQUEST = 10_000
_RULE_KEYS = {"conditions", "actions"}


def create_promotion(store: Store, data: object) -> tuple[Promotion | None, list[Problem]]:
    promotion = Promotion(store_id=store.id, kind=PROMOTION)
    problems = _fill(promotion, store, data)
    if problems:
        return None, problems
    db.session.add(promotion)
    db.session.commit()
    return promotion, []


def update_promotion(promotion: Promotion, store: Store, data: object) -> list[Problem]:
    problems = _fill(promotion, store, data)
    if problems:
        db.session.rollback()
        return problems
    db.session.commit()
    return []


def _fill(promotion: Promotion, store: Store, data: object) -> list[Problem]:
    parsed, problems = promotion_input.parse(data, store.currency, store.timezone)
    if problems:
        return problems
    promotion.name, promotion.priority, promotion.exclusive = parsed.name, parsed.priority, parsed.exclusive
    promotion.starts_at, promotion.ends_at = parsed.starts_at, parsed.ends_at
    promotion.conditions = [_stored(rule) for rule in data.get("conditions") or []]
    promotion.actions = [_stored(rule) for rule in data["actions"]]
    promotion.updated_at = utcnow()
    return []


def _stored(rule: dict) -> dict:
    """The rule as given, without empty optional fields (the editor sends every input)."""
    return {key: value for key, value in rule.items() if value not in (None, "", [])}


def create_bundle(store: Store, data: object,
                  before_commit: Callable[[Promotion], None] | None = None) -> tuple[Promotion | None, list[Problem]]:
    parsed, problems = bundle_input.parse(data, store.currency)
    if problems:
        return None, problems
    discount = {"percent": str(parsed.action.params["percent"])} if "percent" in parsed.action.params \
        else {"amount": str(parsed.action.params["amount"])}
    bundle = Promotion(store_id=store.id, kind=BUNDLE, name=parsed.name, priority=parsed.priority,
                       exclusive=parsed.exclusive, conditions=[],
                       actions=[{"type": "bundle", "items": parsed.items, **discount}])
    db.session.add(bundle)
    if before_commit is not None:
        db.session.flush()  # its id, for the audit entry
        before_commit(bundle)
    db.session.commit()
    return bundle, []


def get_promotion(store_id: int, promotion_id: int, kind: str | None = None) -> Promotion | None:
    query = select(Promotion).where(Promotion.store_id == store_id, Promotion.id == promotion_id)
    if kind:
        query = query.where(Promotion.kind == kind)
    return db.session.scalar(query)


def list_promotions(store_id: int, kind: str = PROMOTION) -> list[Promotion]:
    return list(db.session.scalars(select(Promotion).where(Promotion.store_id == store_id, Promotion.kind == kind)
                                   .order_by(Promotion.priority, Promotion.id)))


def set_disabled(promotion: Promotion, disabled: bool) -> None:
    promotion.disabled = disabled
    promotion.updated_at = utcnow()
    db.session.commit()


def promotion_status(promotion: Promotion, now: datetime | None = None) -> str:
    return status(promotion.disabled, promotion.starts_at, promotion.ends_at, now or utcnow())


# ----------------------------------------------------------------------------- coupons

@dataclass(frozen=True)
class CouponRequest:
    code: str | None
    count: int
    usage_limit: int | None
    once_per_customer: bool


def parse_coupon_request(data: object) -> tuple[CouponRequest | None, list[Problem]]:
    if not isinstance(data, dict):
        return None, [Problem("body", "send a JSON object with code or count, usage_limit, once_per_customer")]
    code, count = data.get("code"), data.get("count")
    if (code is None) == (count is None):
        return None, [Problem("code", "give either a code to type in or a count of codes to generate")]
    if code is not None and (why := codes.typed_problem(code)):
        return None, [Problem("code", why)]
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)
                              or not 1 <= count <= MAX_COUPONS_PER_REQUEST):
        return None, [Problem("count", f"count is a whole number from 1 to {MAX_COUPONS_PER_REQUEST}")]
    limit = data.get("usage_limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        return None, [Problem("usage_limit", "usage_limit is a whole number, 1 or more, or null for unlimited")]
    once = data.get("once_per_customer", False)
    if not isinstance(once, bool):
        return None, [Problem("once_per_customer", "once_per_customer is true or false")]
    return CouponRequest(code.strip() if code else None, count or 1, limit, once), []


def add_coupons(promotion: Promotion, request: CouponRequest) -> tuple[list[Coupon], list[Problem]]:
    """Typed or generated codes for the promotion, all or none. A typed code already in the store
    is refused; a generated one that collides (about one in 10^15) is drawn again."""
    wanted = [request.code] if request.code else _fresh_codes(promotion.store_id, request.count)
    rows = [{"store_id": promotion.store_id, "promotion_id": promotion.id, "code": code, "code_key": codes.key(code),
             "usage_limit": request.usage_limit, "once_per_customer": request.once_per_customer,
             "times_used": 0, "created_at": utcnow()} for code in wanted]
    try:
        db.session.execute(insert(Coupon), rows)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return [], [Problem("code", f"the code “{request.code}” is already used in this store")]
    keys = [row["code_key"] for row in rows]
    found = []
    for start in range(0, len(keys), 500):
        found += db.session.scalars(select(Coupon).where(Coupon.store_id == promotion.store_id,
                                                         Coupon.code_key.in_(keys[start:start + 500])))
    return sorted(found, key=lambda c: c.id), []


def _fresh_codes(store_id: int, count: int) -> list[str]:
    drawn: dict[str, str] = {}
    while len(drawn) < count:
        for code in (codes.generate(codes.COUPON_LENGTH) for _ in range(count - len(drawn))):
            drawn.setdefault(codes.key(code), code)
        taken = set(db.session.scalars(select(Coupon.code_key).where(Coupon.store_id == store_id,
                                                                     Coupon.code_key.in_(list(drawn)))))
        for key in taken:
            drawn.pop(key)
    return list(drawn.values())


def coupons_of(promotion: Promotion, limit: int | None = None) -> list[Coupon]:
    query = select(Coupon).where(Coupon.promotion_id == promotion.id).order_by(Coupon.id.desc())
    return list(db.session.scalars(query.limit(limit) if limit else query))


def coupon_counts(promotion_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """promotion id -> (coupons, their uses)."""
    ids = list(promotion_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Coupon.promotion_id, func.count(), func.coalesce(func.sum(Coupon.times_used), 0))
                              .where(Coupon.promotion_id.in_(ids)).group_by(Coupon.promotion_id))
    return {pid: (count, int(used)) for pid, count, used in rows}


def coupons_csv(promotion: Promotion) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "promotion", "usage_limit", "once_per_customer", "times_used", "created_at"])
    for coupon in reversed(coupons_of(promotion)):
        writer.writerow([coupon.code, _cell(promotion.name), coupon.usage_limit or "", "yes" if coupon.once_per_customer
                         else "no", coupon.times_used, coupon.created_at.isoformat()])
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet will not run: a leading =, +, - or @ would make it a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ----------------------------------------------------------------------------- loading for the engine

@dataclass(frozen=True)
class EnteredCode:
    code: str
    coupon: Coupon | None
    problem: str | None  # why it cannot be used now (None: usable)


def entered_codes(store_id: int, typed: list[str], email: str | None) -> list[EnteredCode]:
    keys = [codes.key(code) for code in typed]
    if not keys:
        return []
    coupons = {c.code_key: c for c in db.session.scalars(select(Coupon).where(Coupon.store_id == store_id,
                                                                              Coupon.code_key.in_(keys)))}
    used_by_them = set()
    if email:
        used_by_them = set(db.session.scalars(select(CouponRedemption.coupon_id).where(
            CouponRedemption.coupon_id.in_([c.id for c in coupons.values()]), CouponRedemption.once_key == email)))
    found = []
    for code, key in zip(typed, keys, strict=True):
        coupon = coupons.get(key)
        if coupon is None:
            found.append(EnteredCode(code, None, f"no coupon {code} in this store"))
        elif coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
            found.append(EnteredCode(code, coupon, f"coupon {code} used up"))
        elif coupon.id in used_by_them:
            found.append(EnteredCode(code, coupon, f"coupon {code} was already used by this customer"))
        elif coupon.once_per_customer and not email:
            found.append(EnteredCode(code, coupon, f"coupon {code} is once per customer: give the customer's email"))
        else:
            found.append(EnteredCode(code, coupon, None))
    return found


# (id, version, currency, timezone) -> parsed: amounts parse in the store's currency, times in its zone.
_parsed: dict[tuple[int, datetime, str, str], engine.Promotion | None] = {}
_MAX_CACHED = 50_000


def engine_promotions(store: Store, usable: dict[int, frozenset[str]], now: datetime) -> list[engine.Promotion]:
    """The store's promotions and bundles that are not disabled or over, as the engine prices them,
    each coupon promotion holding the entered codes usable for it (`usable`: promotion id -> keys).
    Only ids and versions are read on every checkout; a row is loaded and parsed when its version
    is not cached yet (after an edit, or in a fresh process)."""
    live = (Promotion.store_id == store.id) & Promotion.disabled.is_(False) & \
        ((Promotion.ends_at.is_(None)) | (Promotion.ends_at > now))
    versions = db.session.execute(select(Promotion.id, Promotion.updated_at).where(live)).all()
    setting = (store.currency, store.timezone)
    missing = [pid for pid, version in versions if (pid, version, *setting) not in _parsed]
    if len(_parsed) + len(missing) > _MAX_CACHED:
        _parsed.clear()
        missing = [pid for pid, _ in versions]
    version_of = dict(versions)
    for start in range(0, len(missing), 500):
        for row in db.session.scalars(select(Promotion).where(Promotion.id.in_(missing[start:start + 500]))):
            # Under the version read above, not the row's: an edit committed in between is picked
            # up by the next checkout, where keying by the row's would lose this one its promotion.
            _parsed[(row.id, version_of[row.id], *setting)] = _to_engine(row, store)
    found = []
    for pid, version in versions:
        parsed = _parsed.get((pid, version, *setting))
        if parsed is not None:
            found.append(replace(parsed, codes=usable.get(pid, frozenset())) if pid in usable else parsed)
    return found


def _to_engine(row: Promotion, store: Store) -> engine.Promotion | None:
    """None for a stored promotion that no longer parses (a currency change): it is skipped."""
    if row.kind == BUNDLE:
        action = row.actions[0]
        parsed, problems = bundle_input.parse({"name": row.name, "items": action["items"],
                                               **{k: action[k] for k in ("percent", "amount") if k in action}},
                                              store.currency)
        rules = (parsed.action,) if not problems else None
        conditions: tuple = ()
    else:
        parsed, problems = promotion_input.parse({"name": row.name, "conditions": row.conditions,
                                                  "actions": row.actions}, store.currency, store.timezone)
        rules, conditions = tuple(parsed.actions), tuple(parsed.conditions)
    if problems:
        return None
    return engine.Promotion(row.id, row.name, conditions, rules, priority=row.priority, exclusive=row.exclusive,
                            starts_at=row.starts_at, ends_at=row.ends_at)
