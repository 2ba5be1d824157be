"""The web front end in headless Chromium (Debian's package, driven by Playwright) against a real server.

Playwright's own browser downloads are impossible here, so the system browser is launched by path:
``RUCKSACK_CHROMIUM`` or ``chromium`` on PATH (``make setup`` installs it). Every page a test opens
fails the test on any console error or uncaught exception unless the test expects that message.
Screenshots go to ``build/artifacts/web/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from tests.api.conftest import Creds, Server, Signed, start_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "artifacts" / "web"
# As root in a closed network: no sandbox, and none of Chromium's own calls home (docs/web.md)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.slow


def chromium_path() -> str:
    path = os.environ.get("RUCKSACK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no chromium on PATH: `make setup` installs Debian's chromium (or set RUCKSACK_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A sandbox server with the seeded price feed and the demo makers: live books, trades, candles."""
    srv = start_server(tmp_path_factory.mktemp("web-exchange"), "--feed", "sim")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Console:
    """Console errors and page exceptions; ``expect`` lets one known message through."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "assert"):
            self.record(f"console.{msg.type}: {msg.text} @ {msg.location.get('url', '')}")

    def record(self, text: str) -> None:
        for i, pattern in enumerate(self.allowed):
            if pattern.search(text):
                del self.allowed[i]
                return
        self.errors.append(text)

    def expect(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))


@dataclass
class Web:
    page: Page
    console: Console
    url: str

    def shot(self, name: str, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def open_web(browser: Browser, server: Server, width: int = 1400, height: int = 900) -> tuple[Web, BrowserContext]:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    console = Console()
    page.on("console", console.on_console)
    page.on("pageerror", lambda exc: console.record(f"pageerror: {exc}"))
    return Web(page, console, server.url), context


@pytest.fixture
def web(browser: Browser, server: Server) -> Iterator[Web]:
    w, context = open_web(browser, server)
    yield w
    w.page.wait_for_timeout(200)  # let late console messages arrive
    context.close()
    assert not w.console.errors, w.console.errors
    assert not w.console.allowed, f"expected console messages never came: {w.console.allowed}"


@pytest.fixture
def phone(browser: Browser, server: Server) -> Iterator[Web]:
    w, context = open_web(browser, server, 390, 844)
    yield w
    w.page.wait_for_timeout(200)
    context.close()
    assert not w.console.errors, w.console.errors


def number(text: str) -> Decimal:
    """The first figure of a shown amount, e.g. ``"1,000.00 USDC"`` -> ``1000.00``."""
    return Decimal(re.sub(r"[^0-9.\-]", "", text.split()[0]))


def browser_client(web: Web) -> Signed:
    """The page's own sandbox key, read from localStorage, for checking what the API holds."""
    stored = web.page.evaluate("JSON.parse(localStorage.getItem('rucksack.session'))")
    return Signed(web.url, Creds(stored["apiKey"], stored["secret"], stored["accountId"]))


def start_trading(web: Web, path: str = "/") -> Page:
    """Open ``path``, wait for the page, and click "start trading" (a fresh sandbox account)."""
    page = web.page
    page.goto(web.url + path)
    page.wait_for_selector("body[data-ready='1']")
    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    return page
