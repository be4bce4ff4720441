"""A campaign as the API and the compose form give it, parsed into checked values or problems
that name the field at fault ("content.fr.subject", "send_window.end"). Pure: no database."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from webapp.campaigns.audience import CHANNELS
from webapp.campaigns.schedule import Window, parse_window
from webapp.campaigns.segment_rules import Problem
from webapp.channels.rate_limit import parse_limits
from webapp.templating import catalog
from webapp.templating.resolve import normalize_locale
from webapp.templating.validate import validate

MAX_NAME = 200
MAX_LOCALES = 30
UTM_KEYS = ("source", "medium", "campaign", "content", "term")
UTM_VALUE = re.compile(r"^[A-Za-z0-9_.\-+]{1,100}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
AB_FIELDS, AB_METRICS = ("subject", "body"), ("opens", "clicks")
FIELDS = ("name", "channel", "segment_id", "content", "send_at", "local_time", "send_window", "rate_limits",
          "sender", "utm", "ab_test")


@dataclass
class CampaignInput:
    name: str = ""
    channel: str = "email"
    segment_id: int | None = None
    content: dict[str, dict[str, str]] = field(default_factory=dict)
    send_at: datetime | None = None
    local_time: bool = False
    send_window: Window | None = None
    rate_limits: list[dict] | None = None
    sender: dict[str, str] | None = None
    utm: dict[str, str] | None = None
    ab_test: dict | None = None


def parse(data: object, store_timezone: str = "UTC") -> tuple[CampaignInput, list[Problem]]:
    """Every field checked; the problems list is empty when the campaign may be saved."""
    if not isinstance(data, dict):
        return CampaignInput(), [Problem("body", "send a JSON object with the campaign's fields")]
    parsed, problems = CampaignInput(), []
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        problems.append(Problem(unknown[0], f"unknown field “{unknown[0]}”; campaigns have {', '.join(FIELDS)}"))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        problems.append(Problem("name", f"name is required, at most {MAX_NAME} characters"))
    else:
        parsed.name = name.strip()
    channel = data.get("channel", "email")
    if channel not in CHANNELS:
        problems.append(Problem("channel", f"channel must be one of {', '.join(CHANNELS)}"))
    else:
        parsed.channel = channel
    segment_id = data.get("segment_id")
    if not isinstance(segment_id, int) or isinstance(segment_id, bool) or segment_id < 1:
        problems.append(Problem("segment_id", "segment_id must be the id of one of the store's segments"))
    else:
        parsed.segment_id = segment_id
    parsed.content = _content(data.get("content"), parsed.channel, problems)
    parsed.send_at = _moment(data.get("send_at"), store_timezone, problems)
    local_time = data.get("local_time", False)
    if not isinstance(local_time, bool):
        problems.append(Problem("local_time", "local_time must be true or false"))
    elif local_time and parsed.send_at is None:
        problems.append(Problem("send_at", "a local-time campaign needs send_at: the hour to send at"))
    else:
        parsed.local_time = local_time
    parsed.send_window, window_problems = parse_window(data.get("send_window"))
    problems += [Problem(name, message) for name, message in window_problems]
    parsed.rate_limits = _rate_limits(data.get("rate_limits"), problems)
    parsed.sender = _sender(data.get("sender"), problems)
    parsed.utm = _utm(data.get("utm"), problems)
    parsed.ab_test = _ab_test(data.get("ab_test"), parsed.content, parsed.channel, problems)
    return parsed, problems


def _content(raw: object, channel: str, problems: list[Problem]) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not raw:
        problems.append(Problem("content", "content must map at least one locale to its subject and body, "
                                           'e.g. {"en": {"subject": "…", "body": "…"}}'))
        return {}
    if len(raw) > MAX_LOCALES:
        problems.append(Problem("content", f"at most {MAX_LOCALES} locales"))
        return {}
    message_type, content = catalog.get("campaign.message"), {}
    for key, fields in raw.items():
        locale = normalize_locale(key) if isinstance(key, str) else None
        where = f"content.{key}"
        if not locale or not LOCALE.match(locale):
            problems.append(Problem(where, f"“{key}” is not a locale like en or pt-BR"))
            continue
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            problems.append(Problem(where, "each locale maps to {\"subject\": text, \"body\": text}"))
            continue
        fields = {name: value for name, value in fields.items() if channel == "email" or name != "subject"}
        found = validate(message_type, channel, dict(fields), locale=locale)
        problems += [Problem(f"{where}.{problem.field}", problem.message) for problem in found]
        content[locale] = dict(fields)
    return content


def _moment(raw: object, store_timezone: str, problems: list[Problem]) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        problems.append(Problem("send_at", "send_at must be a date and time like 2026-12-24T09:00 (the store's "
                                           "timezone unless it names an offset)"))
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(store_timezone))
    return moment.astimezone(UTC)


def _rate_limits(raw: object, problems: list[Problem]) -> list[dict] | None:
    if raw in (None, []):
        return None
    limits, found = parse_limits(raw)
    problems += [Problem("rate_limits", message) for message in found]
    return [{"per": limit.per, "limit": limit.limit} for limit in limits] if not found else None


def _sender(raw: object, problems: list[Problem]) -> dict[str, str] | None:
    if raw in (None, {}):
        return None
    if not isinstance(raw, dict):
        problems.append(Problem("sender", "sender must be an object with name and reply_to"))
        return None
    sender = {}
    name, reply_to = raw.get("name"), raw.get("reply_to")
    if name not in (None, ""):
        if not isinstance(name, str) or len(name) > 100 or any(c in name for c in "\r\n<>\""):
            problems.append(Problem("sender.name", "sender.name must be one line of at most 100 characters"))
        else:
            sender["name"] = name.strip()
    if reply_to not in (None, ""):
        if not isinstance(reply_to, str) or not EMAIL.match(reply_to.strip()) or len(reply_to) > 254:
            problems.append(Problem("sender.reply_to", "sender.reply_to must be an email address"))
        else:
            sender["reply_to"] = reply_to.strip()
    return sender or None


def _utm(raw: object, problems: list[Problem]) -> dict[str, str] | None:
    if raw in (None, {}):
        return None
    if not isinstance(raw, dict):
        problems.append(Problem("utm", f"utm must be an object with any of {', '.join(UTM_KEYS)}"))
        return None
    utm = {}
    for key, value in raw.items():
        if key not in UTM_KEYS:
            problems.append(Problem(f"utm.{key}", f"utm takes {', '.join(UTM_KEYS)}"))
        elif value not in (None, ""):
            if not isinstance(value, str) or not UTM_VALUE.match(value):
                problems.append(Problem(f"utm.{key}", "letters, digits, - _ . + only, at most 100"))
            else:
                utm[key] = value
    return utm or None


def _ab_test(raw: object, content: dict, channel: str, problems: list[Problem]) -> dict | None:
    if raw in (None, {}):
        return None
    if not isinstance(raw, dict):
        problems.append(Problem("ab_test", "ab_test must be an object"))
        return None
    test_field, metric = raw.get("field", "subject"), raw.get("metric", "opens")
    sample, wait = raw.get("sample_percent", 10), raw.get("wait_minutes", 60)
    if test_field not in AB_FIELDS:
        problems.append(Problem("ab_test.field", "ab_test.field is subject or body"))
    elif test_field == "subject" and channel != "email":
        problems.append(Problem("ab_test.field", f"{channel} messages have no subject: test the body"))
    if metric not in AB_METRICS:
        problems.append(Problem("ab_test.metric", "ab_test.metric is opens or clicks"))
    if not isinstance(sample, int) or isinstance(sample, bool) or not 1 <= sample <= 50:
        problems.append(Problem("ab_test.sample_percent",
                                "sample_percent is a whole number from 1 to 50 (each variant)"))
    if not isinstance(wait, int) or isinstance(wait, bool) or not 1 <= wait <= 7 * 24 * 60:
        problems.append(Problem("ab_test.wait_minutes", "wait_minutes is a whole number from 1 to 10080"))
    b = raw.get("b")
    if not isinstance(b, dict) or not all(isinstance(v, str) and v.strip() for v in b.values()):
        problems.append(Problem("ab_test.b", "ab_test.b maps each locale to variant B's text"))
        return None
    b = {normalize_locale(key) or key: value for key, value in b.items()}
    missing = sorted(set(content) - set(b))
    if missing:
        problems.append(Problem("ab_test.b", f"variant B needs a {test_field} for {', '.join(missing)} too"))
    return {"field": test_field, "metric": metric, "sample_percent": sample, "wait_minutes": wait, "b": b}
