"""Perpetuals in the browser: open a position with a market order, see it, a trigger order, one-click close;
the leverage limit; take profit / stop loss with limit prices and trigger references; margin histories;
a subaccount trading with its own key made in the page."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
from playwright.sync_api import Page, expect

from rucksack.exchange.service import admin_token_path
from tests.api.conftest import Creds, Server, Signed, wait_for_depth
from tests.web.conftest import Web, browser_client, number, start_trading


def test_open_and_close_perp_position(web: Web) -> None:
    page = start_trading(web, "/?market=SOL_USDC_PERP")
    expect(page.locator("#book-asks .level").first).to_be_visible()
    expect(page.locator("#book-bids .level").first).to_be_visible()
    expect(page.locator("#order-available")).to_have_text("100000 USDC")
    expect(page.locator("#order-reduceonly")).to_be_enabled()  # perp market: reduce-only and TP/SL are live
    expect(page.locator("#order-tp")).to_be_enabled()

    # a marketable buy opens a long: the Positions tab shows entry, mark and unrealized PnL
    wait_for_depth(web.url, "SOL_USDC_PERP", "asks", "1")
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
    # the estimated liquidation price is the API's (none for 1 SOL on 100,000 USDC: shown as "–")
    [api] = browser_client(web).request("GET", "/api/v1/position", "positionQuery").json()
    liq = Decimal(api["estLiquidationPrice"])
    if liq:
        assert abs(number(row.locator("td.liq").inner_text()) - liq) / liq < Decimal("0.01"), liq
    else:
        expect(row.locator("td.liq")).to_have_text("–")

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


def plain(d: Decimal) -> str:
    """A balance as the API writes it: no trailing zeros (prices keep the tick's places)."""
    return f"{d.normalize():f}"


def test_subaccount_trades_with_its_own_key(web: Web) -> None:
    """Create a subaccount, fund it, act as it with a key made in the page: its order is its own, not the main's."""
    page = start_trading(web, "/?market=SOL_USDC#account")
    usdc = page.locator("#balances tr[data-asset='USDC'] td.available")
    expect(usdc).to_have_text("100000")
    expect(page.locator("#acting-top")).to_have_text(re.compile("^Acting as Main account"))

    # a new subaccount becomes the acting wallet: a fresh key pair in the page, its public key bound by the main key
    page.fill("#sub-label", "hedging")
    page.click("#sub-create")
    expect(page.locator("#sub-msg")).to_contain_text("Created subaccount")
    sub = page.locator("#sub-select").input_value()
    assert sub != "0"
    expect(page.locator("body")).to_have_attribute("data-acting", sub)
    expect(page.locator("#acting-top")).to_contain_text(f"Acting as hedging (#{sub})")
    expect(page.locator("#acting-top")).to_have_class(re.compile("sub"))
    expect(page.locator("#balances tbody tr")).to_have_count(0)  # a new subaccount holds nothing
    stored = page.evaluate("JSON.parse(localStorage.getItem('rucksack.session'))")
    sub_key = stored["subKeys"][sub]
    assert sub_key["apiKey"] not in (stored["apiKey"], sub_key["secret"]) and stored["acting"] == int(sub)

    page.select_option("#xfer-asset", "USDC")
    page.fill("#xfer-qty", "1000")
    page.click("#xfer-to")
    expect(page.locator("#sub-msg")).to_contain_text(f"Moved 1000 USDC to subaccount #{sub}")
    expect(usdc).to_have_text("1000")
    expect(page.locator("#col-net-equity")).to_contain_text("1,000.00 USDC")
    web.shot("23-account-subaccount")

    # the Trade page acts as the subaccount: its balance, its open orders
    page.click("#nav [data-page='trade']")
    expect(page.locator("#order-wallet")).to_contain_text(f"hedging (#{sub})")
    expect(page.locator("#order-available")).to_have_text("1000 USDC")
    bid = Decimal(page.locator("#book-bids .level").first.get_attribute("data-price") or "0")
    price = (bid * Decimal("0.98")).quantize(Decimal("0.01"))
    page.fill("#order-price", str(price))
    page.fill("#order-qty", "1")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("New")
    expect(page.locator("#open-orders tbody tr", has_text=str(price))).to_have_count(1)
    expect(page.locator("#order-available")).to_have_text(f"{plain(1000 - price)} USDC")
    web.shot("24-trade-as-subaccount")

    # a reload keeps acting as the subaccount with its stored key (no second key is made)
    page.reload()
    page.wait_for_selector("body.signed-in")
    expect(page.locator("body")).to_have_attribute("data-acting", sub)
    expect(page.locator("#open-orders tbody tr", has_text=str(price))).to_have_count(1)
    page.click("#nav [data-page='lend']")
    expect(page.locator("#lend-wallet")).to_contain_text(f"Acting as hedging (#{sub})")

    main = browser_client(web)
    as_sub = Signed(web.url, Creds(sub_key["apiKey"], sub_key["secret"], int(sub)))
    sub_orders = as_sub.request("GET", "/api/v1/orders", "orderQueryAll").json()
    assert [(o["symbol"], o["side"], o["price"]) for o in sub_orders] == [("SOL_USDC", "Bid", str(price))]
    assert main.request("GET", "/api/v1/orders", "orderQueryAll").json() == []
    listed = main.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json()
    assert [a["apiKeys"] for a in listed if str(a["subaccountId"]) == sub] == [[sub_key["apiKey"]]]

    page.click("#nav [data-page='account']")
    expect(page.locator("#balances tr[data-asset='USDC'] td.locked")).to_have_text(plain(price))  # the order's hold
    expect(usdc).to_have_text(plain(1000 - price))

    # back to the main account: the main key again, no open orders there
    page.select_option("#sub-select", "0")
    expect(page.locator("body")).to_have_attribute("data-acting", "0")
    expect(usdc).to_have_text("99000")
    page.click("#nav [data-page='trade']")
    expect(page.locator("#order-wallet")).to_contain_text("Acting as Main account")
    expect(page.locator("#order-available")).to_have_text("99000 USDC")
    expect(page.locator("#open-orders tbody tr")).to_have_count(0)
    assert page.evaluate("JSON.parse(localStorage.getItem('rucksack.session')).acting") == 0


def admin_tick(server: Server, tick: str) -> None:
    token = admin_token_path(server.data_dir).read_text().strip()
    r = httpx.post(
        server.url + "/api/v1/sandbox/tick", json={"tick": tick}, headers={"X-Admin-Token": token}, timeout=30
    )
    assert r.status_code == 200, r.text


def max_size(page: Page) -> Decimal:
    page.wait_for_selector("#order-max[data-qty]")
    return Decimal(page.locator("#order-max").get_attribute("data-qty") or "0")


def test_leverage_limit_is_persisted_and_enforced(web: Web) -> None:
    """Set the account's leverage limit (PATCH account): checked in the page, kept across a reload, and a
    perp order too large for the new limit is refused with the server's message."""
    page = start_trading(web, "/?market=SOL_USDC_PERP#account")
    expect(page.locator("#lev-current")).to_have_text("50×")
    expect(page.locator("#col-min-imf")).to_have_text("2.00%")
    limit_at_50 = number(page.locator("#col-position-limit").inner_text())

    # refused in the page without a request (a 400 would log a console error and fail this test)
    for bad in ("0", "51", "2.5", "x"):
        page.fill("#lev-input", bad)
        page.click("#lev-set")
        expect(page.locator("#lev-msg")).to_have_text("Leverage must be a whole number from 1 to 50.")

    page.click("#nav [data-page='trade']")
    expect(page.locator("#order-max")).to_contain_text("SOL")
    max_at_50 = max_size(page)

    page.click("#nav [data-page='account']")
    page.fill("#lev-input", "2")
    page.click("#lev-set")
    expect(page.locator("#lev-msg")).to_have_text("Leverage limit set to 2×")
    expect(page.locator("#lev-current")).to_have_text("2×")
    expect(page.locator("#col-min-imf")).to_have_text("50.00%")
    ratio = limit_at_50 / number(page.locator("#col-position-limit").inner_text())
    assert Decimal("24") < ratio < Decimal("26"), ratio  # equity × 50, then × 2 (the collateral's prices move)
    web.shot("24-account-leverage")

    page.reload()  # the limit is the server's, not the page's
    page.wait_for_selector("body.signed-in")
    expect(page.locator("#lev-current")).to_have_text("2×")
    expect(page.locator("#lev-input")).to_have_value("2")

    # the trade page's figures follow: a smaller max size, IMF at least 50%
    page.click("#nav [data-page='trade']")
    page.wait_for_function(f"Number(document.querySelector('#order-max').dataset.qty) < {max_at_50}")
    max_at_2 = max_size(page)
    best_bid = Decimal(page.locator("#book-bids .level").first.get_attribute("data-price") or "0")
    price = (best_bid * Decimal("0.95")).quantize(Decimal("0.01"))
    qty = (max_at_2 * Decimal("1.5")).quantize(Decimal("0.01"))
    assert qty < max_at_50, (qty, max_at_50)  # the old limit would have taken it
    page.fill("#order-price", str(price))
    page.fill("#order-qty", str(qty))
    expect(page.locator("#order-margin")).to_contain_text("IMF 50.00%, leverage limit 2×")
    web.console.expect(r"status of 400")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_have_attribute("data-kind", "error")
    # 1.5x the maximum at 2x leverage is above the account's positionLimit (equity x 2)
    expect(page.locator("#order-msg")).to_contain_text("POSITION_LIMIT: Position limit")


def test_tp_sl_limit_prices_trigger_by_and_margin_histories(web: Web, server: Server) -> None:
    """A perp market buy with take-profit and stop-loss limit prices and trigger references: two
    reduce-only trigger orders wait; funding, settlement and position history show up in their tabs."""
    page = start_trading(web, "/?market=SOL_USDC_PERP")
    expect(page.locator("#book-asks .level").first).to_be_visible()
    expect(page.locator("#order-available")).to_have_text("100000 USDC")
    mark = Decimal(
        next(m for m in httpx.get(web.url + "/api/v1/markPrices").json() if m["symbol"] == "SOL_USDC_PERP")["markPrice"]
    )
    cents = Decimal("0.01")
    tp, tp_limit = (mark * Decimal("1.2")).quantize(cents), (mark * Decimal("1.19")).quantize(cents)
    sl, sl_limit = (mark * Decimal("0.8")).quantize(cents), (mark * Decimal("0.79")).quantize(cents)

    wait_for_depth(web.url, "SOL_USDC_PERP", "asks", "1")
    page.select_option("#order-type", "Market")
    page.fill("#order-qty", "1")
    page.click("#tpsl summary")
    expect(page.locator("#order-tp-by")).to_have_value("MarkPrice")  # Backpack's default on perps
    page.fill("#order-tp", str(tp))
    page.select_option("#order-tp-by", "LastPrice")
    page.fill("#order-sl", str(sl))
    page.select_option("#order-sl-by", "IndexPrice")
    expect(page.locator("#order-triggers")).to_have_text(f"TP at Last {tp} → market; SL at Index {sl} → market")
    page.fill("#order-tp-limit", str(tp_limit))
    page.fill("#order-sl-limit", str(sl_limit))
    expect(page.locator("#order-triggers")).to_have_text(
        f"TP at Last {tp} → limit {tp_limit}; SL at Index {sl} → limit {sl_limit}"
    )
    web.shot("25-trade-tp-sl-form")
    page.click("#order-submit")
    expect(page.locator("#order-msg")).to_contain_text("Filled")

    # each attached order became a reduce-only limit trigger on the closing side
    pending = page.locator("#open-orders tbody tr")
    expect(pending).to_have_count(2)
    expect(pending.filter(has_text=f"{tp_limit} (trigger {tp} Last)")).to_contain_text("reduce-only")
    expect(pending.filter(has_text=f"{sl_limit} (trigger {sl} Index)")).to_contain_text("reduce-only")
    orders = browser_client(web).request("GET", "/api/v1/orders", "orderQueryAll").json()
    [parent] = {o["relatedOrderId"] for o in orders}  # both name the market order they belong to
    expect(pending.filter(has_text=f"TP/SL of order {parent}")).to_have_count(2)
    got = {
        (o["side"], o["orderType"], o["price"], o["triggerPrice"], o["triggerBy"], o["reduceOnly"], o["status"])
        for o in orders
    }
    assert got == {
        ("Ask", "Limit", str(tp_limit), str(tp), "LastPrice", True, "TriggerPending"),
        ("Ask", "Limit", str(sl_limit), str(sl), "IndexPrice", True, "TriggerPending"),
    }, orders

    # the sandbox pays funding for eleven hours and settles: the tabs show them, a page at a time
    for _ in range(11):
        admin_tick(server, "funding")
    admin_tick(server, "settlement")
    page.click("#order-tabs [data-tab='funding']")
    funding = page.locator("#funding-history tbody tr")
    expect(funding.first).to_contain_text("SOL_USDC_PERP")
    expect(funding.first.locator("td.amount")).to_contain_text("USDC")
    page.select_option(".pager[data-pager='funding'] select", "10")
    expect(funding).to_have_count(10)
    first_page = funding.first.locator("td.time").inner_text()
    page.click(".pager[data-pager='funding'] .next")
    expect(page.locator(".pager[data-pager='funding'] .page-no")).to_have_text("page 2")
    expect(funding.first.locator("td.time")).not_to_have_text(first_page)  # older hours
    expect(page.locator(".pager[data-pager='funding'] .prev")).to_be_enabled()
    page.click(".pager[data-pager='funding'] .prev")
    expect(funding).to_have_count(10)
    web.shot("26-trade-funding-history")

    page.click("#order-tabs [data-tab='settlement']")
    settled = page.locator("#settlement-history tbody tr[data-source='FundingPayment']")  # eleven hours of it
    expect(settled.first).to_contain_text("USDC")

    page.click("#order-tabs [data-tab='position-history']")
    open_row = page.locator("#position-history tbody tr[data-symbol='SOL_USDC_PERP'][data-state='Open']")
    expect(open_row).to_have_count(1)
    expect(open_row.locator("td.size")).to_have_text("Long 1.00")
    expect(open_row.locator("td.funding")).to_contain_text("USDC")
    web.shot("27-trade-position-history")
