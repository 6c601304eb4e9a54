"""Playwright for Python driving Debian's chromium (its own browser download is not
reachable here): a signed-in page per test, screenshots under var/screenshots/."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import chromium
from tests.helpers import ROOT
from tests.web_helpers import PASSWORD

SHOTS = ROOT / "var" / "screenshots"
WIDTHS = {"laptop": (1366, 860), "phone": (390, 844)}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(b, base: str, email: str, *, width: str = "laptop"):
    w, h = WIDTHS[width]
    context = b.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("form[action='/login'] input[name=email]", email)
    page.fill("form[action='/login'] input[name=password]", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(r".*/$"))
    return page


def shoot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def overflows(page) -> bool:
    """Does the page scroll sideways (something wider than the screen outside a scroller)?"""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
