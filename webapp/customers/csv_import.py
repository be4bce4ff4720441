"""Reading a customer CSV: decoding (UTF-8 with or without BOM, UTF-16, Windows-1252), the delimiter
(comma, semicolon or tab), a guess of which column is which field, a preview of the first rows, and
every row validated into a CustomerRow or an error naming its line. Pure: no database, no Flask.

Line numbers are the file's own (the header is line 1), so a quoted value spanning two lines
moves the next row's number on, as a text editor shows it.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from webapp.customers.fields import (
    CONSENT_CHANNELS,
    CustomerRow,
    FieldError,
    clean_consent,
    clean_country,
    clean_email,
    clean_external_id,
    clean_locale,
    clean_name,
    clean_phone,
    clean_timezone,
    split_labels,
)

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
PREVIEW_ROWS = 5
MAX_ROWS = 200_000
MAX_ERRORS = 200  # kept and shown; past this only the count grows
csv.field_size_limit(1_000_000)  # a notes column may be long; the upload itself is capped

# The fields a column can fill, in the order the mapping selects list them. "" ignores the column.
CONSENT_FIELDS = {f"{channel}_consent": channel for channel in CONSENT_CHANNELS}
FIELDS = {
    "email": "Email", "phone": "Phone", "name": "Name", "first_name": "First name", "last_name": "Last name",
    "external_id": "External id", "locale": "Language", "timezone": "Time zone", "country": "Country",
    "groups": "Groups", "tags": "Tags", "email_consent": "Email consent", "sms_consent": "SMS consent",
    "whatsapp_consent": "WhatsApp consent", "push_consent": "Push consent",
}
# Header spellings seen in exports (Shopify, WooCommerce, spreadsheets), after _normalize().
_ALIASES = {
    "email": ("email", "e_mail", "email_address", "mail", "customer_email"),
    "phone": ("phone", "phone_number", "mobile", "mobile_phone", "mobile_number", "cell", "cell_phone",
              "telephone", "tel", "msisdn", "sms_phone"),
    "name": ("name", "full_name", "customer_name", "display_name"),
    "first_name": ("first_name", "firstname", "given_name", "forename", "first"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "last"),
    "external_id": ("external_id", "customer_id", "id", "crm_id", "external_customer_id"),
    "locale": ("locale", "language", "lang", "language_code"),
    "timezone": ("timezone", "time_zone", "tz"),
    "country": ("country", "country_code", "default_address_country_code", "billing_country"),
    "groups": ("groups", "group", "customer_group", "customer_groups", "shopper_group", "shopper_groups"),
    "tags": ("tags", "tag", "labels"),
    "email_consent": ("email_consent", "accepts_email_marketing", "email_marketing", "email_marketing_consent",
                      "email_opt_in", "accepts_marketing", "newsletter"),
    "sms_consent": ("sms_consent", "accepts_sms_marketing", "sms_marketing", "sms_marketing_consent",
                    "sms_opt_in"),
    "whatsapp_consent": ("whatsapp_consent", "accepts_whatsapp_marketing", "whatsapp_marketing", "whatsapp_opt_in"),
    "push_consent": ("push_consent", "accepts_push_marketing", "push_marketing", "push_opt_in"),
}
_FIELD_OF_ALIAS = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}


class CsvError(ValueError):
    """The file cannot be read as a customer table at all (not the fault of one row)."""


@dataclass(frozen=True)
class RowError:
    line: int
    error: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.error}"

    def as_dict(self) -> dict:
        return {"line": self.line, "error": self.error}


@dataclass(frozen=True)
class Preview:
    headers: list[str]
    rows: list[list[str]]  # the first data rows, each as long as the header
    mapping: dict[str, str]  # column heading -> field ("" when the column is ignored)
    delimiter: str
    total_rows: int


@dataclass
class Validated:
    rows: list[CustomerRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0  # every error, also those past MAX_ERRORS
    total_rows: int = 0


def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-16 when it starts with its BOM (Excel's "Unicode text"),
    else UTF-8 (BOM dropped), else Windows-1252, what Excel on Windows writes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise CsvError("the file is not text in UTF-8 or Windows-1252: save it as “CSV UTF-8” and upload it again") \
            from None


def _normalize(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", heading.strip().lower()).strip("_")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most columns (comma on a tie)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], d == ","))


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, its values), blank lines skipped."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise CsvError(f"line {reader.line_num}: this is not valid CSV ({error}); "
                           "is a quote missing or doubled?") from None
        if any(value.strip() for value in values):
            yield line, values
        line = reader.line_num + 1


def _headers(values: list[str]) -> list[str]:
    headers = []
    for number, value in enumerate(values, start=1):
        heading = " ".join(value.split()) or f"(column {number})"
        if heading in headers:
            raise CsvError(f"line 1: the column “{heading}” appears twice; give every column its own heading")
        headers.append(heading)
    return headers


def _table(text: str) -> tuple[list[str], str, Iterator[tuple[int, list[str]]]]:
    delimiter = sniff_delimiter(text)
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise CsvError("the file is empty: it needs a header line and at least one customer")
    line, values = first
    if line != 1:
        raise CsvError("the first line must be the header (email, phone, name, …): it is empty")
    return _headers(values), delimiter, records


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Each heading's field by its usual names; a field goes to the first column that claims it."""
    mapping, taken = {}, set()
    for heading in headers:
        name = _FIELD_OF_ALIAS.get(_normalize(heading), "")
        if name in taken:
            name = ""
        taken.add(name)
        mapping[heading] = name
    return mapping


def preview(text: str, rows: int = PREVIEW_ROWS) -> Preview:
    """The header, the first rows and the guessed mapping; reads the whole file once to count it."""
    headers, delimiter, records = _table(text)
    shown, total = [], 0
    for _, values in records:
        total += 1
        if len(shown) < rows:
            shown.append((values + [""] * len(headers))[:len(headers)])
    if total == 0:
        raise CsvError("the file has a header but no customers")
    if total > MAX_ROWS:
        raise CsvError(f"the file has {total:,} rows; import at most {MAX_ROWS:,} at a time")
    return Preview(headers, shown, guess_mapping(headers), delimiter, total)


def check_mapping(headers: list[str], mapping: dict[str, str]) -> list[str]:
    """Problems with a chosen mapping, as sentences; empty when it can be imported."""
    problems = []
    chosen = [mapping.get(heading, "") for heading in headers]
    for name in sorted({c for c in chosen if c and chosen.count(c) > 1}):
        problems.append(f"{FIELDS.get(name, name)} is chosen for more than one column.")
    unknown = sorted({c for c in chosen if c and c not in FIELDS})
    problems += [f"“{name}” is not a customer field." for name in unknown]
    if "email" not in chosen and "phone" not in chosen:
        problems.append("Choose the email or the phone column: customers are found and reached by them.")
    return problems


def uses_consent(mapping: dict[str, str]) -> bool:
    return any(name in CONSENT_FIELDS for name in mapping.values())


def _row(line: int, values: dict[str, str]) -> tuple[CustomerRow | None, list[RowError]]:
    errors: list[RowError] = []

    def clean(cleaner: Callable, *args):
        try:
            return cleaner(*args)
        except FieldError as problem:
            errors.append(RowError(line, str(problem)))
            return None

    country = clean(clean_country, values.get("country"))
    email = clean(clean_email, values.get("email"))
    phone = clean(clean_phone, values.get("phone"), country)
    name = clean(clean_name, values.get("name")) or clean(
        clean_name, " ".join(p for p in (values.get("first_name"), values.get("last_name")) if p))
    external_id = clean(clean_external_id, values.get("external_id"))
    locale = clean(clean_locale, values.get("locale"))
    timezone = clean(clean_timezone, values.get("timezone"))
    groups = clean(split_labels, "groups", values.get("groups"))
    tags = clean(split_labels, "tags", values.get("tags"))
    consents = tuple((channel, status) for key, channel in CONSENT_FIELDS.items()
                     if (status := clean(clean_consent, key, values.get(key))))
    row = CustomerRow(line=line, external_id=external_id, email=email, phone=phone, name=name, locale=locale,
                      timezone=timezone, country=country, groups=groups, tags=tags, consents=consents)
    if not errors and not (email or phone):
        errors.append(RowError(line, "no email and no phone: a customer needs at least one of them"))
    return (None if errors else row), errors


def validate(text: str, mapping: dict[str, str], *, on_progress: Callable[[int], None] | None = None,
             progress_every: int = 5000) -> Validated:
    """Every row checked with this mapping. Rows come back only if no row has an error: an import
    is all or nothing, so a file with mistakes is refused as a whole, each mistake with its line."""
    headers, _, records = _table(text)
    problems = check_mapping(headers, mapping)
    if problems:
        raise CsvError(" ".join(problems))
    columns = [(index, mapping.get(heading, "")) for index, heading in enumerate(headers)]
    columns = [(index, name) for index, name in columns if name]
    result = Validated()
    for line, values in records:
        result.total_rows += 1
        if result.total_rows > MAX_ROWS:
            raise CsvError(f"the file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} at a time")
        if len(values) > len(headers) and any(v.strip() for v in values[len(headers):]):
            _add(result, [RowError(line, f"{len(values)} values, but the header has {len(headers)} columns "
                                         "(an extra delimiter, or a value that needs quotes?)")])
            continue
        row, errors = _row(line, {name: values[index] for index, name in columns if index < len(values)})
        if errors:
            _add(result, errors)
        elif not result.error_count:
            result.rows.append(row)
        if on_progress and result.total_rows % progress_every == 0:
            on_progress(result.total_rows)
    if result.total_rows == 0:
        raise CsvError("the file has a header but no customers")
    if result.error_count:
        result.rows = []
    return result


def _add(result: Validated, errors: list[RowError]) -> None:
    result.error_count += len(errors)
    room = MAX_ERRORS - len(result.errors)
    result.errors += errors[:max(room, 0)]
    result.rows = []  # nothing will be imported: stop holding rows
