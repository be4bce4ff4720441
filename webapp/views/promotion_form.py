"""The promotion pages' forms and the API dicts they stand for, both ways: the editor's condition and
action rows (`conditions[1].amount`, `actions[0].buy.quantity`, named as the domain's problems name
fields, so a problem lands beside its input), the coupon form, and the simulator's cart.

Every value is handed to the domain as typed (a whole number becomes an int, a list is split at
commas, an empty input is left out), so the domain, not this module, decides what is wrong and says
so. Pure: a form here is any mapping with `getlist` (werkzeug's MultiDict).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from webapp.promotions.promotion_input import ACTIONS, CONDITIONS, MAX_RULES, Problem

SECTIONS = ("conditions", "actions")
CONDITION_LABELS = {"subtotal_above": "Cart subtotal is over", "subtotal_below": "Cart subtotal is under",
                    "customer_group": "Customer is in a shopper group", "product_in_cart": "Cart holds a product",
                    "variant_in_cart": "Cart holds a variant", "category_in_cart": "Cart holds a category",
                    "first_order": "It is the customer's first order", "coupon": "Customer enters a coupon code"}
ACTION_LABELS = {"percentage_off_cart": "Percentage off the cart", "percentage_off_items": "Percentage off items",
                 "fixed_off_cart": "Amount off the cart", "fixed_off_items": "Amount off items",
                 "free_shipping": "Free shipping", "buy_x_get_y": "Buy X, get Y", "free_product": "Free product"}
TYPE_LABELS = {"conditions": CONDITION_LABELS, "actions": ACTION_LABELS}
TYPE_HINTS = {"first_order": "The customer has no previous orders.",
              "coupon": "Add the codes on the promotion's page once it is saved."}

MONEY, WHOLE, PERCENT, TEXT, LIST, CHECKBOX = "money", "whole", "percent", "text", "list", "checkbox"


@dataclass(frozen=True)
class Input:
    key: str  # after "conditions[2]." in the form name: "amount", "buy.quantity"
    label: str
    kind: str
    placeholder: str = ""
    hint: str = ""


TARGET_HINT = "separate several with commas; leave products, variants and categories empty for every item"


def _targets(prefix: str = "") -> tuple[Input, ...]:
    return (Input(f"{prefix}products", "Products", LIST, "trail-runner, rain-jacket"),
            Input(f"{prefix}variants", "Variants", LIST, "trail-runner-42"),
            Input(f"{prefix}categories", "Categories", LIST, "Shoes, Socks", TARGET_HINT))


# Each type's inputs, in groups: (the group's title, or "" for none; its inputs).
INPUTS: dict[str, tuple[tuple[str, tuple[Input, ...]], ...]] = {
    "subtotal_above": (("", (Input("amount", "Subtotal over", MONEY, "100.00"),)),),
    "subtotal_below": (("", (Input("amount", "Subtotal under", MONEY, "50.00"),)),),
    "customer_group": (("", (Input("group", "Shopper group", TEXT, "Wholesale"),)),),
    "product_in_cart": (("", (Input("product", "Product", TEXT, "trail-runner"),
                              Input("min_quantity", "At least", WHOLE, "1", "units"))),),
    "variant_in_cart": (("", (Input("variant", "Variant", TEXT, "trail-runner-42"),
                              Input("min_quantity", "At least", WHOLE, "1", "units"))),),
    "category_in_cart": (("", (Input("category", "Category", TEXT, "Shoes"),
                               Input("min_quantity", "At least", WHOLE, "1", "units"))),),
    "first_order": (),
    "coupon": (),
    "percentage_off_cart": (("", (Input("percent", "Percent off", PERCENT, "10"),)),),
    "percentage_off_items": (("", (Input("percent", "Percent off", PERCENT, "10"),)), ("Items", _targets())),
    "fixed_off_cart": (("", (Input("amount", "Amount off", MONEY, "5.00"),)),),
    "fixed_off_items": (("", (Input("amount", "Amount off", MONEY, "2.00"),
                              Input("per_unit", "Off each unit (unticked: once per order)", CHECKBOX))),
                        ("Items", _targets())),
    "free_shipping": (("", (Input("max_shipping", "Up to", MONEY, "10.00",
                                  "leave empty to make all of the shipping free"),)),),
    "buy_x_get_y": (("Customer buys", (Input("buy.quantity", "Quantity", WHOLE, "2"), *_targets("buy."))),
                    ("Customer gets", (Input("get.quantity", "Quantity", WHOLE, "1"), *_targets("get."))),
                    ("", (Input("percent", "Percent off what they get", PERCENT, "100", "100 makes it free"),
                          Input("max_applications", "At most", WHOLE, "", "times an order; empty for no limit")))),
    "free_product": (("", (Input("product", "Product", TEXT, "tote-bag"),
                           Input("variant", "Variant", TEXT, "", "optional"),
                           Input("quantity", "Quantity", WHOLE, "1"))),),
}
# An empty input the live summary shows as "…" rather than "None" ("…% off the cart").
REQUIRED = {"amount", "group", "product", "variant", "category", "percent"}
_NOT_REQUIRED = {("free_product", "variant"), ("buy_x_get_y", "percent")}  # optional, or with a default
_WHOLE = re.compile(r"-?\d{1,9}")
ROW_KEY = re.compile(r"(conditions|actions)\[(\d{1,3})\]\.([a-z_]{1,20}(?:\.[a-z_]{1,20})?)")
EDIT_COMMAND = re.compile(r"refresh|add-(condition|action)|remove-(condition|action)-(\d{1,3})")


def inputs_of(kind: str) -> tuple[Input, ...]:
    return tuple(item for _, group in INPUTS.get(kind, ()) for item in group)


# ------------------------------------------------------------------------------ the editor's state

def new_row(kind: str) -> dict:
    """A row of the type with its inputs empty (and "off each unit" ticked: the API's default)."""
    return {"type": kind, **{item.key: ("1" if item.kind == CHECKBOX else "") for item in inputs_of(kind)}}


def blank_state() -> dict:
    return {"name": "", "priority": "100", "exclusive": False, "starts_at": "", "ends_at": "",
            "conditions": [], "actions": [new_row("percentage_off_cart")]}


def submitted(form) -> dict:
    """The editor's state as posted: each section's rows in their order, renumbered from 0. A
    checkbox comes with a hidden "0" before it, so the last value posted is its state."""
    found: dict[str, dict[int, dict]] = {"conditions": {}, "actions": {}}
    for key in form:
        named = ROW_KEY.fullmatch(key)
        if named:
            found[named[1]].setdefault(int(named[2]), {})[named[3]] = form.getlist(key)[-1]
    state = {"name": form.get("name", ""), "priority": form.get("priority", ""),
             "exclusive": form.get("exclusive") == "1", "starts_at": form.get("starts_at", ""),
             "ends_at": form.get("ends_at", "")}
    for section in SECTIONS:
        state[section] = [_shaped(found[section][index]) for index in sorted(found[section])]
    return state


def _shaped(row: dict) -> dict:
    """The row with every input of its type present, so a type just chosen starts empty."""
    return {**new_row(row.get("type", "")), **row}


def edited(state: dict, command: str, form) -> dict:
    """The state after an add (of the type chosen beside the button), a remove or a refresh."""
    wanted = EDIT_COMMAND.fullmatch(command)
    state = {**state, "conditions": list(state["conditions"]), "actions": list(state["actions"])}
    if not wanted:
        return state
    if wanted[1]:
        section = f"{wanted[1]}s"
        kinds = CONDITIONS if section == "conditions" else ACTIONS
        kind = form.get(f"new_{wanted[1]}", "")
        if len(state[section]) < MAX_RULES:
            state[section].append(new_row(kind if kind in kinds else kinds[0]))
    elif wanted[2]:
        section, index = f"{wanted[2]}s", int(wanted[3])
        if index < len(state[section]):
            del state[section][index]
    return state


def api_dict(state: dict) -> dict:
    """The promotion as `POST /api/v1/promotions` takes it, from the editor's state."""
    data: dict = {"name": state["name"], "exclusive": state["exclusive"]}
    if state["priority"].strip():
        data["priority"] = _whole(state["priority"])
    for key in ("starts_at", "ends_at"):
        if state[key].strip():
            data[key] = state[key].strip()
    data["conditions"] = [_rule(row) for row in state["conditions"]]
    data["actions"] = [_rule(row) for row in state["actions"]]
    return data


def _rule(row: dict) -> dict:
    kind = row.get("type", "")
    rule: dict = {"type": kind}
    if kind == "buy_x_get_y":  # the sets are objects even when empty: "buy 1 of every item"
        rule |= {"buy": {}, "get": {}}
    for item in inputs_of(kind):
        raw = row.get(item.key, "").strip()
        if item.kind == CHECKBOX:
            _put(rule, item.key, raw == "1")
        elif not raw:
            continue
        elif item.kind == LIST:
            _put(rule, item.key, split_list(raw))
        elif item.kind == WHOLE:
            _put(rule, item.key, _whole(raw))
        else:
            _put(rule, item.key, raw)
    return rule


def _put(rule: dict, key: str, value: object) -> None:
    head, _, tail = key.partition(".")
    if tail:
        rule.setdefault(head, {})[tail] = value
    else:
        rule[head] = value


def _whole(raw: str) -> int | str:
    """A whole number as an int; anything else as typed, for the domain to refuse with its reason."""
    raw = raw.strip()
    return int(raw) if _WHOLE.fullmatch(raw) else raw


def split_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def state_of(promotion, timezone: str) -> dict:
    """A saved promotion as the editor shows it: times in the store's timezone, lists joined."""
    return {"name": promotion.name, "priority": str(promotion.priority), "exclusive": promotion.exclusive,
            "starts_at": local_input(promotion.starts_at, timezone),
            "ends_at": local_input(promotion.ends_at, timezone),
            "conditions": [_row_of(rule) for rule in promotion.conditions or []],
            "actions": [_row_of(rule) for rule in promotion.actions or []]}


def _row_of(rule: dict) -> dict:
    row = new_row(rule.get("type", ""))
    for item in inputs_of(row["type"]):
        head, _, tail = item.key.partition(".")
        value = (rule.get(head) or {}).get(tail) if tail else rule.get(head)
        if item.kind == CHECKBOX:
            row[item.key] = "0" if value is False else "1"
        elif isinstance(value, list):
            row[item.key] = ", ".join(str(part) for part in value)
        else:
            row[item.key] = "" if value is None else str(value)
    return row


def local_input(moment: datetime | None, timezone: str) -> str:
    """A stored UTC moment as a datetime-local input's value in the store's timezone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


def draft_rules(rules: list[dict]) -> list[dict]:
    """The rules as the live summary reads them: an input not filled in yet reads "…"."""
    shown = []
    for rule in rules:
        rule = dict(rule)
        for item in inputs_of(rule.get("type", "")):
            if item.key in REQUIRED and (rule["type"], item.key) not in _NOT_REQUIRED and item.key not in rule:
                rule[item.key] = "…"
        shown.append(rule)
    return shown


# ------------------------------------------------------------------------------ problems in words

_NAMES = {"min_quantity": "The quantity", "max_shipping": "The shipping limit", "max_applications": "The limit",
          "usage_limit": "The usage limit", "count": "The number of codes", "percent": "The percentage",
          "amount": "The amount", "quantity": "The quantity", "products": "Products", "variants": "Variants",
          "categories": "Categories", "group": "The shopper group", "product": "A product", "variant": "A variant",
          "category": "A category", "priority": "Priority", "unit_price": "The price", "code": "A code"}
_WHOLE_MESSAGES = {
    "name": "A name is required (at most 200 characters)",
    "lines": "Enter at least one cart line (a product and its price)",
    "customer.email": "This is not an email address",
    "customer.groups": "Shopper groups are names separated by commas",
    "customer.orders_count": "Previous orders is a whole number, 0 or more",
}


def said(problem: Problem) -> str:
    """The domain's message for a person: "The quantity is a whole number…" for "min_quantity is…"."""
    field, message = problem.field, problem.message
    if "store credit" in message:
        return "Store credit belongs to a customer: enter their email"
    if field in _WHOLE_MESSAGES:
        return _WHOLE_MESSAGES[field]
    if field.endswith(".type"):
        return "Choose a type from the list"
    if message.startswith("an amount is a decimal string"):
        return "Enter an amount such as 12.50"
    if field == "ends_at" and "after" in message:
        return "The end must be after the start"
    if field in ("starts_at", "ends_at"):
        return "Enter a date and a time"
    head, _, rest = message.partition(" ")
    if head in _NAMES and rest:
        message = f"{_NAMES[head]} {rest}"
    return message[:1].upper() + message[1:]


def problems_by_field(problems: list[Problem]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for problem in problems:
        shown.setdefault(problem.field, said(problem))
    return shown


def row_problems(problem_at: dict[str, str], base: str, kind: str) -> tuple[bool, list[str]]:
    """Whether a row has a problem, and those of its problems no input of its type shows (the row's
    own, or a "buy" set's), to show at the top of the row."""
    own = [field for field in problem_at if field == base or field.startswith(f"{base}.")]
    shown = {f"{base}.type"} | {f"{base}.{item.key}" for item in inputs_of(kind)}
    return bool(own), [problem_at[field] for field in own if field not in shown]


_ROW_PROBLEM = re.compile(r"(conditions|actions)\[(\d+)\](?:\.(.+))?")


def where(field: str, rows: dict | None = None) -> str:
    """Where a problem is, for the list at the top of the editor: "Action 1 · Percent off"."""
    found = _ROW_PROBLEM.fullmatch(field)
    if not found:
        return {"name": "Name", "priority": "Priority", "exclusive": "Exclusive", "starts_at": "Starts",
                "ends_at": "Ends", "conditions": "Conditions", "actions": "Actions"}.get(field, "")
    section, index, key = found[1], int(found[2]), found[3] or ""
    place = f"{'Condition' if section == 'conditions' else 'Action'} {index + 1}"
    in_section = (rows or {}).get(section, [])
    kind = in_section[index].get("type", "") if index < len(in_section) else ""
    label = next((f"{title} {item.label.lower()}" if title and item.key.startswith(("buy.", "get."))
                  else item.label for title, group in INPUTS.get(kind, ()) for item in group if item.key == key), "")
    return f"{place} · {label}" if label else place


# ------------------------------------------------------------------------------ coupons

def coupon_dict(form) -> dict:
    """The coupon form as `POST /api/v1/promotions/<id>/coupons` takes it: a typed code, or a count
    to generate (both or neither goes to the domain as given, which says to pick one)."""
    data: dict = {"once_per_customer": form.get("once_per_customer") == "1"}
    if form.get("code", "").strip():
        data["code"] = form["code"].strip()
    if form.get("count", "").strip():
        data["count"] = _whole(form["count"])
    if form.get("usage_limit", "").strip():
        data["usage_limit"] = _whole(form["usage_limit"])
    return data


# ------------------------------------------------------------------------------ the simulator's cart

LINE_KEYS = ("product", "variant", "categories", "quantity", "unit_price")
LINE_KEY = re.compile(r"lines\[(\d{1,3})\]\.(product|variant|categories|quantity|unit_price)")
LINE_COMMAND = re.compile(r"add-line|remove-line-(\d{1,3})")
START_LINES, MAX_PAGE_LINES = 3, 50


def blank_line() -> dict:
    return {"product": "", "variant": "", "categories": "", "quantity": "1", "unit_price": ""}


def blank_cart() -> dict:
    return {"lines": [blank_line() for _ in range(START_LINES)], "shipping": "", "email": "", "groups": "",
            "orders_count": "", "codes": "", "gift_cards": "", "store_credit": False}


def cart_submitted(form) -> dict:
    found: dict[int, dict] = {}
    for key in form:
        named = LINE_KEY.fullmatch(key)
        if named:
            found.setdefault(int(named[1]), blank_line())[named[2]] = form.get(key, "")
    return {"lines": [found[index] for index in sorted(found)], "shipping": form.get("shipping.price", ""),
            "email": form.get("customer.email", ""), "groups": form.get("customer.groups", ""),
            "orders_count": form.get("customer.orders_count", ""), "codes": form.get("codes", ""),
            "gift_cards": form.get("gift_cards", ""), "store_credit": form.get("store_credit") == "1"}


def cart_edited(cart: dict, command: str) -> dict:
    lines = list(cart["lines"])
    wanted = LINE_COMMAND.fullmatch(command)
    if wanted and wanted[1] is None and len(lines) < MAX_PAGE_LINES:
        lines.append(blank_line())
    elif wanted and wanted[1] is not None and int(wanted[1]) < len(lines):
        del lines[int(wanted[1])]
    return {**cart, "lines": lines}


def checkout_dict(cart: dict, currency: str) -> tuple[dict, list[int]]:
    """The cart as `POST /api/v1/checkout/price` takes it, and for each of its lines the row on the
    page it came from (rows left empty are not lines)."""
    lines, rows = [], []
    for index, line in enumerate(cart["lines"]):
        if not any(line[key].strip() for key in ("product", "variant", "categories", "unit_price")):
            continue
        rows.append(index)
        lines.append({"id": str(index + 1), "product": line["product"].strip(),
                      "variant": line["variant"].strip() or None, "categories": split_list(line["categories"]),
                      "quantity": _whole(line["quantity"] or "1"), "unit_price": line["unit_price"].strip() or None})
    customer: dict = {"groups": split_list(cart["groups"])}
    if cart["email"].strip():
        customer["email"] = cart["email"].strip()
    if cart["orders_count"].strip():
        customer["orders_count"] = _whole(cart["orders_count"])
    data = {"currency": currency, "customer": customer, "lines": lines, "codes": split_list(cart["codes"]),
            "gift_cards": split_list(cart["gift_cards"]), "store_credit": cart["store_credit"]}
    if cart["shipping"].strip():
        data["shipping"] = {"price": cart["shipping"].strip()}
    return data, rows


_LINE_PROBLEM = re.compile(r"lines\[(\d+)\](.*)")


def on_page(problem: Problem, rows: list[int]) -> Problem:
    """A checkout problem named by the input on the page: lines by their row, a gift card's by the
    gift card field."""
    found = _LINE_PROBLEM.fullmatch(problem.field)
    if found and int(found[1]) < len(rows):
        return Problem(f"lines[{rows[int(found[1])]}]{found[2]}", problem.message)
    if problem.field.startswith("gift_cards["):
        return Problem("gift_cards", problem.message)
    return problem
