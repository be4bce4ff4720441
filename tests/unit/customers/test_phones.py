from webapp.customers.phones import to_e164


def test_numbers_become_e164_with_the_country_as_a_hint():
    assert to_e164("+1 (415) 555-0100") == "+14155550100"
    assert to_e164("030 1234567", "de") == "+49301234567"
    assert to_e164("06 12 34 56 78", "FR") == "+33612345678"


def test_impossible_or_empty_numbers_are_dropped():
    assert to_e164("12", "US") is None
    assert to_e164("not a phone") is None
    assert to_e164("   ") is None and to_e164(None) is None
