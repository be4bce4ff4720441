"""Templates cannot reach Python internals or run away: every payload is refused when validated
(so it is never saved) and, should one reach the renderer anyway, when rendered."""
import time

import pytest

from webapp.templating import catalog
from webapp.templating.context import build_context
from webapp.templating.render import TemplateRenderError, render
from webapp.templating.validate import validate

# Known server-side template injection payloads for Jinja2 (PayloadsAllTheThings, HackTricks, and
# the CVEs of the sandbox), in the spellings that reach internals: attributes, dunders, attr(),
# subscripts, format strings, the template's own globals.
INJECTIONS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__.__builtins__ }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ lipsum.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ order|attr('__class__') }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ order['__class__'] }}",
    "{{ order['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    "{{ customer.name.__class__.__mro__ }}",
    "{{ '{0.__class__}'.format(order) }}",
    "{{ 'a'.format_map(order) }}",
    "{{ order.lines.pop() }}",
    "{{ order.items() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{% set x = ''.__class__ %}{{ x }}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{{ range.__globals__ }}",
    "{{ (order.lines|first).__class__ }}",
    "{{ dict(a=1) }}",
    "{{ g }}",
    "{{ url_for.__globals__ }}",
]
# Harmless if they ran, but not allowed in a template: refused when validated.
CONSTRUCTS = [
    "{% macro m() %}{{ caller }}{% endmacro %}",
    "{{ _locale }}",
    "{% for a in range(9) %}{% for b in range(9) %}{% for c in range(9) %}x{% endfor %}{% endfor %}{% endfor %}",
    "{% for a in order.lines %}{% for b in order.lines %}{% for c in order.lines %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% filter upper %}x{% endfilter %}",
    "{% for x in 'abc' %}{{ x }}{% endfor %}",
]
RUNAWAYS = [
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 999999 }}",
    "{{ 10 ** 100 }}",
    "{% for i in range(100000000) %}x{% endfor %}",
    "{% for i in range(200) %}{% for j in range(200) %}{{ i }}{% endfor %}{% endfor %}",
    "{{ order.number ~ order.number * 20000 }}",
    "{{ ('x' * 10000) | replace('x', 'xxxxxxxxxx') }}",
    "{{ range(200) | join('x' * 10000) }}",
    "{{ '%s' % ('x' * 30000) }}",
]
MESSAGE_TYPE = catalog.get("order.ready")


def context():
    return build_context(MESSAGE_TYPE, catalog.sample_context(MESSAGE_TYPE))


def test_the_suite_holds_at_least_25_injection_payloads():
    assert len(INJECTIONS) >= 25


@pytest.mark.parametrize("payload", INJECTIONS + RUNAWAYS + CONSTRUCTS)
def test_validation_refuses_it(payload):
    for channel, field in (("email", "body"), ("sms", "body")):
        fields = {"subject": "S", field: payload} if channel == "email" else {field: payload}
        assert validate(MESSAGE_TYPE, channel, fields), (channel, payload)


@pytest.mark.parametrize("payload", INJECTIONS + RUNAWAYS)
def test_rendering_refuses_it_too(payload):
    started = time.perf_counter()
    with pytest.raises(TemplateRenderError):
        render(payload, context(), html=True, channel="email")
    assert time.perf_counter() - started < 2  # refused, not ground through


def test_output_is_capped_per_channel():
    many = "{% for a in range(150) %}{% for b in range(12) %}" + "x" * 10 + "{% endfor %}{% endfor %}"
    with pytest.raises(TemplateRenderError, match="longer than 2,000 characters"):
        render(many, context(), channel="sms")


def test_text_channels_drop_control_characters():
    assert render("a\x00b\x1bc\x07d", context(), channel="sms") == "abcd"


def test_a_plain_template_still_works():
    body = "{% for line in order.lines %}{{ loop.index }}. {{ line.name }} × {{ line.quantity }}\n{% endfor %}"
    assert render(body, context(), channel="sms") == "1. Merino crew sweater × 1\n2. Wool socks, 2 pairs × 2"


def test_validation_points_at_the_line_and_column():
    [problem] = validate(MESSAGE_TYPE, "sms", {"body": "Hello\n  {{ order.number }\nBye"})
    assert (problem.line, problem.column) == (2, 3) and problem.message.startswith("Syntax error")
    [unknown] = validate(MESSAGE_TYPE, "sms", {"body": "Hi\n{{ order.nmber }}"})
    assert unknown.line == 2 and "order.nmber" in unknown.message


def test_sms_longer_than_the_segment_limit_is_refused():
    long = "x" * 500
    [problem] = validate(MESSAGE_TYPE, "sms", {"body": long}, sms_segments=lambda text: len(text) // 153 + 1,
                         max_segments=3)
    assert "4 segments" in problem.message


# --- what an independent review found, each now refused or handled -----------------------------

REVIEW_PAYLOADS = [
    "{% set a = 'x' * 20000 %}" + "{% set a = a ~ a %}" * 12 + "{{ a | length }}",
    "{{ ('%0200000000d' % 1) | length }}",
    "{% set l = [0] * 20000 %}{% for a in l %}{% for b in l %}{% set z = b %}{% endfor %}{% endfor %}ok",
    "{{ " + "+".join(["1"] * 3000) + " }}",
    "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
    "{{ ('%(a)s' % order) }}",
    "{% set c = customer %}{% if not c.name %}{{ c.nickname }}{% endif %}ok",
]


@pytest.mark.parametrize("payload", REVIEW_PAYLOADS)
def test_review_payloads_are_refused_when_validated_quickly(payload):
    started = time.perf_counter()
    assert validate(MESSAGE_TYPE, "sms", {"body": payload})
    assert time.perf_counter() - started < 2


def test_an_unexpected_error_in_a_filter_is_a_template_error_not_a_crash():
    with pytest.raises(TemplateRenderError):
        render("{{ 1 | money(5) }}", context(), channel="sms")
    assert validate(MESSAGE_TYPE, "sms", {"body": "{{ 1 | money(5) }}"})


def test_loops_over_data_are_bounded_even_without_range():
    from webapp.templating.render import DataList

    lines = DataList([{"name": str(n)} for n in range(200)])
    nested = "{% for a in lines %}{% for b in lines %}{% endfor %}{% endfor %}ok"
    with pytest.raises(TemplateRenderError, match="more than 20,000 times"):
        render(nested, {"lines": lines}, channel="sms")


def test_c1_controls_and_bidi_overrides_are_dropped_from_text():
    assert render("{{ x }}", {"x": "a\x85b\u202ec\u2066d"}, channel="sms") == "abcd"


def test_a_literal_placeholder_word_in_an_email_stays_text():
    from webapp.templating.layout import Branding
    from webapp.templating.message import render_message

    body = "<p>Use code nhjinja99x and <!--nh0--> {{ order.number }}</p>"
    email = render_message("email", {"subject": "S", "body": body}, context(), branding=Branding("Acme"))
    assert "Use code nhjinja99x" in email.body and "#1042" in email.body


def test_the_stores_name_and_address_are_shown_never_run():
    from webapp.templating.layout import Branding
    from webapp.templating.message import render_message

    branding = Branding("Tom {% Shop {{ 7*7 }}", address="{{ 7*7 }} Main St {{ order.number }}")
    email = render_message("email", {"subject": "S", "body": "<p>x</p>"}, context(), branding=branding)
    assert "Tom {% Shop {{ 7*7 }}" in email.body and "{{ 7*7 }} Main St {{ order.number }}" in email.body
