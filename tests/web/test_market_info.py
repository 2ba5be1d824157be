"""What a newcomer sees on the trade bar and the account page of a plain sandbox (no chain attached):
perp-only controls only on perps, the mark / index / funding figures with a live countdown, and
custody panels that say plainly when deposits and withdrawals are off."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import httpx
from playwright.sync_api import expect

from tests.web.conftest import Web, number, start_trading


def test_spot_hides_perp_controls_and_perps_show_mark_index_funding(web: Web) -> None:
    page = start_trading(web, "/?market=SOL_USDC")
    perp_controls = ("#order-reduceonly", "#order-tp", "#order-sl-limit", "#stat-mark", "#stat-countdown")
    page.click("#tpsl summary")  # the trigger row stays (triggers work on spot); TP/SL rows do not
    expect(page.locator("#order-trigger")).to_be_visible()
    for control in perp_controls:
        expect(page.locator(control)).to_be_hidden()

    page.select_option("#market-select", "SOL_USDC_PERP")
    for control in perp_controls:
        expect(page.locator(control)).to_be_visible()
    page.check("#order-reduceonly")
    page.fill("#order-tp", "999")

    # seeded from GET markPrices, then live from markPrice.SOL_USDC_PERP frames
    [api] = httpx.get(web.url + "/api/v1/markPrices", params={"symbol": "SOL_USDC_PERP"}).json()
    page.wait_for_function("Number(document.querySelector('#stat-mark').dataset.frames) >= 1", timeout=20_000)
    mark, index = number(page.locator("#stat-mark").inner_text()), number(page.locator("#stat-index").inner_text())
    assert abs(mark - Decimal(api["markPrice"])) / mark < Decimal("0.05"), (mark, api)
    assert abs(index - Decimal(api["indexPrice"])) / index < Decimal("0.05"), (index, api)
    expect(page.locator("#stat-funding")).to_have_text(re.compile(r"^[+-]\d+\.\d{4}%$"))
    funding = Decimal(page.locator("#stat-funding").inner_text().rstrip("%")) / 100
    assert abs(funding - Decimal(api["fundingRate"])) < Decimal("0.0001"), (funding, api)

    # hh:mm:ss to the next funding (the top of the hour), ticking every second
    countdown = page.locator("#stat-countdown")
    expect(countdown).to_have_text(re.compile(r"^\d\d:[0-5]\d:[0-5]\d$"))
    first = int(countdown.get_attribute("data-seconds") or "-1")
    expected = (int(api["nextFundingTimestamp"]) - int(time.time() * 1000)) // 1000
    assert 0 <= first <= 3600 and abs(first - expected) <= 3, (first, expected)
    page.wait_for_timeout(2_100)
    later = int(countdown.get_attribute("data-seconds") or "-1")
    assert later != first and (later < first or first <= 2), (first, later)  # it moved (or wrapped at the hour)
    web.shot("30-perp-market-bar")

    # back on spot: the perp-only controls are gone and reset, so an order carries no reduce-only
    page.select_option("#market-select", "SOL_USDC")
    for control in perp_controls:
        expect(page.locator(control)).to_be_hidden()
    assert not page.locator("#order-reduceonly").is_checked()
    assert page.locator("#order-tp").input_value() == ""
    page.select_option("#market-select", "SOL_USDC_PERP")
    assert not page.locator("#order-reduceonly").is_checked()  # a market switch starts the perp controls afresh


def test_custody_panels_without_a_chain_say_so(web: Web) -> None:
    """This server runs without --chain-rpc: the panels follow the assets' published flags and say plainly
    that nothing can move on chain (no failure, no console error)."""
    page = start_trading(web)
    page.click("#nav [data-page='account']")
    assets = httpx.get(web.url + "/api/v1/assets").json()
    depositable = [a for a in assets if any(t.get("depositEnabled") for t in a.get("tokens") or [])]
    withdrawable = [a for a in assets if any(t.get("withdrawEnabled") for t in a.get("tokens") or [])]
    if not depositable:
        expect(page.locator("#deposit-panel")).to_have_attribute("data-state", "no-chain")
        expect(page.locator("#deposit-msg")).to_contain_text("no blockchain attached")
        expect(page.locator("#deposit-address-row")).to_be_hidden()
    if not withdrawable:
        expect(page.locator("#withdraw-panel")).to_have_attribute("data-state", "no-chain")
        expect(page.locator("#withdraw-msg")).to_contain_text("Withdrawals are off")
        expect(page.locator("#withdraw-submit")).to_be_disabled()
    # the sandbox grant is a deposit (source administrator), listed with its status
    rows = page.locator("#deposit-history tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text="USDC").first).to_contain_text("100000")
    expect(rows.first.locator("td.status")).to_have_text("confirmed")
    page.click("#capital-tabs [data-tab='withdrawals']")
    expect(page.locator("#withdrawal-history").locator("..").locator(".empty-note")).to_be_visible()
    web.shot("31-account-no-chain")
