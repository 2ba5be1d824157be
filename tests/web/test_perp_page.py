"""Perpetuals in the browser: open a position with a market order, see it, a trigger order, one-click close."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from tests.web.conftest import Web


def number(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text.split()[0]))


def test_open_and_close_perp_position(web: Web) -> None:
    page = web.page
    page.goto(web.url + "/?market=SOL_USDC_PERP")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("#book-asks .level").first).to_be_visible()
    expect(page.locator("#book-bids .level").first).to_be_visible()

    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    expect(page.locator("#order-available")).to_have_text("100000 USDC")
    expect(page.locator("#order-reduceonly")).to_be_enabled()  # perp market: reduce-only and TP/SL are live
    expect(page.locator("#order-tp")).to_be_enabled()

    # a marketable buy opens a long: the Positions tab shows entry, mark and unrealized PnL
    page.select_option("#order-type", "Market")
    page.fill("#order-qty", "1")
    expect(page.locator("#order-margin")).to_contain_text("IMF")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("Filled")
    page.click("#order-tabs [data-tab='positions']")
    row = page.locator("#positions tbody tr[data-symbol='SOL_USDC_PERP']")
    expect(row).to_have_count(1)
    expect(row.locator("td.size")).to_have_text("Long 1.00")
    expect(page.locator("#positions-tab")).to_have_text("Positions (1)")
    entry = number(row.locator("td.entry").inner_text())
    mark = number(row.locator("td.mark").inner_text())
    assert entry > 0 and abs(mark - entry) / entry < Decimal("0.05"), (entry, mark)
    expect(row.locator("td.pnl")).to_contain_text("USDC")
    expect(row.locator("td.liq")).not_to_be_empty()

    # a reduce-only stop (trigger order) waits as TriggerPending in open orders; cancel-all removes it
    page.click("#order-tabs [data-tab='open']")
    page.click(".side-toggle [data-side='Ask']")
    page.check("#order-reduceonly")
    page.click("#tpsl summary")
    page.fill("#order-trigger", str((mark * Decimal("0.8")).quantize(Decimal("0.01"))))
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("TriggerPending")
    pending = page.locator("#open-orders tbody tr", has_text="trigger")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("reduce-only")
    page.click("#cancel-all")
    expect(page.locator("#open-orders tbody tr")).to_have_count(0)
    page.fill("#order-trigger", "")
    page.uncheck("#order-reduceonly")

    # the account page: margin figures from capital/collateral and the same position
    page.click("#nav [data-page='account']")
    expect(page.locator("#account-positions tbody tr[data-symbol='SOL_USDC_PERP']")).to_have_count(1)
    expect(page.locator("#col-margin-fraction")).not_to_contain_text("no positions")
    expect(page.locator("#col-leverage")).to_contain_text("×")
    assert number(page.locator("#col-leverage").inner_text()) > 0
    web.shot("20-account-perp-position")

    # one click closes it: a reduce-only market order for the size; the row goes away
    page.click("#nav [data-page='trade']")
    page.click("#order-tabs [data-tab='positions']")
    web.shot("21-trade-perp-position")
    row.locator("button.close").click()
    expect(page.locator("#orders-msg")).to_contain_text("Filled")
    expect(page.locator("#positions tbody tr")).to_have_count(0)
    expect(page.locator("#positions-tab")).to_have_text("Positions")
    expect(page.locator("#positions + .empty-note")).to_be_visible()
    page.click("#order-tabs [data-tab='fills']")
    perp_fills = page.locator("#fills tbody tr", has_text="SOL_USDC_PERP")
    expect(perp_fills.filter(has_text="Sell").first).to_be_visible()  # the close walked the bids
    expect(perp_fills.filter(has_text="Buy").first).to_be_visible()
    web.shot("22-trade-perp-closed")


def test_subaccount_switcher(web: Web) -> None:
    """Create a subaccount, move USDC into it, view its balances and margin, switch back to the main account."""
    page = web.page
    page.goto(web.url + "/#account")
    page.wait_for_selector("body[data-ready='1']")
    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    usdc = page.locator("#balances tr[data-asset='USDC'] td.available")
    expect(usdc).to_have_text("100000")
    expect(page.locator("#sub-note")).to_contain_text("every order is placed from the main account")

    page.fill("#sub-label", "hedging")
    page.click("#sub-create")
    expect(page.locator("#sub-msg")).to_contain_text("Created subaccount")
    expect(page.locator("#sub-select option", has_text="hedging")).to_have_count(1)
    sub = page.locator("#sub-select").input_value()
    assert sub != "0"
    expect(page.locator("#page-account")).to_have_attribute("data-view", sub)
    expect(page.locator("#balances tbody tr")).to_have_count(0)  # a new subaccount holds nothing

    page.select_option("#xfer-asset", "USDC")
    page.fill("#xfer-qty", "1000")
    page.click("#xfer-to")
    expect(page.locator("#sub-msg")).to_contain_text(f"Moved 1000 USDC to subaccount #{sub}")
    expect(usdc).to_have_text("1000")
    expect(page.locator("#col-net-equity")).to_contain_text("1,000.00 USDC")
    web.shot("23-account-subaccount")

    page.select_option("#sub-select", "0")
    expect(page.locator("#page-account")).to_have_attribute("data-view", "0")
    expect(usdc).to_have_text("99000")
    page.click("#nav [data-page='trade']")
    expect(page.locator("#order-available")).to_have_text("99000 USDC")  # orders go from the main account
