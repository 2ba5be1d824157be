"""The Account page's settings: the automatic actions are the account's own (``PATCH /api/v1/account``),
shown as the server holds them, and what they do shows at once (auto-lend lends the idle balance)."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from tests.web.conftest import Web, browser_client, number, start_trading


def test_automatic_actions_are_the_accounts_settings(web: Web) -> None:
    page = start_trading(web, "/?market=SOL_USDC#account")
    api = browser_client(web)
    held = api.request("GET", "/api/v1/account", "accountQuery").json()
    boxes = {name: page.locator(f"#settings-panel input[data-setting='{name}']") for name in SETTINGS}
    for name, box in boxes.items():  # the page shows what the server holds
        expect(box).to_be_checked(checked=bool(held[name]))
    assert held["autoLend"] is False

    # auto-lend on: the idle USDC is lent at once and still counts as collateral
    boxes["autoLend"].check()
    expect(page.locator("#settings-msg")).to_have_text("Auto-lend: on for Main account")
    assert api.request("GET", "/api/v1/account", "accountQuery").json()["autoLend"] is True
    usdc = page.locator("#balances tbody tr[data-asset='USDC']")
    expect(usdc.locator("td.lent")).not_to_have_text("0")
    assert number(usdc.locator("td.lent").inner_text()) == Decimal(100000)
    assert number(usdc.locator("td.available").inner_text()) == 0
    lent = {
        p["symbol"]: p["netQuantity"]
        for p in api.request("GET", "/api/v1/borrowLend/positions", "borrowLendPositionQuery").json()
    }
    assert Decimal(lent["USDC"]) == 100000
    web.shot("30-account-auto-lend")

    page.reload()  # a setting is the server's, not the page's
    page.wait_for_selector("body.signed-in")
    expect(boxes["autoLend"]).to_be_checked()

    # the others switch one at a time; only the one changed moves
    before = api.request("GET", "/api/v1/account", "accountQuery").json()
    boxes["autoRealizePnl"].set_checked(not before["autoRealizePnl"])
    expect(page.locator("#settings-msg")).to_contain_text("Realize PnL continuously: ")
    after = api.request("GET", "/api/v1/account", "accountQuery").json()
    assert after["autoRealizePnl"] is (not before["autoRealizePnl"])
    assert {k: after[k] for k in SETTINGS if k != "autoRealizePnl"} == {
        k: before[k] for k in SETTINGS if k != "autoRealizePnl"
    }


SETTINGS = ("autoLend", "autoRepayBorrows", "autoBorrowSettlements", "autoRealizePnl")
