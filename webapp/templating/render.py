"""Rendering merchant-written message templates: sandboxed, bounded, and formatted for the customer.

Templates come from merchants (and, through the API, from their systems), so the environment gives
them data and nothing else:
- values are read by key only: no attribute of any object is reachable, so `__class__`, `__globals__`,
  methods such as `format` or `items`, and `attr()` or subscript spellings of them all fail;
- no globals but a bounded `range`, and only the filters listed in FILTERS;
- `*`, `**`, `%`, `+` and `~` are checked so no expression builds a huge string or number;
- output is capped per channel and a render that runs past its time budget is stopped.
Values from orders and customers are data: they are never parsed as template code, and in HTML
they are escaped.

Money, numbers and dates are formatted with Babel for the customer's locale, the store's currency
and the store's time zone (`{{ order.total | money }}`, `{{ order.created_at | date }}`).
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import StrictUndefined, TemplateError, pass_context
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_RANGE = 200  # items a template's range() may produce
MAX_RANGE_TOTAL = 2_000  # items all range() calls of one render may produce together
MAX_STRING = 20_000  # characters one expression may build
MAX_NUMBER = 10**12
OUTPUT_LIMITS = {"email": 256 * 1024, "sms": 2_000, "whatsapp": 4_096, "push": 2_000, "in_app": 8_000,
                 "ops": 8_000}
# A render using more CPU time than this is stopped. CPU time, not wall time: on a busy machine a
# descheduled worker must not fail an ordinary message as "too slow".
RENDER_SECONDS = 0.25
# C0 and C1 controls and the bidi overrides (which could make an SMS read backwards).
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Context keys the filters read; templates may not name them (validation refuses "_" names).
LOCALE_KEY, CURRENCY_KEY, TIMEZONE_KEY = "_locale", "_currency", "_timezone"


class TemplateRenderError(ValueError):
    """A template failed to compile or render; the message says where and why."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


class TemplateTooLarge(TemplateRenderError):
    pass


_budget = threading.local()  # range() items left, and the deadline, of the render running on this thread
MAX_ITERATIONS = 20_000  # loop steps over data one render may take


class DataList(list):
    """A list of template data (order lines, cart lines) whose iteration counts against the render's
    allowance and deadline, so nested loops over data cannot run away."""

    def __iter__(self):
        for item in super().__iter__():
            _budget.steps = getattr(_budget, "steps", MAX_ITERATIONS) - 1
            if _budget.steps < 0:
                raise SecurityError(f"the template's loops would run more than {MAX_ITERATIONS:,} times")
            if time.thread_time() > getattr(_budget, "deadline", float("inf")):
                raise SecurityError("the template took too long to render")
            yield item


def _bounded_range(*args):
    if len(args) > 3 or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise SecurityError("range() takes up to three whole numbers")
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range() may produce at most {MAX_RANGE} items")
    # Nested loops call range() once per outer item: the whole render shares one allowance.
    _budget.left = getattr(_budget, "left", MAX_RANGE_TOTAL) - len(values)
    if _budget.left < 0:
        raise SecurityError(f"the template's loops would run more than {MAX_RANGE_TOTAL:,} times")
    return values


def _size(value) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


LOOP_ATTRIBUTES = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length"})


class MessageEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def is_safe_attribute(self, obj, attr, value) -> bool:
        # Data is read by key (order.number is order["number"]); of objects, only the loop's counters.
        return isinstance(obj, LoopContext) and attr in LOOP_ATTRIBUTES

    def getattr(self, obj, attribute):
        if isinstance(obj, Mapping):  # a key named like a dict method ("items") is still the key
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        if isinstance(obj, LoopContext) and attribute in LOOP_ATTRIBUTES:
            return getattr(obj, attribute)
        return self.unsafe_undefined(obj, attribute)

    def getitem(self, obj, argument):
        if isinstance(obj, Mapping):
            return obj[argument] if argument in obj else self.undefined(obj=obj, name=argument)
        if isinstance(obj, list | tuple | str) and isinstance(argument, int | slice):
            return super().getitem(obj, argument)
        return self.unsafe_undefined(obj, str(argument))

    def is_safe_callable(self, obj) -> bool:
        return obj is _bounded_range

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponents above 64 are not allowed")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not available; put the values in the text")
        if operator == "*":
            count = right if isinstance(left, str | list | tuple) else left
            item = left if isinstance(left, str | list | tuple) else right
            limit = MAX_RANGE if isinstance(item, list | tuple) else MAX_STRING
            if _size(item) and isinstance(count, int) and _size(item) * max(count, 0) > limit:
                raise SecurityError(f"that would build a value longer than {limit} items")
        if operator == "+" and _size(left) + _size(right) > MAX_STRING:
            raise SecurityError(f"that would build a value longer than {MAX_STRING} characters")
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, int | float) and not isinstance(result, bool) and abs(result) > MAX_NUMBER:
            raise SecurityError("that number is too large")
        return result


def _locale(context) -> Locale:
    return _parse_locale(context.get(LOCALE_KEY) or "en")


@lru_cache(maxsize=64)
def _parse_locale(code: str) -> Locale:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@pass_context
def money(context, value, currency: str | None = None):
    amount = _number(value)
    if amount is None:
        return "" if value is None else str(value)
    code = (currency or context.get(CURRENCY_KEY) or "USD").upper()
    return _currency(amount, code, context.get(LOCALE_KEY) or "en")


@lru_cache(maxsize=4096)
def _currency(amount: float, code: str, locale: str) -> str:
    # Babel takes ~25 µs per amount; a shop's messages repeat the same few amounts and locales.
    try:
        return format_currency(amount, code, locale=_parse_locale(locale))
    except (ValueError, KeyError):  # an unknown currency code is shown as given
        return f"{amount:.2f} {code}"


@pass_context
def number(context, value, digits: int | None = None):
    amount = _number(value)
    if amount is None:
        return "" if value is None else str(value)
    pattern = None if digits is None else "#,##0." + "0" * max(0, min(int(digits), 6)) if digits else "#,##0"
    return format_decimal(amount, format=pattern, locale=_locale(context))


def _moment(context, value):
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        try:
            zone = ZoneInfo(context.get(TIMEZONE_KEY) or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return value.astimezone(zone) if value.tzinfo else value
    return value if isinstance(value, date) else None


@pass_context
def date_filter(context, value, style: str = "medium"):
    moment = _moment(context, value)
    if moment is None:
        return "" if value is None else str(value)
    style = style if style in ("short", "medium", "long", "full") else "medium"
    return format_date(moment, format=style, locale=_locale(context))


@pass_context
def datetime_filter(context, value, style: str = "medium"):
    moment = _moment(context, value)
    if not isinstance(moment, datetime):
        return date_filter(context, value, style)
    style = style if style in ("short", "medium", "long", "full") else "medium"
    return format_datetime(moment, format=style, locale=_locale(context))


def _join(value, separator: str = ""):
    text = str(separator).join(str(item) for item in list(value)[:MAX_RANGE])
    if len(text) > MAX_STRING:
        raise SecurityError(f"that would build a value longer than {MAX_STRING} characters")
    return text


def _replace(value, old: str, new: str, count: int | None = None):
    text = str(value)
    if old and text.count(str(old)) * max(len(str(new)) - len(str(old)), 0) + len(text) > MAX_STRING:
        raise SecurityError(f"that would build a value longer than {MAX_STRING} characters")
    return text.replace(str(old), str(new), -1 if count is None else int(count))


SAFE_JINJA_FILTERS = ("default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "length",
                      "count", "first", "last", "round", "int", "abs", "escape", "e", "striptags", "urlencode",
                      "sum", "min", "max", "wordcount")
FILTERS = {name: JINJA_FILTERS[name] for name in SAFE_JINJA_FILTERS} | {
    "money": money, "number": number, "date": date_filter, "datetime": datetime_filter, "join": _join,
    "replace": _replace,
}


@lru_cache(maxsize=2)
def environment(autoescape: bool) -> MessageEnvironment:
    env = MessageEnvironment(autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters = dict(FILTERS)
    env.globals = {"range": _bounded_range}
    return env


@lru_cache(maxsize=1024)
def compile_template(source: str, html: bool):
    """Compiled once per distinct source (the cache is keyed by the text itself, so an edited
    template is a new entry and an unchanged one is never compiled twice)."""
    try:
        return environment(html).from_string(source)
    except TemplateError as error:
        raise _error(error) from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as error:  # absurdly nested sources
        raise TemplateRenderError(f"the template is too deeply nested ({type(error).__name__})") from None


def render(source: str, context: dict, *, html: bool = False, channel: str = "email",
           limit: int | None = None, seconds: float = RENDER_SECONDS) -> str:
    """`source` rendered with `context`; raises TemplateRenderError (TemplateTooLarge past the
    channel's output limit or the time budget). Text channels lose control characters."""
    template = compile_template(source, html)
    cap = limit or OUTPUT_LIMITS.get(channel, 8_000)
    deadline = time.thread_time() + seconds
    parts, size = [], 0
    _budget.left, _budget.steps, _budget.deadline = MAX_RANGE_TOTAL, MAX_ITERATIONS, deadline
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > cap:
                raise TemplateTooLarge(f"the message would be longer than {cap:,} characters")
            if time.thread_time() > deadline:
                raise TemplateTooLarge(f"the template took longer than {seconds:g} s to render")
            parts.append(chunk)
    except TemplateRenderError:
        raise
    except SecurityError as error:
        raise TemplateRenderError(f"not allowed in a template: {error}") from None
    except TemplateError as error:
        raise _error(error) from None
    except Exception as error:  # any failure of a merchant's template is that template's error, never a 500
        raise TemplateRenderError(f"the template could not be rendered: {type(error).__name__}: "
                                  f"{str(error)[:200]}") from None
    finally:
        _budget.deadline = float("inf")
    text = "".join(parts).strip()
    return text if html else CONTROL_CHARS.sub("", text)


def _error(error: TemplateError) -> TemplateRenderError:
    line = getattr(error, "lineno", None)
    where = f" on line {line}" if line else ""
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, SecurityError):
        return TemplateRenderError(f"not allowed in a template: {message}", line)
    return TemplateRenderError(f"{message}{where}", line, 1 if line else None)
