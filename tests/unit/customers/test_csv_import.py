"""Reading customer CSVs: encodings, delimiters, the guessed mapping, line numbers in every error,
and a file with any bad row giving no rows at all."""
import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.consent import vocabulary
from webapp.customers import csv_import, fields
from webapp.customers.csv_import import CsvError, decode, guess_mapping, preview, validate


def rows_of(text: str, mapping: dict | None = None):
    return validate(text, mapping or preview(text).mapping)


def test_the_consent_words_agree_with_the_consent_vocabulary():
    assert (fields.OPTED_IN, fields.OPTED_OUT) == (vocabulary.OPTED_IN, vocabulary.OPTED_OUT)
    assert fields.CONSENT_CHANNELS == vocabulary.CONSENT_CHANNELS


def test_headers_from_shopify_and_spreadsheets_map_to_fields():
    headers = ["Customer ID", "First Name", "Last Name", "E-mail", "Accepts Email Marketing",
               "Default Address Country Code", "Phone", "Accepts SMS Marketing", "Tags", "Total Spent", "Time zone",
               "Language"]
    assert guess_mapping(headers) == {
        "Customer ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "E-mail": "email",
        "Accepts Email Marketing": "email_consent", "Default Address Country Code": "country", "Phone": "phone",
        "Accepts SMS Marketing": "sms_consent", "Tags": "tags", "Total Spent": "", "Time zone": "timezone",
        "Language": "locale"}


def test_a_field_goes_to_the_first_column_that_claims_it():
    assert guess_mapping(["Email", "email address", "Mobile"]) == {"Email": "email", "email address": "",
                                                                   "Mobile": "phone"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_found_from_the_header(delimiter):
    text = delimiter.join(["email", "name", "tags"]) + "\n" + delimiter.join(["a@b.io", "Ann, Jr", "x"]) + "\n"
    if delimiter == ",":
        text = 'email,name,tags\na@b.io,"Ann, Jr",x\n'
    found = preview(text)
    assert found.delimiter == delimiter and found.rows == [["a@b.io", "Ann, Jr", "x"]] and found.total_rows == 1


def test_utf8_with_bom_utf16_and_windows_1252_all_decode():
    text = "email,name\nzoe@example.test,Zoë Müller\n"
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16"), text.encode("cp1252")):
        row = rows_of(decode(data)).rows[0]
        assert (row.email, row.name) == ("zoe@example.test", "Zoë Müller")
    assert preview(decode(b"\xef\xbb\xbf" + text.encode())).headers == ["email", "name"]


def test_a_row_becomes_a_clean_customer():
    text = ("external_id,email,phone,country,first_name,last_name,locale,timezone,groups,tags,email_consent,"
            "sms_consent\n"
            "crm-7, Bob@Example.TEST ,030 1234567,de,Bob,Brown,pt_br,Europe/Berlin,\"VIP, Wholesale\",a;b|a,Yes,0\n")
    row = rows_of(text).rows[0]
    assert row == fields.CustomerRow(line=2, external_id="crm-7", email="bob@example.test", phone="+49301234567",
                                     name="Bob Brown", locale="pt-BR", timezone="Europe/Berlin", country="DE",
                                     groups=("VIP", "Wholesale"), tags=("a", "b"),
                                     consents=(("email", "opted_in"), ("sms", "opted_out")))


def test_empty_cells_state_nothing():
    row = rows_of("email,name,tags,sms_consent\nann@example.test,,,\n").rows[0]
    assert (row.name, row.tags, row.consents, row.locale) == (None, None, (), None)


def test_every_error_names_its_line_and_no_row_comes_back():
    text = ("email,phone,locale,timezone,sms_consent\n"
            "ok@example.test,,,,\n"
            "\n"  # blank lines count as lines
            "bob@,,,,\n"
            "\"quoted\nacross@lines.test\",,,,\n"  # a value on two lines moves the next row's number on
            "carl@example.test,12,xx-nope,Mars/Olympus,maybe\n"
            ",,,,\n"  # an empty row is skipped
            "dee@example.test,,,,\n")
    result = rows_of(text)
    assert result.rows == [] and result.total_rows == 5
    assert [str(e) for e in result.errors] == [
        "line 4: email “bob@” is not a valid email address",
        "line 5: email “quoted\nacross@lines.test” is not a valid email address",
        "line 7: phone “12” is not a valid phone number (write it with its country code, e.g. +1 415 555 0100)",
        "line 7: locale “xx-nope” is not a language code such as en, de or pt-BR",
        "line 7: timezone “Mars/Olympus” is not a time zone such as Europe/Lisbon or America/New_York",
        "line 7: sms_consent “maybe” is not a consent answer: write yes or no (or opted_in / opted_out), "
        "or leave it empty to keep what the customer has",
    ]


def test_a_row_needs_an_email_or_a_phone_and_no_extra_values():
    result = rows_of("email,phone,name\n,,Nobody\na@example.test,,Ann,surplus\n")
    assert [str(e) for e in result.errors] == [
        "line 2: no email and no phone: a customer needs at least one of them",
        "line 3: 4 values, but the header has 3 columns (an extra delimiter, or a value that needs quotes?)"]


def test_local_numbers_need_the_country_column():
    assert rows_of("phone,country\n0612345678,NL\n").rows[0].phone == "+31612345678"
    assert rows_of("phone,country\n0612345678,Narnia\n").errors[0].error.startswith("country “NARNIA”")


@pytest.mark.parametrize("word,status", [("yes", "opted_in"), ("TRUE", "opted_in"), ("1", "opted_in"),
                                         ("opted in", "opted_in"), ("no", "opted_out"), ("false", "opted_out"),
                                         ("0", "opted_out"), ("opted_out", "opted_out")])
def test_consent_answers(word, status):
    assert rows_of(f"email,email_consent\na@example.test,{word}\n").rows[0].consents == (("email", status),)


def test_broken_files_are_refused_with_a_reason():
    for text, why in (("", "empty"), ("email\n", "no customers"), ("email,email\na@b.io,c@d.io\n", "appears twice"),
                      ('email,name\na@example.test,"unclosed\n', "line 2: this is not valid CSV")):
        with pytest.raises(CsvError, match=why):
            preview(text)
    with pytest.raises(CsvError, match="email or the phone column"):
        validate("email,name\na@b.io,Ann\n", {"email": "", "name": "name"})
    with pytest.raises(CsvError, match="more than one column"):
        validate("email,mail\na@b.io,c@d.io\n", {"email": "email", "mail": "email"})
    with pytest.raises(CsvError, match="not text in UTF-8"):
        decode(b"email\n\x81\x8d\x8f\x90\x9d")


def test_progress_is_reported_while_checking():
    text = "email\n" + "".join(f"c{i}@example.test\n" for i in range(25))
    seen = []
    validate(text, {"email": "email"}, on_progress=seen.append, progress_every=10)
    assert seen == [10, 20]


def test_errors_past_the_limit_are_counted_not_kept():
    text = "email\n" + "bad\n" * (csv_import.MAX_ERRORS + 5)
    result = rows_of(text)
    assert len(result.errors) == csv_import.MAX_ERRORS and result.error_count == csv_import.MAX_ERRORS + 5


_cells = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(_cells, _cells), min_size=1, max_size=8), delimiter=st.sampled_from([",", ";", "\t"]),
       bom=st.booleans())
def test_any_table_a_csv_writer_makes_reads_back_with_its_line_numbers(rows, delimiter, bom):
    """Whatever the names hold (delimiters, quotes, newlines), the file reads back as written, and
    each row's line number is the line it starts on in the file."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["email", "name", "notes"])
    written = []
    for number, (name, notes) in enumerate(rows):
        writer.writerow([f"c{number}@example.test", name, notes])
        written.append((f"c{number}@example.test", " ".join(name.split()) or None))
    text = ("\ufeff" if bom else "") + out.getvalue()
    result = validate(text, {"email": "email", "name": "name", "notes": ""})
    assert [(row.email, row.name) for row in result.rows] == written
    starts = [1 + out.getvalue()[:out.getvalue().index(f"c{n}@example.test")].count("\n") for n in range(len(rows))]
    assert [row.line for row in result.rows] == starts
