"""A person's session in the browser: watch live markets, start a sandbox account, trade, lend."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal

from playwright.sync_api import Page, expect

from tests.api.conftest import Server, sandbox_account, wait_for_depth
from tests.web.conftest import Web, number


def load(web: Web) -> Page:
    page = web.page
    page.goto(web.url + "/?market=SOL_USDC")
    page.wait_for_selector("body[data-ready='1']")
    return page


def wait_for_live_market(page: Page) -> None:
    """Book from REST + depth stream, trades from the trade stream, candles from klines + kline stream."""
    expect(page.locator("#book-bids .level").first).to_be_visible()
    expect(page.locator("#book-asks .level").first).to_be_visible()
    expect(page.locator("#trades .level").first).to_be_visible()
    page.wait_for_function("Number(document.querySelector('#chart').dataset.bars) >= 1")
    page.wait_for_function("Number(document.querySelector('#chart').dataset.live) >= 2")  # two live kline frames
    expect(page.locator("#chart canvas").first).to_be_visible()
    expect(page.locator("#stat-volume")).to_contain_text("SOL")
    expect(page.locator("#market-select option[value='SOL_USDC']")).to_contain_text("%")  # 24h change


def best_bid(page: Page) -> Decimal:
    return Decimal(page.locator("#book-bids .level").first.get_attribute("data-price") or "0")


def available(page: Page, asset: str) -> Decimal:
    return Decimal(page.locator(f"#balances tr[data-asset='{asset}'] td.available").inner_text())


def test_trade_lend_and_redeem(web: Web) -> None:
    page = load(web)
    wait_for_live_market(page)
    web.shot("01-trade-live-market")

    # start trading: key pair made in the page, only the public key sent
    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    expect(page.locator("#session-label")).to_contain_text("Account")
    expect(page.locator("#order-available")).to_have_text("100000 USDC")
    stored = page.evaluate("JSON.parse(localStorage.getItem('rucksack.session'))")
    assert stored["apiKey"] and stored["secret"] and stored["apiKey"] != stored["secret"]

    # a limit buy 2% under the best bid rests: open orders and the book show it
    price = (best_bid(page) * Decimal("0.98")).quantize(Decimal("0.01"), ROUND_DOWN)
    page.fill("#order-price", str(price))
    page.fill("#order-qty", "1")
    expect(page.locator("#order-cost")).to_contain_text(f"{price:,} USDC")
    expect(page.locator("#order-fee")).to_contain_text("%")
    expect(page.locator("#order-margin")).to_contain_text("spot")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("New")
    row = page.locator("#open-orders tbody tr", has_text=f"{price}")
    expect(row).to_have_count(1)
    expect(page.locator(f"#book-bids .level.mine[data-price='{price}']")).to_have_count(1)
    expect(page.locator("#order-available")).not_to_have_text("100000 USDC")
    assert number(page.locator("#order-available").inner_text()) == Decimal(100000) - price  # held
    web.shot("02-trade-limit-order-resting")

    # cancel it: gone from open orders and from the book
    row.locator("button.cancel").click()
    expect(page.locator("#orders-msg")).to_contain_text("Cancelled")
    expect(page.locator("#open-orders tbody tr")).to_have_count(0)
    expect(page.locator(f"#book-bids .level[data-price='{price}']")).to_have_count(0)
    expect(page.locator("#order-available")).to_have_text("100000 USDC")

    # cancel-all on two resting orders
    for p in (price, price - Decimal("0.5")):
        page.fill("#order-price", str(p))
        page.click("#order-submit")
        expect(page.locator("#order-msg")).to_contain_text("New")
        if p == price:  # the live tables update rows in place: the first order's row (and its Cancel
            # button, which a click may be pressing) stays the same element when the second arrives
            expect(page.locator("#open-orders tbody tr")).to_have_count(1)
            page.evaluate("window.firstRow = document.querySelector('#open-orders tbody tr')")
    expect(page.locator("#open-orders tbody tr")).to_have_count(2)
    assert page.evaluate("window.firstRow.isConnected") is True
    assert f"{price}" in page.evaluate("window.firstRow.textContent")
    page.click("#cancel-all")
    expect(page.locator("#orders-msg")).to_contain_text("Cancelled 2 order(s)")
    expect(page.locator("#open-orders tbody tr")).to_have_count(0)

    # IOC at a price nobody sells at: expires at once, nothing rests
    page.select_option("#order-tif", "IOC")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("Expired")
    expect(page.locator("#open-orders tbody tr")).to_have_count(0)
    page.select_option("#order-tif", "GTC")

    # an error from the API appears next to the action: a post-only bid above the best ask would take
    web.console.expect(r"status of 400")
    best_ask = Decimal(page.locator("#book-asks .level").last.get_attribute("data-price") or "0")
    # 1% above it, so a re-quote by the makers between reading the book and submitting (every
    # half second; slow under load) still leaves the bid crossing
    page.fill("#order-price", str((best_ask * Decimal("1.01")).quantize(Decimal("0.01"))))
    page.check("#order-postonly")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_have_attribute("data-kind", "error")
    expect(page.locator("#order-msg")).to_contain_text("INVALID_ORDER")
    page.uncheck("#order-postonly")

    # a marketable order: the fill shows in the fills tab and the balances move
    wait_for_depth(web.url, "SOL_USDC", "asks", "0.5")
    page.select_option("#order-type", "Market")
    page.fill("#order-qty", "0.5")
    expect(page.locator("#order-cost")).to_contain_text("≈")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("Filled")
    page.click("#order-tabs [data-tab='fills']")
    expect(page.locator("#fills tbody tr").first).to_contain_text("SOL_USDC")
    expect(page.locator("#fills tbody tr").first).to_contain_text("taker")
    page.click("#order-tabs [data-tab='history']")
    expect(page.locator("#order-history tbody tr").first).to_contain_text("Filled")
    page.wait_for_function("!document.querySelector('#order-available').textContent.startsWith('100000 ')")
    spent = Decimal(100000) - number(page.locator("#order-available").inner_text())
    assert Decimal(50) < spent < Decimal(100), spent  # 0.5 SOL at ~150 plus nothing else
    web.shot("03-trade-after-market-fill")

    # account page: balances (available / locked / lent) and the collateral summary
    page.click("#nav [data-page='account']")
    expect(page.locator("#col-net-equity")).to_contain_text("USDC")
    expect(page.locator("#col-margin-fraction")).not_to_have_text("–")
    sol = available(page, "SOL")
    assert Decimal("500.4") < sol < Decimal("500.5"), sol  # 500 granted + 0.5 bought - the taker fee in SOL
    assert available(page, "USDC") == Decimal(100000) - spent
    web.shot("04-account")

    # the account lends by itself (autoLend, Backpack's default): its USDC is lent already, and
    # still available. Redeem 1000 of it on the Lend page, then lend it again
    lent = Decimal(page.locator("#balances tr[data-asset='USDC'] td.lent").inner_text())
    assert lent == Decimal(100000) - spent
    page.click("#nav [data-page='lend']")
    usdc = page.locator("#lend-markets tr[data-asset='USDC']")
    expect(usdc).to_be_visible()
    # the rate curve (Rucksack's rateCurve extension) is drawn: borrow and lend APR, current utilization marked
    curve = usdc.locator("svg.rate-curve")
    expect(curve).to_be_visible()
    expect(curve.locator("polyline.borrow")).to_have_count(1)
    expect(curve.locator("polyline.lend")).to_have_count(1)
    expect(curve.locator("line.optimal")).to_have_count(1)
    expect(curve.locator("circle.now")).to_have_count(2)
    assert len(curve.locator("polyline.borrow").get_attribute("points").split()) == 3  # kinked at U*
    assert curve.locator("line.now").get_attribute("x1") == curve.locator("line.axis").get_attribute("x1")  # U = 0
    expect(usdc.locator("td.position")).to_have_text(f"lent {lent.normalize():f}")
    expect(usdc.locator("button.redeem")).to_have_text("Redeem")
    usdc.locator("input.amount").fill("1000")
    usdc.locator("button.redeem").click()
    expect(usdc.locator(".msg")).to_contain_text("Redeemed 1000 USDC")
    expect(usdc.locator("td.position")).to_have_text(f"lent {(lent - 1000).normalize():f}")
    page.click("#nav [data-page='account']")
    expect(page.locator("#balances tr[data-asset='USDC'] td.lent")).to_have_text(f"{(lent - 1000).normalize():f}")
    assert available(page, "USDC") == Decimal(100000) - spent  # 1000 idle, the rest lent: all available
    page.click("#nav [data-page='lend']")
    usdc.locator("input.amount").fill("1000")
    usdc.locator("button.lend").click()
    expect(usdc.locator(".msg")).to_contain_text("Lent 1000 USDC")
    expect(usdc.locator("td.position")).to_have_text(f"lent {lent.normalize():f}")
    web.shot("05-lend")
    page.click("#nav [data-page='account']")
    expect(page.locator("#balances tr[data-asset='USDC'] td.lent")).to_have_text(f"{lent.normalize():f}")

    # a reload keeps the sandbox session (localStorage); signing out forgets the key
    page.reload()
    page.wait_for_selector("body.signed-in")
    page.click("#sign-out")
    assert page.evaluate("localStorage.getItem('rucksack.session')") is None


def test_api_key_sign_in(web: Web, server: Server) -> None:
    creds = sandbox_account(server, USDC="2500", SOL="3")
    page = load(web)
    page.click("#show-apikey")
    page.fill("#apikey-key", creds.api_key)
    page.fill("#apikey-secret", "A" * 43 + "=")  # a valid seed, but not this key's
    page.click("#apikey-form button[type='submit']")
    expect(page.locator("#apikey-msg")).to_contain_text("does not belong")
    page.fill("#apikey-secret", creds.secret)
    page.click("#apikey-form button[type='submit']")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    assert page.evaluate("localStorage.getItem('rucksack.session')") is None  # not remembered
    assert page.evaluate("sessionStorage.getItem('rucksack.session')") is not None
    page.click("#nav [data-page='account']")
    expect(page.locator("#balances tr[data-asset='USDC'] td.available")).to_have_text("2500")
    expect(page.locator("#balances tr[data-asset='SOL'] td.available")).to_have_text("3")

    # another market: the book, trades and chart start over from that market's data
    page.click("#nav [data-page='trade']")
    wait_for_live_market(page)
    page.select_option("#market-select", "BTC_USDC")
    expect(page.locator("#order-submit")).to_have_text("Buy BTC")
    page.wait_for_function("Number(document.querySelector('#book-bids .level')?.dataset.price) > 1000")
    page.wait_for_function("Number(document.querySelector('#chart').dataset.live) >= 1")
    assert "market=BTC_USDC" in page.url
    web.shot("06-trade-btc")


def test_phone_width(phone: Web) -> None:
    page = load(phone)
    wait_for_live_market(page)
    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    page.select_option("#market-select", "SOL_USDC_PERP")  # the TP / SL rows exist on perps only
    page.click("#tpsl summary")  # the trigger / TP / SL rows open, with their trigger-by choices
    controls = {
        "trade": [
            "#order-submit",
            "#order-qty",
            "#order-sl-limit",
            "#order-sl-by",
            "#order-tabs [data-tab='position-history']",
            "#stat-countdown",
        ],
        "account": ["#balances", "#lev-input", "#lev-set", "#withdraw-qty", "#withdraw-submit"],
        "lend": ["button.lend"],
    }
    for name in ("trade", "account", "lend"):
        page.click(f"#nav [data-page='{name}']")
        page.wait_for_timeout(300)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} page overflows a 390 px screen: {width}"
        for control in controls[name]:
            box = page.locator(control).first.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, control, box)
        phone.shot(f"phone-{name}")
