"""Microseconds per message render: an SMS, a push, a full branded email (layout and CSS inlining
cached), and what a cold compile and a layout rebuild cost. Writes the "## Templates" section of
bench/RESULTS.md. Prints numbers; asserts nothing.

    python bench/templates.py [--renders 20000]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from webapp.templating import catalog, defaults  # noqa: E402
from webapp.templating.context import build_context  # noqa: E402
from webapp.templating.layout import Branding, _inlined  # noqa: E402
from webapp.templating.message import render_message  # noqa: E402
from webapp.templating.render import compile_template  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Templates"
BRANDING = Branding("Demo Outfitters", "#c2410c", None, "1 Main St, Lisbon")


def per_call_us(function, count: int) -> float:
    function()  # warm: compiled and cached, as in a worker that has sent one before
    started = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - started) / count * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=20000, help="renders per measurement")
    parser.add_argument("--results", default=str(RESULTS), help="RESULTS.md to update ('-': nowhere)")
    args = parser.parse_args(argv)
    message_type = catalog.get("order.ready")
    context = build_context(message_type, catalog.sample_context(message_type), locale="de", currency="EUR")

    def render(channel: str):
        fields = defaults.default_template("order.ready", channel, "de")
        return lambda: render_message(channel, fields, context, branding=BRANDING, lang="de")

    email_fields = defaults.default_template("order.ready", "email", "de")
    cold = max(1, args.renders // 100)

    def cold_compile():
        compile_template.cache_clear()
        compile_template(email_fields["body"], True)

    def layout_rebuild():
        _inlined.cache_clear()
        _inlined(email_fields["body"], BRANDING, "de", "ltr", False)

    rows = [("SMS (default, de)", per_call_us(render("sms"), args.renders)),
            ("Push (default, de)", per_call_us(render("push"), args.renders)),
            ("Email, branded layout, cached (default, de)", per_call_us(render("email"), args.renders // 4)),
            ("Cold compile of an email body", per_call_us(cold_compile, cold)),
            ("Layout rebuild (css-inline) of an email", per_call_us(layout_rebuild, cold))]
    compile_template.cache_clear()
    _inlined.cache_clear()
    lines = [HEADING, "", f"`python bench/templates.py` — {machine.describe()}", "",
             "| What | µs per call |", "|---|---:|"]
    lines += [f"| {name} | {value:.1f} |" for name, value in rows]
    lines += ["", "Targets: SMS under 30 µs, email under 150 µs when cached. The compile and the layout rebuild",
              "happen once per template version and branding (both are cached), never per message.", ""]
    machine.publish(args.results, HEADING, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
