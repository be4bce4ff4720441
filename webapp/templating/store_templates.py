"""A store's own templates: saving (only what validates), history, restore and reset, and the
overrides planning resolves against. Each change is one transaction with its version row and its
audit entry."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from webapp.audit.models import record
from webapp.extensions import db
from webapp.templating import catalog
from webapp.templating.models import MessageTemplate, MessageTemplateVersion
from webapp.templating.resolve import normalize_locale
from webapp.templating.validate import Problem, validate
from webapp.timeutil import utcnow

Overrides = dict[tuple[str, str, str], dict[str, str]]
SECURITY_REFUSALS = ("not allowed in a template", "“", "Templates cannot call")
log = logging.getLogger(__name__)


class TemplateInvalid(ValueError):
    """The template was not saved; `problems` say why and where."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems[0].message)
        self.problems = problems


@dataclass(frozen=True)
class TemplateKey:
    message_type: str
    channel: str
    locale: str

    @classmethod
    def parse(cls, message_type: str, channel: str, locale: str) -> TemplateKey:
        """The key, checked against the catalog (LookupError for an unknown type, channel or locale)."""
        found = catalog.get(message_type)
        code = normalize_locale(locale)
        if found is None or channel not in found.channels or not code or len(code) > 16:
            raise LookupError((message_type, channel, locale))
        return cls(message_type, channel, code)


def overrides_for(store_id: int) -> Overrides:
    rows = db.session.execute(select(MessageTemplate.message_type, MessageTemplate.channel, MessageTemplate.locale,
                                     MessageTemplate.fields).where(MessageTemplate.store_id == store_id))
    return {(t, c, loc): fields for t, c, loc, fields in rows}


def current(store_id: int, key: TemplateKey) -> MessageTemplate | None:
    return db.session.scalar(select(MessageTemplate).where(
        MessageTemplate.store_id == store_id, MessageTemplate.message_type == key.message_type,
        MessageTemplate.channel == key.channel, MessageTemplate.locale == key.locale))


def save(store_id: int, key: TemplateKey, fields: dict[str, str], user_id: int | None, *,
         sms_segments: Callable[[str], int] | None = None, max_segments: int = 3,
         action: str = "saved") -> MessageTemplate:
    allowed = catalog.CHANNEL_FIELDS[key.channel]
    cleaned = {name: (fields.get(name) or "").replace("\r\n", "\n") for name in allowed if fields.get(name)}
    problems = validate(catalog.get(key.message_type), key.channel, cleaned, sms_segments=sms_segments,
                        max_segments=max_segments, locale=key.locale)
    unknown = sorted(set(fields) - set(allowed))
    problems += [Problem(name, f"{key.channel} templates have no field “{name}”.") for name in unknown]
    if problems:
        refused = [p.message for p in problems if p.message.startswith(SECURITY_REFUSALS)]
        if refused:  # someone tried to reach what templates may not: say who, and in which template
            log.warning("template %s/%s/%s of store %s refused for user %s: %s", key.message_type, key.channel,
                        key.locale, store_id, user_id if user_id is not None else "api", "; ".join(refused))
        raise TemplateInvalid(problems)
    row = current(store_id, key)
    if row is None:
        row = MessageTemplate(store_id=store_id, message_type=key.message_type, channel=key.channel,
                              locale=key.locale, fields=cleaned, version=_next_version(store_id, key))
        db.session.add(row)
    else:
        row.fields, row.version = cleaned, _next_version(store_id, key)
    row.updated_by, row.updated_at = user_id, utcnow()
    _version(store_id, key, row.version, action, cleaned, user_id)
    db.session.commit()
    return row


def reset(store_id: int, key: TemplateKey, user_id: int | None) -> bool:
    """Back to the platform default; False when the store had no template of its own."""
    row = current(store_id, key)
    if row is None:
        return False
    db.session.delete(row)
    _version(store_id, key, _next_version(store_id, key), "reset", None, user_id)
    db.session.commit()
    return True


def history(store_id: int, key: TemplateKey) -> list[MessageTemplateVersion]:
    return list(db.session.scalars(select(MessageTemplateVersion).where(
        MessageTemplateVersion.store_id == store_id, MessageTemplateVersion.message_type == key.message_type,
        MessageTemplateVersion.channel == key.channel, MessageTemplateVersion.locale == key.locale)
        .order_by(MessageTemplateVersion.version.desc())))


def restore(store_id: int, version_id: int, user_id: int | None, **limits) -> MessageTemplate:
    """The store's template becomes that version's fields again (validated like any save)."""
    version = db.session.get(MessageTemplateVersion, version_id)
    if version is None or version.store_id != store_id or version.fields is None:
        raise LookupError(version_id)
    key = TemplateKey(version.message_type, version.channel, version.locale)
    return save(store_id, key, dict(version.fields), user_id, action="restored", **limits)


def _next_version(store_id: int, key: TemplateKey) -> int:
    latest = history(store_id, key)
    return (latest[0].version if latest else 0) + 1


def _version(store_id: int, key: TemplateKey, number: int, action: str, fields: dict | None,
             user_id: int | None) -> None:
    db.session.add(MessageTemplateVersion(store_id=store_id, message_type=key.message_type, channel=key.channel,
                                          locale=key.locale, version=number, action=action, fields=fields,
                                          created_by=user_id))
    record(store_id, user_id, f"template.{action}", f"{key.message_type} · {key.channel} · {key.locale}",
           new={"version": number})
