"""Customer Notifications rules as plain data: the full rule matrix, parsing the settings
form, diffing saved against submitted state, and finding the rule an event matches.

No Flask, no database: views and jobs convert to and from these dataclasses.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from webapp import vocabulary


class RuleFormError(ValueError):
    """The submitted settings form does not describe valid rules."""


@dataclass(frozen=True, order=True)
class RuleKey:
    kind: str  # vocabulary.ORDER or vocabulary.INVOICE
    source: str
    status: str

    @property
    def field(self) -> str:
        """Prefix of this rule's form fields, e.g. ``order:shopify:delivered``."""
        return f"{self.kind}:{self.source}:{self.status}"

    @property
    def label(self) -> str:
        return f"{vocabulary.source_label(self.source)} · {vocabulary.status_label(self.kind, self.status)}"


@dataclass(frozen=True)
class RuleState:
    active: bool = False
    channels: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> dict:
        return {"active": self.active, "channels": sorted(self.channels)}


@dataclass(frozen=True)
class RuleChange:
    key: RuleKey
    old: RuleState
    new: RuleState


def all_rule_keys() -> list[RuleKey]:
    """Every rule a store has, in display order: sources × order statuses, then invoices."""
    keys = [
        RuleKey(vocabulary.ORDER, source.code, status.code)
        for source in vocabulary.ORDER_SOURCES
        for status in vocabulary.ORDER_STATUSES
    ]
    keys += [
        RuleKey(vocabulary.INVOICE, vocabulary.INVOICE_SOURCE.code, status.code)
        for status in vocabulary.INVOICE_STATUSES
    ]
    return keys


def complete(saved: Mapping[RuleKey, RuleState]) -> dict[RuleKey, RuleState]:
    """The full matrix, with rules never saved shown as inactive with no channels."""
    return {key: saved.get(key, RuleState()) for key in all_rule_keys()}


def parse_rules_form(
    form: Mapping[str, str], channel_codes: Iterable[str], current: Mapping[RuleKey, RuleState]
) -> dict[RuleKey, RuleState]:
    """Turn the settings form into rule states.

    Each rule row posts ``<field>:present``; its checkboxes post ``<field>:active`` and
    ``<field>:<channel>`` only when ticked. A row whose marker is missing keeps its current
    state, so a truncated post can never switch rules off by omission.
    """
    known_keys = {key.field: key for key in all_rule_keys()}
    channel_codes = set(channel_codes)
    submitted: dict[RuleKey, dict] = {}
    for name in form:
        if name in ("csrf_token",):
            continue
        prefix, _, part = name.rpartition(":")
        key = known_keys.get(prefix)
        if key is None or (part not in ("present", "active") and part not in channel_codes):
            raise RuleFormError(f"Unknown field “{name}” in the submitted form.")
        entry = submitted.setdefault(key, {"present": False, "active": False, "channels": set()})
        if part == "present":
            entry["present"] = True
        elif part == "active":
            entry["active"] = True
        else:
            entry["channels"].add(part)

    result = complete(current)
    for key, entry in submitted.items():
        if not entry["present"]:
            raise RuleFormError(f"The row for {key.label} was only partly submitted; nothing was saved.")
        result[key] = RuleState(active=entry["active"], channels=frozenset(entry["channels"]))
    return result


def diff_rules(
    saved: Mapping[RuleKey, RuleState], submitted: Mapping[RuleKey, RuleState]
) -> list[RuleChange]:
    saved = complete(saved)
    return [
        RuleChange(key, saved[key], submitted[key])
        for key in all_rule_keys()
        if key in submitted and submitted[key] != saved[key]
    ]


def matching_rule(
    rules: Mapping[RuleKey, RuleState], kind: str, source: str, status: str
) -> RuleState | None:
    """The active rule for an event, or None when no rule should fire."""
    if kind == vocabulary.INVOICE:
        source = vocabulary.INVOICE_SOURCE.code
    state = rules.get(RuleKey(kind, source, status))
    if state is None or not state.active or not state.channels:
        return None
    return state
