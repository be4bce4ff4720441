"""Take screenshots of the dashboard pages from a running `make run`, for the README and for
looking at what we built. Usage: python docs/screenshots.py [BASE_URL] [OUT_DIR]"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "docs")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = {
    "customer-notifications": "/settings/notifications",
    "overview": "/",
    "audit-log": "/settings/audit",
    "orders": "/orders",
    "providers": "/settings/providers",
    "outbox": "/outbox",
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{BASE}/login")
        page.screenshot(path=str(OUT / "login.png"))
        page.get_by_label("Email").fill("owner@demo.test")
        page.get_by_label("Password").fill("demo-owner-pass")
        page.get_by_role("button", name="Sign in").click()
        for name, path in PAGES.items():
            page.goto(BASE + path)
            page.screenshot(path=str(OUT / f"{name}.png"))
        page.goto(BASE + "/settings/notifications")
        page.get_by_label("SMS for Fanvista · Delivered").check()
        page.get_by_text("1 rule with unsaved changes").wait_for()
        page.screenshot(path=str(OUT / "customer-notifications-unsaved.png"))
        browser.close()


if __name__ == "__main__":
    main()
