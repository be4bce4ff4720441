"""Campaign batching by template: each message's values put back as tokens, accepted only when
substituting them again gives the message exactly; messages sharing a template share a request."""
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.channels.providers.base import OutboundMessage
from webapp.channels.providers.batching import GroupingRules, content_groups, forward, template_groups, template_of
from webapp.channels.providers.mailgun_email import BATCH_RULES as MAILGUN
from webapp.channels.providers.sendgrid_email import BATCH_RULES as SENDGRID

NAME, LINK = "[[nh:name]]", "[[nh:unsubscribe]]"
SUBJECT = f"{NAME}, our spring sale"
BODY = f"<p>Hi {NAME},</p><p>All week: 20% off everything.</p><a href='{LINK}'>Unsubscribe</a>"
TEXT = f"Hi {NAME},\nAll week: 20% off.\nUnsubscribe: {LINK}"
HEADERS = {"List-Unsubscribe": f"<{LINK}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
RULES = GroupingRules(1000, per_recipient_headers=True)


def fill(text: str, values: dict[str, str]) -> str:
    return forward(text, values)


def campaign_message(n: int, name: str, link: str | None = None, **overrides) -> OutboundMessage:
    """What the campaign renderer stores: the final content and the values it substituted."""
    values = {NAME: name, LINK: link or f"https://hub.example/u/{n}-tok{n * 7919}"}
    fields = dict(notification_id=n, store_id=1, channel="email", recipient=f"c{n}@example.com",
                  subject=fill(SUBJECT, values), body=fill(BODY, values), idempotency_key=f"k{n}",
                  text=fill(TEXT, values), headers={k: fill(v, values) for k, v in HEADERS.items()},
                  substitutions=values)
    return OutboundMessage(**{**fields, **overrides})


def assert_each_member_is_its_template_filled(messages, rules):
    for group in template_groups(messages, rules):
        if group.template is None:
            assert len(group.indexes) == 1
            continue
        for i in group.indexes:
            message, values = messages[i], messages[i].substitutions or {}
            assert forward(group.template.subject, values) == (message.subject or "")
            assert forward(group.template.body, values) == message.body
            assert (forward(group.template.text, values) if group.template.text is not None else None) == message.text
            if rules.per_recipient_headers:
                assert {k: forward(v, values) for k, v in group.template.headers} == dict(message.headers or {})
            else:
                assert dict(group.template.headers) == dict(message.headers or {})


def test_personalised_campaign_messages_share_one_template_with_tokens():
    messages = [campaign_message(n, name) for n, name in enumerate(["Ann", "Bob", "Chidi", "Dana", "Eve"])]
    [group] = template_groups(messages, RULES)
    assert group.indexes == [0, 1, 2, 3, 4]
    assert (group.template.subject, group.template.body, group.template.text) == (SUBJECT, BODY, TEXT)
    assert dict(group.template.headers) == HEADERS


def test_a_value_that_also_occurs_in_the_shared_text_still_shares_whatever_its_place():
    # "Al" is in "All week": put back everywhere, its own template differs from everyone else's.
    for order in (["Al", "Bob", "Cy"], ["Bob", "Al", "Cy"], ["Bob", "Cy", "Al"]):
        messages = [campaign_message(n, name) for n, name in enumerate(order)]
        assert content_groups(messages, RULES) == [[0, 1, 2]]
        assert_each_member_is_its_template_filled(messages, RULES)


def test_a_value_holding_token_text_shares_with_nobody():
    messages = [campaign_message(n, name) for n, name in enumerate(["Ann", "[[nh:unsubscribe]]", "Cy"])]
    assert content_groups(messages, RULES) == [[0, 2], [1]]
    assert template_of(messages[1], RULES) is None


def test_values_that_do_not_make_the_content_give_the_content_itself_as_template():
    honest = [campaign_message(n, name) for n, name in enumerate(["Ann", "Bob"])]
    liar = campaign_message(2, "Cy", substitutions={NAME: "Zed", LINK: "https://elsewhere.example/x"})
    template = template_of(liar, RULES)
    assert (template.subject, template.body) == (liar.subject, liar.body)  # no token: nothing of it is shared
    assert content_groups([*honest, liar], RULES) == [[0, 1], [2]]


def test_longer_values_are_put_back_first():
    # The name inside the link must stay in the link's token, not split it.
    message = campaign_message(1, "ann", link="https://hub.example/u/ann-1")
    assert template_of(message, RULES).body == BODY


def test_messages_without_substitutions_group_by_identical_content_as_before():
    plain = [OutboundMessage(n, 1, "email", f"c{n}@example.com", "Spring sale", body, f"k{n}")
             for n, body in enumerate(["20% off", "20% off", "other", "20% off"])]
    assert content_groups(plain, RULES) == [[0, 1, 3], [2]]


def test_groups_hold_each_address_once_and_at_most_the_limit():
    messages = [campaign_message(n, f"N{n}", recipient=f"C{n % 3}@Example.com") for n in range(7)]
    groups = content_groups(messages, GroupingRules(2, per_recipient_headers=True))
    assert sorted(i for group in groups for i in group) == list(range(7))
    for group in groups:
        assert len(group) <= 2
        assert len({messages[i].recipient.lower() for i in group}) == len(group)


def test_where_headers_cannot_vary_per_recipient_only_equal_final_headers_group():
    linked = [campaign_message(n, name) for n, name in enumerate(["Ann", "Bob"])]
    shared_link = [campaign_message(n, name, headers={"List-Unsubscribe": "<https://hub.example/list>"})
                   for n, name in enumerate(["Cy", "Dee"], start=2)]
    assert content_groups(linked + shared_link, MAILGUN) == [[0], [1], [2, 3]]
    assert content_groups(linked + shared_link, SENDGRID) == [[0, 1], [2, 3]]


def test_mailgun_sends_alone_what_it_would_read_as_its_own_variables():
    messages = [campaign_message(n, name, headers={}) for n, name in enumerate(["Ann", "Bob", "Cy"])]
    messages[1] = campaign_message(1, "%recipient.name%", headers={})
    messages.append(campaign_message(3, "Dee", headers={}, substitutions={**messages[0].substitutions,
                                                                         "[[nh:notification_id]]": "x"}))
    assert content_groups(messages, MAILGUN) == [[0, 2], [1], [3]]


def test_sendgrid_sends_alone_substitutions_over_its_10000_bytes_per_personalization():
    messages = [campaign_message(n, name) for n, name in enumerate(["Ann", "Bob", "Cy"])]
    messages[2] = campaign_message(2, "Cy", link="https://hub.example/u/" + "x" * 10_000)
    assert content_groups(messages, SENDGRID) == [[0, 1], [2]]


def test_malformed_substitutions_share_with_nobody():
    good = campaign_message(0, "Ann")
    bad_key = campaign_message(1, "Bob", substitutions={"{{name}}": "Bob"})
    bad_value = campaign_message(2, "Cy", substitutions={NAME: 3})
    assert content_groups([good, bad_key, bad_value], RULES) == [[0], [1], [2]]


# --- properties ---------------------------------------------------------------------------------

# Characters that make substitution hard: token punctuation, Mailgun's %, case, repeats.
TRICKY = st.text(alphabet="aAl[]n:h%_ ./<>\u00e9", max_size=12)
TOKEN_NAMES = st.sampled_from(["name", "unsubscribe", "city", "a", "nh"])


@st.composite
def any_message(draw):
    values = draw(st.dictionaries(TOKEN_NAMES.map(lambda n: f"[[nh:{n}]]"), TRICKY, max_size=3))
    pieces = st.lists(st.one_of(TRICKY, st.sampled_from(sorted(values) or [""])), max_size=6)
    render = lambda parts: forward("".join(parts), values)  # noqa: E731
    headers = draw(st.dictionaries(st.sampled_from(["List-Unsubscribe", "X-Campaign"]), pieces.map(render),
                                   max_size=2))
    return OutboundMessage(draw(st.integers(1, 10**6)), 1, "email", draw(st.sampled_from(["a@x.test", "b@x.test"])),
                           draw(pieces.map(render)), draw(pieces.map(render)), "k",
                           draw(st.one_of(st.none(), pieces.map(render))), None, headers, values)


@st.composite
def any_campaign(draw):
    """One rendering with tokens, filled with each recipient's random values, plus stray messages."""
    names = draw(st.lists(TOKEN_NAMES.map(lambda n: f"[[nh:{n}]]"), min_size=1, max_size=3, unique=True))
    texts = st.lists(st.one_of(TRICKY, st.sampled_from(names)), max_size=6).map("".join)
    subject, body, text, link = draw(texts), draw(texts), draw(st.one_of(st.none(), texts)), draw(texts)
    messages = []
    for n in range(draw(st.integers(2, 8))):
        values = {token: draw(TRICKY) for token in names}
        messages.append(OutboundMessage(n, 1, "email", f"c{n}@x.test", forward(subject, values),
                                        forward(body, values), "k", text and forward(text, values), None,
                                        {"List-Unsubscribe": forward(link, values)}, values))
    return messages + draw(st.lists(any_message(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.one_of(any_campaign(), st.lists(any_message(), max_size=8)), st.booleans())
def test_every_group_template_gives_back_each_member_exactly(messages, per_recipient_headers):
    rules = GroupingRules(3, per_recipient_headers=per_recipient_headers)
    assert_each_member_is_its_template_filled(messages, rules)
    assert sorted(i for g in content_groups(messages, rules) for i in g) == list(range(len(messages)))


@settings(max_examples=300, deadline=None)
@given(any_message())
def test_a_template_forward_substituted_is_the_original(message):
    template = template_of(message, RULES)
    if template is not None:
        values = message.substitutions
        assert forward(template.subject, values) == (message.subject or "")
        assert forward(template.body, values) == message.body
        assert template.text is None if message.text is None else forward(template.text, values) == message.text
        assert {k: forward(v, values) for k, v in template.headers} == dict(message.headers or {})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="qjQJ3456789", min_size=1, max_size=10),
                          st.text(alphabet="qj3456789/:.", min_size=1, max_size=30)), min_size=2, max_size=20))
def test_a_campaign_whose_values_cannot_occur_in_its_shared_text_is_one_group(values):
    # No name can occur in the shared text (none of its characters do), no link either ("https://").
    messages = [campaign_message(n, name, link=f"https://{link}") for n, (name, link) in enumerate(values)]
    assert content_groups(messages, RULES) == [list(range(len(messages)))]
