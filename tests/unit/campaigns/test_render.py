"""A campaign renders once per variant and per recipient by substitution, and the result is always
what a full render for that recipient gives."""
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.campaigns.render import TOKENS, CampaignRenderer, Person
from webapp.notifications.planner import StoreInfo

STORE = StoreInfo("Demo Shop", "en", "EUR", "Europe/Paris")
FIELDS = {"subject": "Hi {{ customer.first_name or 'friend' }}",
          "body": "<p>Dear {{ customer.name or 'customer' }}, see <a href=\"https://shop.example.com/a?x=1\">this</a>"
                  " · <a href=\"{{ unsubscribe_url }}\">prefs</a></p>"}


def renderer(**kw):
    return CampaignRenderer(7, STORE, "email", **kw)


def full(fields, person, **kw):
    """The reference: a renderer whose variants are never transparent renders each in full."""
    r = renderer(**kw)
    values = r._values(person)
    return r._full(fields, "en", person, values)


def test_substitution_gives_the_full_render_and_keeps_the_substitutions():
    r = renderer()
    person = Person(42, "Ada Lovelace", "ada@example.com")
    out = r.message(FIELDS, "en", person)
    reference = full(FIELDS, person)
    assert (out.subject, out.body, out.text, out.headers) == (reference.subject, reference.body, reference.text,
                                                              reference.headers)
    assert out.subject == "Hi Ada" and "Dear Ada Lovelace" in out.body
    assert out.substitutions[TOKENS["name"]] == "Ada Lovelace"
    assert out.headers["List-Unsubscribe"].count("<") == 2 and TOKENS["unsub"] in out.substitutions


def test_a_template_that_transforms_a_value_is_rendered_in_full():
    fields = {"subject": "HI {{ customer.name|upper }}", "body": "<p>{{ customer.name|length }} letters</p>"}
    out = renderer().message(fields, "en", Person(1, "Bo", "bo@example.com"))
    assert out.subject == "HI BO" and "2 letters" in out.body and out.substitutions is None


def test_utm_parameters_go_on_shop_links_not_on_unsubscribe_links():
    out = renderer(utm={"source": "news", "campaign": "w1"}).message(FIELDS, "en", Person(1, "A", "a@example.com"))
    assert "https://shop.example.com/a?x=1&amp;utm_source=news&amp;utm_campaign=w1" in out.body
    assert "/preferences/" in out.body and "preferences/" + "x" not in out.body
    assert "utm_" not in out.body.split("/preferences/")[1].split('"')[0]


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=30))
def test_any_name_gives_what_a_full_render_gives(name):
    person = Person(3, name, "x@example.com")
    out = renderer().message(FIELDS, "en", person)
    reference = full(FIELDS, person)
    assert (out.subject, out.body, out.text) == (reference.subject, reference.body, reference.text)


def test_a_recipient_gets_the_closest_language_the_campaign_has_never_the_platform_placeholder():
    from webapp.campaigns.materialize import content_locale

    content = {"en": {}, "fr": {}}
    assert content_locale(content, "fr-CA", "en-US") == "fr"
    assert content_locale(content, "de", "en-US") == "en"
    assert content_locale(content, None, "en") == "en"
    assert content_locale({"pt-BR": {}}, "de", "en") == "pt-BR"
