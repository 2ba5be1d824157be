"""A pre-market on the trade page of the sandbox, the README's newcomer path (docs/premarket.md):
the demo pre-market is in the market selector marked PRE-MARKET with a badge (phase, leverage
cap, isolated margin); the demo makers quote it lightly; the main account's order is refused in
words; a subaccount made on the page buys it; the sandbox lists RUCK and the position settles."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
from playwright.sync_api import expect

from tests.api.conftest import Server, wait_for_depth
from tests.web.conftest import Web, start_trading


def test_trade_the_demo_pre_market_from_a_subaccount_to_its_settlement(web: Web, server: Server) -> None:
    page = start_trading(web, "/?market=RUCK_USDC_PERP")
    expect(page.locator("#market-select option[value='RUCK_USDC_PERP']")).to_contain_text("RUCK/USDC PRE-MARKET")
    assert page.locator("#market-select option[value='RUCK_USDC']").count() == 0  # not listed yet: not shown
    badge = page.locator("#premarket-badge")
    expect(badge).to_have_text("Pre-market · Trading · 2x isolated")
    assert "time-weighted average" in (badge.get_attribute("title") or "")
    expect(page.locator("#stat-mark")).to_be_visible()  # a perp to the page: mark shown ...
    for no_such in ("#stat-index", "#stat-funding", "#stat-countdown"):  # ... but no index, no funding
        expect(page.locator(no_such)).to_be_hidden()
    wait_for_depth(web.url, "RUCK_USDC_PERP", "asks", "100", timeout=30)  # the makers' light quoting
    web.shot("60-premarket-badge")

    # the main account is refused, in words
    web.console.expect("Failed to load resource.*400")  # (the refusal, as the browser logs it)
    page.select_option("#order-type", "Market")
    page.fill("#order-qty", "100")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("isolated margin", timeout=20_000)

    # a subaccount made on the page, 1,000 USDC moved in: it buys 100 RUCK
    page.click("#nav [data-page='account']")
    page.fill("#sub-label", "pre-market")
    page.click("#sub-create")
    expect(page.locator("#sub-msg")).to_contain_text("Created subaccount", timeout=20_000)
    page.select_option("#xfer-asset", "USDC")
    page.fill("#xfer-qty", "1000")
    page.click("#xfer-to")
    expect(page.locator("#sub-msg")).to_contain_text("Moved 1000 USDC", timeout=20_000)
    page.click("#nav [data-page='trade']")
    page.select_option("#order-type", "Market")
    page.fill("#order-qty", "100")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("Filled", timeout=20_000)
    page.click("#order-tabs [data-tab='positions']")
    row = page.locator("#positions tbody tr[data-symbol='RUCK_USDC_PERP']")
    expect(row.locator("td.size")).to_have_text(re.compile("^Long 100"))

    # the sandbox lists RUCK with a 3-second window: the badge goes to Listing, then Settled
    listed = subprocess.run(
        [sys.executable, "-m", "rucksack", "sandbox", "premarket-list", "--url", web.url,
         "--data-dir", str(server.data_dir), "--symbol", "RUCK_USDC_PERP", "--window-seconds", "3"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert '"Listing"' in listed.stdout
    expect(badge).to_have_text(re.compile(r"^Pre-market · Settled at \d+\.\d{4} · 2x isolated$"), timeout=30_000)
    expect(row).to_have_count(0)
    market = next(m for m in httpx.get(web.url + "/api/v1/markets").json() if m["symbol"] == "RUCK_USDC_PERP")
    assert market["orderBookState"] == "Closed" and market["preMarket"]["settlementPrice"] in badge.inner_text()
    web.shot("61-premarket-settled")
    deadline = time.monotonic() + 5
    while "RUCK_USDC" not in {m["symbol"] for m in httpx.get(web.url + "/api/v1/markets").json() if m["visible"]}:
        assert time.monotonic() < deadline
        time.sleep(0.2)
