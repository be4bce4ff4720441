from datetime import date

import pytest

from webapp.views.read.activity import DEFAULT_LIMIT, ActivityFilter, FilterError, parse_filters


def test_no_parameters_means_no_filters_and_the_default_page_size():
    assert parse_filters({}) == ActivityFilter(limit=DEFAULT_LIMIT)
    assert not parse_filters({}).is_filtered


def test_empty_and_blank_parameters_count_as_absent():
    blank = {name: "  " for name in ("status", "channel", "message_type", "source", "order_number", "customer",
                                       "date_from", "date_to", "before", "limit")}
    assert parse_filters(blank) == ActivityFilter()


def test_every_filter_is_parsed():
    f = parse_filters({"status": "failed", "channel": "sms", "message_type": "order.cancelled", "source": "shopify",
                       "order_number": " #1001 ", "customer": "Ana", "date_from": "2024-05-01",
                       "date_to": "2024-05-31", "before": "900", "limit": "200"})
    assert f == ActivityFilter(status="failed", channel="sms", message_type="order.cancelled", source="shopify",
                               order_number="#1001", customer="Ana", date_from=date(2024, 5, 1),
                               date_to=date(2024, 5, 31), before_id=900, limit=200)
    assert f.as_params() == {"status": "failed", "channel": "sms", "message_type": "order.cancelled",
                             "source": "shopify", "order_number": "#1001", "customer": "Ana",
                             "date_from": "2024-05-01", "date_to": "2024-05-31"}


@pytest.mark.parametrize(("args", "names"), [
    ({"status": "lost"}, ["status", "lost", "delivered"]),
    ({"channel": "fax"}, ["channel", "fax", "email", "sms"]),
    ({"message_type": "cancelled"}, ["message_type", "order.cancelled"]),
    ({"source": "Shop ify"}, ["source"]),
    ({"date_from": "31/05/2024"}, ["date_from", "YYYY-MM-DD"]),
    ({"date_to": "2024-02-30"}, ["date_to", "YYYY-MM-DD"]),
    ({"date_from": "2024-06-01", "date_to": "2024-05-01"}, ["date_from", "date_to"]),
    ({"before": "abc"}, ["before"]),
    ({"before": "0"}, ["before"]),
    ({"limit": "201"}, ["limit", "200"]),
    ({"limit": "-5"}, ["limit"]),
    ({"customer": "x" * 255}, ["customer", "254"]),
])
def test_bad_values_raise_a_filter_error_naming_the_parameter(args, names):
    with pytest.raises(FilterError) as raised:
        parse_filters(args)
    for name in names:
        assert name in str(raised.value)


def test_the_filter_error_is_a_value_error():
    assert issubclass(FilterError, ValueError)
