"""A pre-market on the trade page of the sandbox (docs/premarket.md): the demo pre-market is in
the market selector marked PRE-MARKET, a badge beside it says its phase, leverage cap and
isolated margin, and the demo makers quote it lightly from their isolated subaccounts."""

from __future__ import annotations

import time

import httpx
from playwright.sync_api import expect

from tests.web.conftest import Web


def test_the_demo_pre_market_is_badged_and_quoted(web: Web) -> None:
    page = web.page
    page.goto(web.url + "/?market=RUCK_USDC_PERP")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("#market-select option[value='RUCK_USDC_PERP']")).to_contain_text("RUCK/USDC PRE-MARKET")
    assert page.locator("#market-select option[value='RUCK_USDC']").count() == 0  # not listed yet: not shown
    badge = page.locator("#premarket-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("Pre-market · Trading · 2x isolated")
    assert "time-weighted average" in (badge.get_attribute("title") or "")
    expect(page.locator("#stat-mark")).to_be_visible()  # a perp to the page: mark shown
    web.shot("60-premarket-badge")
    # light quoting by the demo makers' isolated subaccounts
    deadline = time.monotonic() + 30
    while True:
        book = httpx.get(web.url + "/api/v1/depth", params={"symbol": "RUCK_USDC_PERP"}).json()
        if book["bids"] and book["asks"]:
            break
        assert time.monotonic() < deadline, "the demo makers never quoted the pre-market"
        time.sleep(0.5)
    page.select_option("#market-select", "SOL_USDC")
    expect(badge).to_be_hidden()
