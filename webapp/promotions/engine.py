"""Pricing a cart against the store's promotions (pure: no Flask, no database).

Order of application: item-level actions first, then cart-level actions on the discounted
subtotal, then shipping; within each level by priority (lower first), then by id, so the result
is deterministic. An exclusive promotion, once applied, stops every promotion after it in that
order, whichever level it acts at. Every promotion that does not apply says why.

Conditions are judged on the cart as the shopper filled it (before any discount, without gift
lines), from an index of the cart built once per pricing: a store has hundreds of promotions and
most are rejected by a dictionary lookup.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

from webapp.promotions.money import ZERO, allocate, percent_of, round_down, round_money

ITEM_ACTIONS = ("percentage_off_items", "fixed_off_items", "buy_x_get_y", "free_product", "bundle")
CART_ACTIONS = ("percentage_off_cart", "fixed_off_cart")
SHIPPING_ACTIONS = ("free_shipping",)
LEVELS = (ITEM_ACTIONS, CART_ACTIONS, SHIPPING_ACTIONS)


@dataclass(frozen=True)
class Line:
    id: str
    product: str
    variant: str | None
    quantity: int
    unit_price: Decimal
    categories: frozenset[str] = frozenset()
    gift_of: int | None = None  # a free_product line: the promotion that added it

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Cart:
    currency: str
    lines: tuple[Line, ...]
    shipping: Decimal = ZERO


@dataclass(frozen=True)
class Shopper:
    groups: frozenset[str] = frozenset()
    orders_count: int = 0


@dataclass(frozen=True)
class Rule:
    """A condition or an action: its type and its parameters (already parsed)."""

    type: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Promotion:
    id: int
    name: str
    conditions: tuple[Rule, ...]
    actions: tuple[Rule, ...]
    priority: int = 100
    exclusive: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    codes: frozenset[str] = frozenset()  # for a `coupon` condition: the codes usable now (lower case)
    spent_codes: frozenset[str] = frozenset()  # its codes that exist but are used up: "coupon used up"


@dataclass
class Discount:
    promotion_id: int
    amount: Decimal


@dataclass
class PricedLine:
    line: Line
    discounts: list[Discount] = field(default_factory=list)

    @property
    def discounted(self) -> Decimal:
        return self.line.subtotal - sum((d.amount for d in self.discounts), ZERO)


@dataclass
class Priced:
    currency: str
    lines: list[PricedLine]
    shipping: Decimal
    shipping_discounts: list[Discount] = field(default_factory=list)
    applied: dict[int, Decimal] = field(default_factory=dict)  # promotion id -> amount
    not_applied: dict[int, str] = field(default_factory=dict)  # promotion id -> why not

    @property
    def subtotal(self) -> Decimal:
        return sum((p.line.subtotal for p in self.lines), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((d.amount for p in self.lines for d in p.discounts), ZERO)

    @property
    def shipping_total(self) -> Decimal:
        return self.shipping - sum((d.amount for d in self.shipping_discounts), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount_total + self.shipping_total


_ORDER = attrgetter("priority", "id")  # the order promotions are evaluated in, and exclusivity's "lower"


def price(cart: Cart, shopper: Shopper, codes: Iterable[str], promotions: Sequence[Promotion],
          now: datetime) -> Priced:
    facts = _facts(cart, shopper, codes)
    # Two stable sorts on single ints: the same order as sorting on (priority, id), several times
    # faster than comparing tuples when a store has thousands of promotions.
    ordered = sorted(sorted(promotions, key=attrgetter("id")), key=attrgetter("priority"))
    live, reasons = _screen(ordered, facts, now)
    priced, hints, stopper = _settle(cart, live, facts)
    if stopper is not None:
        # Everything after it was never to be evaluated, so that is the reason, not its conditions.
        why = f"excluded by {stopper.name} (exclusive, priority {stopper.priority})"
        after = bisect_right(ordered, _ORDER(stopper), key=_ORDER)
        reasons.update((p.id, why) for p in ordered[after:])
    for promotion in live:
        if promotion.id not in priced.applied and promotion.id not in reasons:
            reasons[promotion.id] = hints.get(promotion.id, "nothing in the cart it discounts")
    priced.not_applied = reasons
    return priced


def _screen(ordered: list[Promotion], facts: _Facts, now: datetime) -> tuple[list[Promotion], dict[int, str]]:
    """(the promotions whose window and conditions hold, in order; why each other one does not)."""
    live, reasons = [], {}
    for promotion in ordered:
        why = _why_not(promotion, facts, now)
        if why:
            reasons[promotion.id] = why
        else:
            live.append(promotion)
    return live, reasons


def with_lines(cart: Cart, lines: Iterable[Line]) -> Cart:
    return replace(cart, lines=tuple(lines))


# ----------------------------------------------------------------------------- the cart's index

@dataclass(frozen=True)
class _Facts:
    """What conditions (and the cheap rejections of item actions) ask of the cart and the shopper,
    worked out once per pricing rather than once per promotion."""

    currency: str
    subtotal: Decimal
    held: dict[str, dict[str, int]]  # condition type -> product / variant / category -> units held
    groups: frozenset[str]  # lower case: groups compare case-insensitively
    orders_count: int
    codes: frozenset[str]  # as entered, trimmed, lower case

    def shown(self, amount: Decimal) -> str:
        return str(round_money(amount, self.currency))


def _facts(cart: Cart, shopper: Shopper, codes: Iterable[str]) -> _Facts:
    products: dict[str, int] = {}
    variants: dict[str, int] = {}
    categories: dict[str, int] = {}
    subtotal = ZERO
    for line in cart.lines:
        if line.gift_of is not None:  # a gift from the last pricing: it is earned again or not at all
            continue
        subtotal += line.subtotal
        products[line.product] = products.get(line.product, 0) + line.quantity
        if line.variant is not None:
            variants[line.variant] = variants.get(line.variant, 0) + line.quantity
        for category in line.categories:
            categories[category] = categories.get(category, 0) + line.quantity
    return _Facts(cart.currency, subtotal,
                  {"product_in_cart": products, "variant_in_cart": variants, "category_in_cart": categories},
                  frozenset(g.lower() for g in shopper.groups), shopper.orders_count,
                  frozenset(code.strip().lower() for code in codes if code and code.strip()))


# ----------------------------------------------------------------------------- conditions

def _why_not(promotion: Promotion, facts: _Facts, now: datetime) -> str | None:
    if promotion.starts_at and now < promotion.starts_at:
        return f"starts {promotion.starts_at:%Y-%m-%d %H:%M}"
    if promotion.ends_at and now >= promotion.ends_at:
        return f"ended {promotion.ends_at:%Y-%m-%d %H:%M}"
    for condition in promotion.conditions:
        check = _CONDITIONS.get(condition.type)
        why = check(condition.params, promotion, facts) if check else f"unknown condition {condition.type}"
        if why:
            return why
    return None


Check = Callable[[dict, Promotion, _Facts], "str | None"]


def _subtotal_above(p: dict, promotion: Promotion, facts: _Facts) -> str | None:
    if facts.subtotal > p["amount"]:
        return None
    return f"subtotal {facts.shown(facts.subtotal)} is not above {facts.shown(p['amount'])}"


def _subtotal_below(p: dict, promotion: Promotion, facts: _Facts) -> str | None:
    if facts.subtotal < p["amount"]:
        return None
    return f"subtotal {facts.shown(facts.subtotal)} is not below {facts.shown(p['amount'])}"


def _customer_group(p: dict, promotion: Promotion, facts: _Facts) -> str | None:
    return None if p["group"].lower() in facts.groups else f"not in shopper group {p['group']}"


def _first_order(p: dict, promotion: Promotion, facts: _Facts) -> str | None:
    return None if facts.orders_count == 0 else "not the customer's first order"


def _coupon(p: dict, promotion: Promotion, facts: _Facts) -> str | None:
    # Both sides are lower case (the promotion's codes by contract), so a set test is enough.
    if facts.codes:
        if not facts.codes.isdisjoint(promotion.codes):
            return None
        if not facts.codes.isdisjoint(promotion.spent_codes):
            return "coupon used up"
    return "no valid coupon code entered for it"


def _in_cart(kind: str) -> Check:
    def check(p: dict, promotion: Promotion, facts: _Facts) -> str | None:
        held, need = facts.held[kind].get(p["value"], 0), p.get("min_quantity", 1)
        return None if held >= need else f"needs {need} of {p['value']} in the cart ({held})"

    return check


_CONDITIONS: dict[str, Check] = {
    "subtotal_above": _subtotal_above, "subtotal_below": _subtotal_below, "customer_group": _customer_group,
    "first_order": _first_order, "coupon": _coupon, "product_in_cart": _in_cart("product_in_cart"),
    "variant_in_cart": _in_cart("variant_in_cart"), "category_in_cart": _in_cart("category_in_cart"),
}


# ----------------------------------------------------------------------------- applying, in order

@dataclass
class _Run:
    """One pass over the live promotions: the cart being discounted, and why a promotion that ran
    gave nothing when there is more to say than "nothing in the cart it discounts"."""

    priced: Priced
    facts: _Facts
    hints: dict[int, str] = field(default_factory=dict)

    def lines(self, target: _Target | None = None) -> list[PricedLine]:
        """The shopper's lines (not gifts) the target takes in; all of them without one."""
        return [pl for pl in self.priced.lines
                if pl.line.gift_of is None and (target is None or target.takes(pl.line))]


def _settle(cart: Cart, live: list[Promotion], facts: _Facts) -> tuple[Priced, dict[int, str], Promotion | None]:
    """Apply the live promotions, level by level. An exclusive promotion acting at a later level
    than promotions after it in priority (a cart-level exclusive, an item discount of lower
    priority) finds them already applied: price again without them, since they were never to be
    evaluated. Dropping discounts only leaves it more to discount, so it applies again and this
    ends."""
    while True:
        run, stop = _run(cart, live, facts)
        if stop is None or not any(p.id in run.priced.applied for p in live[stop + 1:]):
            return run.priced, run.hints, None if stop is None else live[stop]
        live = live[:stop + 1]


def _run(cart: Cart, live: list[Promotion], facts: _Facts) -> tuple[_Run, int | None]:
    """(the pass, the index in `live` of the first exclusive promotion that applied)."""
    run = _Run(Priced(cart.currency, [PricedLine(line) for line in cart.lines if line.gift_of is None],
                      cart.shipping), facts)
    applied, stop = run.priced.applied, None
    for steps in _steps(live):
        for index, promotion, action in steps:
            if stop is not None and index > stop:
                break
            amount = _apply(action, promotion, run)
            if amount or action.type == "free_product":  # a gift line is the effect, at 0
                applied[promotion.id] = applied.get(promotion.id, ZERO) + amount
            if promotion.exclusive and promotion.id in applied and (stop is None or index < stop):
                stop = index
    return run, stop


_LEVEL_OF = {kind: number for number, level in enumerate(LEVELS) for kind in level}


def _steps(live: list[Promotion]) -> list[list[tuple[int, Promotion, Rule]]]:
    """Per level, its actions in the order they apply: by the promotion's place in `live`, then in
    the order the promotion lists them. Sorted out once, not once per level and promotion."""
    steps: list[list[tuple[int, Promotion, Rule]]] = [[] for _ in LEVELS]
    for index, promotion in enumerate(live):
        for action in promotion.actions:
            level = _LEVEL_OF.get(action.type)
            if level is not None:
                steps[level].append((index, promotion, action))
    return steps


def _apply(rule: Rule, promotion: Promotion, run: _Run) -> Decimal:
    act = _ACTIONS.get(rule.type)
    return act(rule.params, promotion, run) if act else ZERO


def _discount(pl: PricedLine, promotion: Promotion, amount: Decimal) -> Decimal:
    amount = min(amount, pl.discounted)  # never below zero
    if amount > 0:
        pl.discounts.append(Discount(promotion.id, amount))
    return max(amount, ZERO)


def _share(total: Decimal, lines: list[PricedLine], promotion: Promotion, currency: str) -> Decimal:
    """`total` spread over `lines` in proportion to what is left of each (see money.allocate)."""
    shares = allocate(total, [pl.discounted for pl in lines], currency)
    return sum((_discount(pl, promotion, share) for pl, share in zip(lines, shares, strict=True) if share), ZERO)


# ----------------------------------------------------------------------------- actions

@dataclass(frozen=True)
class _Target:
    """The products, variants and categories an item action takes in (none given: every line)."""

    products: frozenset[str]
    variants: frozenset[str]
    categories: frozenset[str]

    @property
    def everything(self) -> bool:
        return not (self.products or self.variants or self.categories)

    def takes(self, line: Line) -> bool:
        return (self.everything or line.product in self.products or line.variant in self.variants
                or not self.categories.isdisjoint(line.categories))


_TARGET_KEYS = (("products", "product_in_cart"), ("variants", "variant_in_cart"), ("categories", "category_in_cart"))


def _reaches(params: dict, facts: _Facts) -> bool:
    """Whether the item action's params could take in any line, from the cart's index: most of a
    store's item discounts are for products this cart does not hold, and this rejects them without
    building their target or walking the lines."""
    named = False
    for key, kind in _TARGET_KEYS:
        values = params.get(key)
        if values:
            named, held = True, facts.held[kind]
            if any(value in held for value in values):
                return True
    return not named


def _target(params: dict) -> _Target:
    return _Target(*(frozenset(params.get(key) or ()) for key, _ in _TARGET_KEYS))


def _percentage_off_items(p: dict, promotion: Promotion, run: _Run) -> Decimal:
    if not _reaches(p, run.facts):
        return ZERO
    currency = run.priced.currency
    return sum((_discount(pl, promotion, percent_of(pl.discounted, p["percent"], currency))
                for pl in run.lines(_target(p))), ZERO)


def _fixed_off_items(p: dict, promotion: Promotion, run: _Run) -> Decimal:
    """`amount` off each unit of the lines it takes in, or (per_unit false) once for the order,
    shared across those lines like a cart discount; capped at what is left of them."""
    if not _reaches(p, run.facts):
        return ZERO
    lines = run.lines(_target(p))
    if p.get("per_unit", True):
        return sum((_discount(pl, promotion, min(p["amount"] * pl.line.quantity, pl.discounted)) for pl in lines),
                   ZERO)
    whole = sum((pl.discounted for pl in lines), ZERO)
    return _share(min(p["amount"], whole), lines, promotion, run.priced.currency)


def _cart_discount(p: dict, promotion: Promotion, run: _Run, percent: bool) -> Decimal:
    lines, currency = run.lines(), run.priced.currency
    whole = sum((pl.discounted for pl in lines), ZERO)
    wanted = percent_of(whole, p["percent"], currency) if percent else min(p["amount"], whole)
    return _share(wanted, lines, promotion, currency)


def _free_shipping(p: dict, promotion: Promotion, run: _Run) -> Decimal:
    priced, limit = run.priced, p.get("max_shipping")
    if priced.shipping <= 0:
        run.hints[promotion.id] = "no shipping to discount"
        return ZERO
    if limit is not None and priced.shipping > limit:
        shown = run.facts.shown
        run.hints[promotion.id] = f"shipping {shown(priced.shipping)} is above its maximum of {shown(limit)}"
        return ZERO
    left = priced.shipping_total
    if left <= 0:  # another promotion already made it free
        return ZERO
    priced.shipping_discounts.append(Discount(promotion.id, left))
    return left


Unit = tuple[Decimal, int, int]  # (what is left of its price, its line's index, its index in the line)


def _units(run: _Run, params: dict) -> list[Unit]:
    """Every unit of the shopper's lines (not gifts: a free unit would use up the reward) the
    params take in."""
    if not _reaches(params, run.facts):
        return []
    target, units = _target(params), []
    for index, pl in enumerate(run.priced.lines):
        if pl.line.gift_of is None and pl.line.quantity > 0 and target.takes(pl.line):
            each = pl.discounted / pl.line.quantity
            units += [(each, index, n) for n in range(pl.line.quantity)]
    return units


def _take(units: list[Unit], start: int, count: int, used: set[tuple[int, int]]) -> tuple[list[Unit], int]:
    """The next `count` units from `start` not yet used, and where the search stopped. A used unit
    never becomes free again, so the caller can carry on from there next time."""
    taken = []
    while start < len(units) and len(taken) < count:
        unit = units[start]
        if (unit[1], unit[2]) not in used:
            taken.append(unit)
        start += 1
    return taken, start


def _buy_x_get_y(p: dict, promotion: Promotion, run: _Run) -> Decimal:
    """Buy `buy` units of the qualifying set, get `get` units of the reward set at `percent` off,
    repeated per full set up to max_applications. Each set takes the dearest qualifying units still
    free and rewards the cheapest reward units still free, and a unit serves one set once: buy two
    get one on three shirts rewards one shirt, not three."""
    buy, get, most = p["buy"]["quantity"], p["get"]["quantity"], p.get("max_applications")
    paying = sorted(_units(run, p["buy"]), key=lambda unit: (-unit[0], unit[1], unit[2]))
    rewards = sorted(_units(run, p["get"]), key=lambda unit: (unit[0], unit[1], unit[2]))
    used: set[tuple[int, int]] = set()
    rewarded: dict[int, Decimal] = {}
    at_paying = at_reward = applications = 0
    while buy > 0 and get > 0 and (not most or applications < most):
        bought, at_paying = _take(paying, at_paying, buy, used)
        if len(bought) < buy:
            break
        used.update((u[1], u[2]) for u in bought)
        free, at_reward = _take(rewards, at_reward, get, used)
        if len(free) < get:
            break
        used.update((u[1], u[2]) for u in free)
        for each, index, _ in free:
            rewarded[index] = rewarded.get(index, ZERO) + each
        applications += 1
    currency = run.priced.currency
    return sum((_discount(run.priced.lines[index], promotion, percent_of(value, p["percent"], currency))
                for index, value in sorted(rewarded.items())), ZERO)


def _free_product(p: dict, promotion: Promotion, run: _Run) -> Decimal:
    """A gift line at zero price while the conditions hold (they held: this runs only then)."""
    given = sum(1 for pl in run.priced.lines if pl.line.gift_of == promotion.id)
    gift = Line(id=f"gift-{promotion.id}" + (f"-{given + 1}" if given else ""), product=p["product"],
                variant=p.get("variant"), quantity=p.get("quantity", 1), unit_price=ZERO, gift_of=promotion.id)
    run.priced.lines.append(PricedLine(gift))
    return ZERO


def _bundle(p: dict, promotion: Promotion, run: _Run) -> Decimal:
    """A bundle (a promotion whose one action is this): its items, each a product (or variant) and a
    quantity, at `percent` off or `amount` off per complete set, once per set in the cart; the
    discount is shared across the bundle's lines by the value of the units each set takes. A unit
    serves one item of one set: a bundle of a shirt and a red shirt needs two shirts."""
    items, lines, currency = p["items"], run.priced.lines, run.priced.currency
    if not items or any(item["product"] not in run.facts.held["product_in_cart"] for item in items):
        return ZERO
    # Items naming a variant take their units first, so "any variant" takes what is left.
    ordered = sorted(items, key=lambda item: item.get("variant") is None)
    sets = min(sum(pl.line.quantity for pl in lines if _bundles(pl, item)) // item["quantity"] for item in ordered)
    taken = None
    while sets and taken is None:
        taken = _take_sets(ordered, lines, sets)
        sets -= taken is None
    if not taken:
        return ZERO
    weights = [pl.discounted / pl.line.quantity * taken.get(i, 0) for i, pl in enumerate(lines)]
    value = sum(weights, ZERO)
    total = percent_of(value, p["percent"], currency) if "percent" in p \
        else min(p["amount"] * sets, round_down(value, currency))
    shares = allocate(total, weights, currency)
    return sum((_discount(pl, promotion, share) for pl, share in zip(lines, shares, strict=True) if share), ZERO)


def _bundles(pl: PricedLine, item: dict) -> bool:
    return pl.line.gift_of is None and pl.line.product == item["product"] and (
        item.get("variant") is None or pl.line.variant == item["variant"])


def _take_sets(items: list[dict], lines: list[PricedLine], sets: int) -> dict[int, int] | None:
    """Units taken from each line for `sets` complete sets (line index -> units), or None when the
    cart cannot make that many without counting a unit twice."""
    left = {i: pl.line.quantity for i, pl in enumerate(lines)}
    taken: dict[int, int] = {}
    for item in items:
        wanted = sets * item["quantity"]
        for i, pl in enumerate(lines):
            if wanted and left[i] and _bundles(pl, item):
                take = min(wanted, left[i])
                left[i] -= take
                taken[i] = taken.get(i, 0) + take
                wanted -= take
        if wanted:
            return None
    return taken


Act = Callable[[dict, Promotion, _Run], Decimal]

_ACTIONS: dict[str, Act] = {
    "percentage_off_items": _percentage_off_items, "fixed_off_items": _fixed_off_items,
    "buy_x_get_y": _buy_x_get_y, "free_product": _free_product, "bundle": _bundle,
    "percentage_off_cart": lambda p, promotion, run: _cart_discount(p, promotion, run, percent=True),
    "fixed_off_cart": lambda p, promotion, run: _cart_discount(p, promotion, run, percent=False),
    "free_shipping": _free_shipping,
}
