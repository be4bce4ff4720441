"""The compose form of a campaign, to and from the fields the API takes (campaign_input.parse
checks both the same way): per-language content, sender, UTM, A/B test, a per-minute limit and
a send window."""
from __future__ import annotations

from collections.abc import Mapping

from webapp.campaigns.schedule import DAY_NAMES

MAX_LANGUAGES = 6


def blank(default_locale: str) -> dict:
    return {"name": "", "channel": "email", "segment_id": "", "languages": [
        {"locale": default_locale, "subject": "", "body": ""}], "reply_to": "", "utm_source": "",
        "utm_medium": "", "utm_campaign": "", "ab_enabled": False, "ab_field": "subject", "ab_b": "",
        "ab_sample": "10", "ab_wait": "60", "ab_metric": "opens", "per_minute": "", "window_enabled": False,
        "window_days": [0, 1, 2, 3, 4], "window_start": "09:00", "window_end": "18:00"}


def from_campaign(campaign) -> dict:
    state = blank("en")
    ab, window = campaign.ab_test or {}, campaign.send_window or {}
    per_minute = next((str(limit["limit"]) for limit in campaign.rate_limits or [] if limit["per"] == "minute"), "")
    first_locale = next(iter(campaign.content), "en")
    state.update({
        "name": campaign.name, "channel": campaign.channel, "segment_id": str(campaign.segment_id or ""),
        "languages": [{"locale": locale, "subject": fields.get("subject", ""), "body": fields.get("body", "")}
                      for locale, fields in campaign.content.items()],
        "reply_to": (campaign.sender or {}).get("reply_to", ""),
        **{f"utm_{key}": (campaign.utm or {}).get(key, "") for key in ("source", "medium", "campaign")},
        "ab_enabled": bool(ab), "ab_field": ab.get("field", "subject"),
        "ab_b": (ab.get("b") or {}).get(first_locale, ""),
        "ab_sample": str(ab.get("sample_percent", 10)), "ab_wait": str(ab.get("wait_minutes", 60)),
        "ab_metric": ab.get("metric", "opens"), "per_minute": per_minute, "window_enabled": bool(window),
        "window_days": window.get("days", [0, 1, 2, 3, 4]), "window_start": window.get("start", "09:00"),
        "window_end": window.get("end", "18:00")})
    return state


def submitted(form: Mapping) -> dict:
    """The form as typed, kept to show again beside any problem."""
    languages = []
    for index in range(MAX_LANGUAGES):
        locale = (form.get(f"locale-{index}") or "").strip()
        subject, body = form.get(f"subject-{index}") or "", form.get(f"body-{index}") or ""
        if locale or subject.strip() or body.strip():
            languages.append({"locale": locale, "subject": subject, "body": body})
    return {"name": form.get("name", ""), "channel": form.get("channel", "email"),
            "segment_id": form.get("segment_id", ""), "languages": languages or [{"locale": "", "subject": "",
                                                                                  "body": ""}],
            "reply_to": form.get("reply_to", ""), "utm_source": form.get("utm_source", ""),
            "utm_medium": form.get("utm_medium", ""), "utm_campaign": form.get("utm_campaign", ""),
            "ab_enabled": form.get("ab_enabled") == "on", "ab_field": form.get("ab_field", "subject"),
            "ab_b": form.get("ab_b", ""), "ab_sample": form.get("ab_sample", "10"),
            "ab_wait": form.get("ab_wait", "60"), "ab_metric": form.get("ab_metric", "opens"),
            "per_minute": form.get("per_minute", ""), "window_enabled": form.get("window_enabled") == "on",
            "window_days": [int(d) for d in form.getlist("window_days") if d.isdigit()] if hasattr(form, "getlist")
            else [], "window_start": form.get("window_start", "09:00"), "window_end": form.get("window_end", "18:00")}


def as_input(state: dict, keep: Mapping | None = None, previous: Mapping | None = None) -> dict:
    """The API's fields from the form's state. `keep` carries fields the form does not show
    (send_at, local_time: set when sending); `previous` (an edit) keeps what the form has no input
    for: the sender's name, utm_content and utm_term, per-second and per-day limits, and variant B
    in the languages after the first."""
    before = dict(previous or {})
    content = {row["locale"]: {"subject": row["subject"], "body": row["body"]} if state["channel"] == "email"
               else {"body": row["body"]} for row in state["languages"] if row["locale"]}
    data = {"name": state["name"], "channel": state["channel"], "segment_id": _number(state["segment_id"]),
            "content": content or {"": {}}, **dict(keep or {})}
    sender = {**(before.get("sender") or {}), "reply_to": state["reply_to"].strip()}
    if any(sender.values()):
        data["sender"] = {key: value for key, value in sender.items() if value}
    shown = ("source", "medium", "campaign")
    utm = {key: value for key, value in (before.get("utm") or {}).items() if key not in shown}
    utm |= {key: state[f"utm_{key}"].strip() for key in shown if state[f"utm_{key}"].strip()}
    if utm:
        data["utm"] = utm
    if state["ab_enabled"]:
        earlier_b = (before.get("ab_test") or {}).get("b") or {}
        locales = [row["locale"] for row in state["languages"] if row["locale"]]
        data["ab_test"] = {"field": state["ab_field"], "metric": state["ab_metric"],
                           "sample_percent": _number(state["ab_sample"]), "wait_minutes": _number(state["ab_wait"]),
                           "b": {locale: state["ab_b"] if index == 0 else earlier_b.get(locale) or state["ab_b"]
                                 for index, locale in enumerate(locales)}}
    limits = [limit for limit in before.get("rate_limits") or [] if limit.get("per") != "minute"]
    if state["per_minute"].strip():
        limits.append({"per": "minute", "limit": _number(state["per_minute"])})
    if limits:
        data["rate_limits"] = limits
    if state["window_enabled"]:
        data["send_window"] = {"days": state["window_days"], "start": state["window_start"],
                               "end": state["window_end"]}
    return data


def problems_by_field(problems) -> dict[str, str]:
    """The first message per form field; content.<locale>.<field> lands on that language's row."""
    found: dict[str, str] = {}
    for problem in problems:
        found.setdefault(problem.field, problem.message)
    return found


def _number(value: str):
    text = str(value or "").strip()
    return int(text) if text.isdigit() else (text or None)


DAYS = list(enumerate(DAY_NAMES))
