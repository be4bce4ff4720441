"""Creating and updating many customers at once, as a CSV import or an API call states them.

Each row finds its customer by its external id (under its source, "import" or "api"), else by
email, else by phone (only a customer with no other email, since a shared family phone is not
the same person); a later row for the same customer updates what an earlier one created. The
store's matching customers are read in a few queries (IN lists, by the indexed columns) and
written in bulk: no SELECT per row. Nothing here commits: the caller owns the transaction.

Events from the shops keep using webapp/customers/upsert.py, one customer at a time.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update

from webapp.customers.fields import CustomerRow
from webapp.customers.models import Customer
from webapp.timeutil import utcnow

IN_CHUNK = 1000
# External ids live in JSON, which no index serves: past this many, one scan of the store's
# customers with an id of that source beats an IN list per chunk (each of which scans too).
SCAN_EXTERNAL_IDS_OVER = 2000
INSERT_CHUNK = 5000
SCALARS = ("email", "phone", "name", "locale", "timezone", "country")
_COLUMNS = (Customer.id, Customer.name, Customer.email, Customer.phone, Customer.locale, Customer.timezone,
            Customer.country, Customer.groups, Customer.tags, Customer.external_ids)


@dataclass
class _Target:
    """One customer the batch writes: an existing one (id set, `before` its stored values) or a new one."""

    values: dict
    id: int | None = None
    before: dict | None = None

    def changed(self) -> bool:
        return self.before is not None and self.values != self.before


@dataclass(frozen=True)
class UpsertResult:
    customer_ids: list[int]  # the customer of each row, in the rows' order
    created_ids: frozenset[int]
    updated: int  # existing customers whose data changed
    addresses: dict[int, tuple[str | None, str | None]]  # id -> (email, phone) after the writes

    @property
    def created(self) -> int:
        return len(self.created_ids)


def upsert_customers(session, store_id: int, default_locale: str, rows: Sequence[CustomerRow], source: str, *,
                     match_phone: bool = True, replace_labels: bool = False) -> UpsertResult:
    """Write the rows. Groups and tags are added to the customer's own, or with replace_labels
    (the API, which states the whole list) replace them; fields a row leaves out stay as they are."""
    loaded, (by_ext, by_email, by_phone) = _existing(session, store_id, rows, source, match_phone)
    new: list[_Target] = []
    row_targets: list[_Target] = []
    for row in rows:
        target = _find(row, by_ext, by_email, by_phone if match_phone else {})
        if target is None:
            target = _Target(_blank(default_locale))
            new.append(target)
        _merge(target.values, row, source, replace_labels)
        _index(target, row.external_id, by_ext, by_email, by_phone)
        row_targets.append(target)
    now = utcnow()
    _insert(session, store_id, new, now)
    changed = [target for target in loaded.values() if target.changed()]
    if changed:
        session.execute(update(Customer), [{"id": t.id, **t.values, "updated_at": now} for t in changed])
    touched = {t.id: t for t in row_targets}
    return UpsertResult([t.id for t in row_targets], frozenset(t.id for t in new), len(changed),
                        {i: (t.values["email"], t.values["phone"]) for i, t in touched.items()})


def literal_list(values: list):
    """An IN list written into the SQL (quoted by the dialect) rather than as 1,000 parameters.
    PostgreSQL drivers prepare a statement that runs often, and a prepared (generic) plan compares
    each row with every parameter in turn; with the values in the text it hashes them instead:
    that is the difference between 40 s and 4 minutes for a 100,000-row re-import."""
    return bindparam("keys", values, expanding=True, literal_execute=True)


def _blank(default_locale: str) -> dict:
    return {"email": None, "phone": None, "name": "", "locale": default_locale, "timezone": None, "country": None,
            "groups": [], "tags": [], "external_ids": {}}


def _existing(session, store_id: int, rows: Sequence[CustomerRow], source: str, match_phone: bool):
    """The store's customers any row may mean, keyed by external id, email and phone; one _Target each."""
    targets: dict[int, _Target] = {}
    scope = (Customer.store_id == store_id, Customer.erased_at.is_(None))

    def load(column, values: set[str], scan: bool = False) -> dict[str, _Target]:
        found: dict[str, _Target] = {}
        ordered = sorted(values)
        chunks = [None] if scan else [ordered[start:start + IN_CHUNK] for start in range(0, len(ordered), IN_CHUNK)]
        for chunk in chunks:
            match = column.is_not(None) if chunk is None else column.in_(literal_list(chunk))
            for key, *stored in session.execute(select(column, *_COLUMNS).where(*scope, match).order_by(Customer.id)):
                if key in values:
                    target = targets.get(stored[0]) or _loaded(targets, stored)
                    found.setdefault(key, target)  # several with one email: the oldest
        return found

    by_ext = load(Customer.external_ids[source].as_string(), {row.external_id for row in rows if row.external_id},
                  scan=sum(1 for row in rows if row.external_id) > SCAN_EXTERNAL_IDS_OVER)
    by_email = load(Customer.email, {row.email for row in rows if row.email})
    # Only rows their external id and email did not place may be found by phone: on a re-import
    # that is none, so nobody is read twice.
    phones = {row.phone for row in rows if row.phone and row.external_id not in by_ext and row.email not in by_email}
    keyed = (by_ext, by_email, load(Customer.phone, phones) if match_phone else {})
    return targets, keyed


def _loaded(targets: dict[int, _Target], stored: list) -> _Target:
    customer_id, name, email, phone, locale, timezone, country, groups, tags, external_ids = stored
    values = {"email": email, "phone": phone, "name": name or "", "locale": locale, "timezone": timezone,
              "country": country, "groups": list(groups or []), "tags": list(tags or []),
              "external_ids": dict(external_ids or {})}
    target = targets[customer_id] = _Target(values, customer_id, {**values})
    return target


def _find(row: CustomerRow, by_ext: dict, by_email: dict, by_phone: dict) -> _Target | None:
    target = by_ext.get(row.external_id) if row.external_id else None
    if target is None and row.email:
        target = by_email.get(row.email)
    if target is None and row.phone:
        candidate = by_phone.get(row.phone)
        if candidate is not None and (row.email is None or candidate.values["email"] is None):
            target = candidate
    return target


def _merge(values: dict, row: CustomerRow, source: str, replace_labels: bool) -> None:
    for name in SCALARS:
        given = getattr(row, name)
        if given is not None:
            values[name] = given
    if row.external_id:
        values["external_ids"] = {**values["external_ids"], source: row.external_id}
    for name in ("groups", "tags"):
        given = getattr(row, name)
        if given is not None:
            values[name] = list(given) if replace_labels else _union(values[name], given)


def _union(mine: list[str], more: Sequence[str]) -> list[str]:
    """Labels added after the customer's own; "vip" is not added again to one who has "VIP"."""
    merged, known = list(mine), {label.casefold() for label in mine}
    for label in more:
        if label.casefold() not in known:
            merged.append(label)
            known.add(label.casefold())
    return merged


def _index(target: _Target, external_id: str | None, by_ext: dict, by_email: dict, by_phone: dict) -> None:
    if external_id:
        by_ext[external_id] = target
    if target.values["email"]:
        by_email.setdefault(target.values["email"], target)
    if target.values["phone"]:
        by_phone.setdefault(target.values["phone"], target)


def _insert(session, store_id: int, new: list[_Target], now) -> None:
    statement = insert(Customer).returning(Customer.id, sort_by_parameter_order=True)
    for start in range(0, len(new), INSERT_CHUNK):
        chunk = new[start:start + INSERT_CHUNK]
        ids = session.scalars(statement, [{"store_id": store_id, **t.values, "muted_topics": [], "created_at": now,
                                           "updated_at": now} for t in chunk]).all()
        for target, customer_id in zip(chunk, ids, strict=True):
            target.id = customer_id
