"""A bundle as the API gives it (`POST /api/v1/bundles`): a set of products or variants with
quantities sold together at `percent` or `amount` off per complete set. Parsed into the engine's
"bundle" action, or problems naming the field. Pure."""
from __future__ import annotations

from dataclasses import dataclass, field

from webapp.promotions.engine import Rule
from webapp.promotions.money import parse_amount
from webapp.promotions.promotion_input import Problem, parse_common, parse_percent

FIELDS = ("name", "items", "percent", "amount", "priority", "exclusive")
MAX_ITEMS = 20


@dataclass
class BundleInput:
    name: str = ""
    priority: int = 100
    exclusive: bool = False
    action: Rule | None = None
    items: list[dict] = field(default_factory=list)


def parse(data: object, currency: str) -> tuple[BundleInput, list[Problem]]:
    if not isinstance(data, dict):
        return BundleInput(), [Problem("body", "send a JSON object with the bundle's fields")]
    parsed, problems = BundleInput(), []
    parse_common(data, parsed, FIELDS, "bundles", problems)
    parsed.items = _items(data.get("items"), problems)
    discount = _discount(data, currency, problems)
    if discount is not None and parsed.items:
        parsed.action = Rule("bundle", {"items": parsed.items, **discount})
    return parsed, problems


def _items(raw: object, problems: list[Problem]) -> list[dict]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ITEMS:
        problems.append(Problem("items", f"items is a list of 1 to {MAX_ITEMS} products with quantities"))
        return []
    items = []
    for index, item in enumerate(raw):
        here = f"items[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(here, "each item is an object with product, variant (optional) and quantity"))
            continue
        product, variant, quantity = item.get("product"), item.get("variant"), item.get("quantity", 1)
        if not isinstance(product, str) or not product.strip() or len(product) > 200:
            problems.append(Problem(f"{here}.product", "product is required"))
        elif variant is not None and (not isinstance(variant, str) or not variant.strip()):
            problems.append(Problem(f"{here}.variant", "variant is a name, or left out for any variant"))
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 1000:
            problems.append(Problem(f"{here}.quantity", "quantity is a whole number from 1 to 1000"))
        elif (product.strip(), variant.strip() if variant else None) in {(i["product"], i["variant"]) for i in items}:
            problems.append(Problem(f"{here}.product", "this item is in the bundle already: raise its quantity"))
        else:
            items.append({"product": product.strip(), "variant": variant.strip() if variant else None,
                          "quantity": quantity})
    return items


def _discount(data: dict, currency: str, problems: list[Problem]) -> dict | None:
    has_percent, has_amount = data.get("percent") is not None, data.get("amount") is not None
    if has_percent == has_amount:
        problems.append(Problem("percent", "give either percent or amount off each complete set"))
        return None
    if has_percent:
        try:
            return {"percent": parse_percent(data["percent"])}
        except ValueError as error:
            problems.append(Problem("percent", str(error)))
            return None
    try:
        amount = parse_amount(data["amount"], currency)
    except ValueError as error:
        problems.append(Problem("amount", str(error)))
        return None
    if amount <= 0:
        problems.append(Problem("amount", "amount is more than 0"))
        return None
    return {"amount": amount}
