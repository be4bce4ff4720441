"""A marketer runs a promotion end to end in a real browser: builds it in the editor with the HTMX
rows (a coupon condition, 15% off the cart, and an action added and removed again) while the plain-
language summary follows, saves it, types a coupon code on its page, then prices a cart with that
code in the simulator and reads the discount, the promotion that gave it, and why another (the demo's
"Free shipping over 75") did not apply. With SCREENSHOT_DIR set, it saves full-page screenshots."""
from __future__ import annotations

import os

from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM  # noqa: F401 - the browser fixture needs it installed
from tests.e2e.test_customer_notifications import sign_in
from webapp.demo import seed_demo


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOT_DIR"):
        page.evaluate("window.scrollTo(0, 0)")  # so a sticky panel is drawn where it starts
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/{name}.png", full_page=True)


def widest(page) -> float:
    """How far right the page's content reaches (the top bar is the layout's, not these pages')."""
    return page.evaluate("Math.max(...[...document.querySelectorAll('main *')]"
                         ".map(e => e.getBoundingClientRect().right))")


def rows_change(page, action) -> None:
    """Do what re-draws the rows and wait for the summary that follows once they have settled."""
    with page.expect_response(lambda response: response.url.endswith("/promotions/summary")):
        action()


def test_a_marketer_builds_a_coupon_promotion_and_prices_a_cart_with_it(page, live_server, live_app):
    with live_app.app_context():
        seed_demo()
    problems: list[str] = []
    # Every request answers (the browser's own favicon.ico aside: the dashboard has none) and no script fails.
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    sign_in(page, live_server.url, "marketer@demo.test", "demo-marketer-pass")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Promotions").click()
    expect(page.get_by_role("heading", name="Promotions", exact=True)).to_be_visible()
    expect(page.locator("table.promo-table")).to_contain_text("Free shipping over 75")
    shot(page, "promotions-list")

    page.get_by_role("link", name="New promotion").click()
    expect(page.get_by_role("heading", name="New promotion")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Summer code 15")
    page.get_by_label("Add a condition").select_option(label="Customer enters a coupon code")
    rows_change(page, page.get_by_role("button", name="Add condition").click)
    expect(page.get_by_label("Condition 1", exact=True)).to_have_value("coupon")
    expect(page.get_by_label("Action 1", exact=True)).to_have_value("percentage_off_cart")
    page.get_by_label("Percent off (%), action 1").fill("15")
    summary = page.locator("#summary-text")
    expect(summary).to_have_text("15% off the cart, with a coupon code")

    # A second action, shaped by its type, then gone again; the summary follows both.
    page.get_by_label("Add an action").select_option(label="Free shipping")
    rows_change(page, page.get_by_role("button", name="Add action").click)
    page.get_by_label("Up to (USD), action 2").fill("10.00")
    expect(summary).to_have_text("15% off the cart and free shipping (up to 10.00), with a coupon code")
    shot(page, "promotions-editor")
    rows_change(page, page.get_by_role("button", name="Remove action 2").click)
    expect(page.get_by_label("Action 2", exact=True)).to_have_count(0)
    expect(summary).to_have_text("15% off the cart, with a coupon code")

    page.get_by_role("button", name="Save promotion").click()
    expect(page.get_by_text("Promotion “Summer code 15” saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Summer code 15")).to_be_visible()
    expect(page.locator("#promotion-status")).to_have_text("Active")

    page.get_by_label("Type a code").fill("SUMMER15")
    page.get_by_role("button", name="Add codes").click()
    expect(page.locator("#new-codes")).to_contain_text("1 code added")
    expect(page.locator("table.coupon-table")).to_contain_text("SUMMER15")
    expect(page.get_by_role("link", name="Export CSV (1)")).to_be_visible()
    page.get_by_label("or generate this many").fill("6")
    page.get_by_role("button", name="Add codes").click()
    expect(page.locator("#new-codes")).to_contain_text("6 codes added")
    expect(page.locator("table.coupon-table tbody tr")).to_have_count(7)
    shot(page, "promotions-detail")

    page.get_by_role("navigation", name="Promotions").get_by_role("link", name="Simulator").click()
    expect(page.get_by_role("heading", name="Simulator")).to_be_visible()
    page.get_by_label("Product, line 1").fill("Trail runner tee")
    page.get_by_label("Categories, line 1").fill("Tops")
    page.get_by_label("Unit price, line 1").fill("40.00")
    page.get_by_label("Shipping price (USD)").fill("5.00")
    page.get_by_label("Coupon codes").fill("summer15")
    page.get_by_role("button", name="Price this cart").click()

    quote = page.locator("#quote")
    expect(quote.locator("#quote-discount-total")).to_have_text("−6.00")
    expect(quote.locator("#quote-line-0")).to_contain_text("−6.00 Summer code 15")
    expect(quote.locator("#quote-applied")).to_contain_text("Summer code 15")
    expect(quote.locator("#quote-applied")).to_contain_text("−6.00")
    expect(quote.locator("#quote-due")).to_have_text("39.00 USD")  # 40 - 6 + 5 shipping
    expect(quote.locator("#quote-not-applied li").filter(has_text="Free shipping over 75")).to_contain_text(
        "Subtotal 40.00 is not above 75.00")
    expect(quote.locator("#quote-codes")).to_contain_text("accepted")
    page.get_by_role("button", name="Add line").click()
    expect(page.get_by_label("Product, line 4")).to_be_visible()
    expect(page.get_by_label("Product, line 1")).to_have_value("Trail runner tee")  # the cart is kept
    page.get_by_role("button", name="Price this cart").click()
    expect(quote.locator("#quote-due")).to_have_text("39.00 USD")
    shot(page, "promotions-simulator")

    # On a phone the same pages stack: no table wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    for name, url in (("simulator", "/promotions/simulator"), ("list", "/promotions")):
        if url != "/promotions/simulator":
            page.goto(f"{live_server.url}{url}")
        shot(page, f"promotions-{name}-narrow")
        assert widest(page) <= 390, name
    page.get_by_role("link", name="Summer code 15", exact=True).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Percent off (%), action 1")).to_have_value("15")
    page.get_by_label("Add an action").select_option(label="Buy X, get Y")
    rows_change(page, page.get_by_role("button", name="Add action").click)
    page.get_by_label("Categories, customer buys, action 2").fill("Socks")
    page.get_by_label("Quantity, customer buys, action 2").fill("2")
    expect(page.locator("#summary-text")).to_have_text(
        "15% off the cart and buy 2 of Socks, get 1 of every item free, with a coupon code")
    assert widest(page) <= 390
    shot(page, "promotions-editor-narrow")
    page.set_viewport_size({"width": 1400, "height": 1000})
    shot(page, "promotions-editor-buy-get")
    assert problems == []
