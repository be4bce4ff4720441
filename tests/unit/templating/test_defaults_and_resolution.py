"""The platform defaults and the resolution order, without a database."""
import pytest

from webapp.templating import catalog, defaults
from webapp.templating.context import build_context
from webapp.templating.layout import Branding
from webapp.templating.message import render_message
from webapp.templating.resolve import DEFAULT, STORE, resolve_template

LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "pt-BR", "ar")
BRANDING = Branding("Demo Outfitters", "#c2410c", None, "1 Main St, Lisbon")


def test_every_supported_locale_ships_every_message_type():
    assert set(defaults.locales()) == set(LOCALES)
    for locale in LOCALES:
        assert set(defaults.phrases(locale)["types"]) == set(catalog.MESSAGE_TYPES), locale


@pytest.mark.parametrize("locale", LOCALES)
def test_every_default_renders_with_the_sample_data_in_every_channel(locale):
    for key, message_type in catalog.MESSAGE_TYPES.items():
        context = build_context(message_type, catalog.sample_context(message_type), locale=locale, currency="EUR")
        for channel in message_type.channels:
            fields = defaults.default_template(key, channel, locale)
            assert fields, (key, channel, locale)
            message = render_message(channel, fields, context, branding=BRANDING, lang=locale,
                                     direction=defaults.direction(locale),
                                     marketing=message_type.priority == catalog.MARKETING)
            assert message.body.strip(), (key, channel, locale)
            assert "{{" not in message.body and "None" not in message.body, (key, channel, locale, message.body)
            if channel == "email":
                assert message.subject and f'lang="{locale}"' in message.body
                assert ('dir="rtl"' in message.body) == (locale == "ar")


@pytest.mark.parametrize("locale", LOCALES)
def test_an_order_without_a_customer_name_reads_naturally(locale):
    message_type = catalog.get("order.ready")
    sample = catalog.sample_context(message_type)
    sample["customer"] = {"name": None, "first_name": None}
    context = build_context(message_type, sample, locale=locale)
    email = render_message("email", defaults.default_template("order.ready", "email", locale), context,
                           branding=BRANDING, lang=locale)
    greeting = defaults.phrases(locale)["common"]["greeting_anonymous"]
    assert f">{greeting}</p>" in email.body
    assert " ," not in email.body and " ،" not in email.body


def test_an_order_with_no_tracking_and_no_lines_still_renders():
    message_type = catalog.get("order.ready")
    context = build_context(message_type, {"order": {"number": "#7"}}, locale="en")
    sms = render_message("sms", defaults.default_template("order.ready", "sms", "en"), context, branding=BRANDING)
    assert sms.body == "Your order #7 is ready." or sms.body.endswith("Your order #7 is ready.")


def test_resolution_takes_the_store_in_the_customers_locale_then_the_stores_then_the_default():
    overrides = {("order.ready", "sms", "pt-BR"): {"body": "Loja: pronto {{ order.number }}"},
                 ("order.ready", "sms", "de"): {"body": "Laden: bereit {{ order.number }}"}}
    customer_locale = resolve_template("order.ready", "sms", "pt-BR", "de", overrides)
    assert (customer_locale.layer, customer_locale.locale) == (STORE, "pt-BR")
    assert customer_locale.describe() == "Your template, Portuguese (Brazil)"
    store_locale = resolve_template("order.ready", "sms", "fr", "de", overrides)
    assert (store_locale.layer, store_locale.locale) == (STORE, "de")
    assert store_locale.describe() == "Your template, shown in German: no fr template"
    default = resolve_template("order.ready", "sms", "fr", "ja", overrides)
    assert (default.layer, default.locale) == (DEFAULT, "fr")
    fallback = resolve_template("order.ready", "sms", "de-CH", "ja", {})
    assert (fallback.layer, fallback.locale) == (DEFAULT, "de")
    english = resolve_template("order.ready", "sms", "ja", "ko", {})
    assert (english.layer, english.locale) == (DEFAULT, "en")
    assert english.describe() == "Default template, shown in English: no ja template"


def test_locale_codes_are_normalised():
    assert resolve_template("order.ready", "sms", "pt_br", "en", {}).locale == "pt-BR"


def test_values_from_orders_are_data_never_template_code():
    message_type = catalog.get("order.ready")
    sample = catalog.sample_context(message_type)
    sample["customer"] = {"name": "{{ 7*7 }} <b>Bob</b>", "first_name": "{{ 7*7 }} <b>Bob</b>"}
    context = build_context(message_type, sample, locale="en")
    email = render_message("email", defaults.default_template("order.ready", "email", "en"), context,
                           branding=BRANDING)
    assert ">Hi {{ 7*7 }} &lt;b&gt;Bob&lt;/b&gt;,</p>" in email.body and ">49" not in email.body
    sms = render_message("sms", {"body": "Hi {{ customer.name }}"}, context, branding=BRANDING)
    assert sms.body == "Hi {{ 7*7 }} <b>Bob</b>"


def test_money_and_dates_follow_the_customers_locale_and_the_store_currency():
    message_type = catalog.get("payment.confirmed")
    sample = catalog.sample_context(message_type)
    de = build_context(message_type, sample, locale="de", currency="EUR", timezone="Europe/Berlin")
    out = render_message("sms", {"body": "{{ payment.amount | money }} {{ order.created_at | date }}"}, de,
                         branding=BRANDING)
    assert out.body == "113,50\xa0€ 28.11.2026"
    en = build_context(message_type, sample, locale="en", currency="USD")
    assert render_message("sms", {"body": "{{ payment.amount | money }}"}, en, branding=BRANDING).body == "$113.50"
