"""The Account page's settings: the automatic actions are the account's own (``PATCH /api/v1/account``),
shown as the server holds them, and what they do shows at once (auto-lend lends the idle balance);
the subaccounts' API keys, listed and revoked with the main key."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Signed
from tests.web.conftest import Web, browser_client, number, start_trading


def test_automatic_actions_are_the_accounts_settings(web: Web) -> None:
    page = start_trading(web, "/?market=SOL_USDC#account")
    api = browser_client(web)
    held = api.request("GET", "/api/v1/account", "accountQuery").json()
    boxes = {name: page.locator(f"#settings-panel input[data-setting='{name}']") for name in SETTINGS}
    for name, box in boxes.items():  # the page shows what the server holds
        expect(box).to_be_checked(checked=bool(held[name]))
    assert held["autoLend"] is True  # Backpack's default for a new account

    # auto-lend on from the start: the USDC was lent at once, still counts as collateral and is
    # still available (an order or withdrawal redeems what it needs)
    usdc = page.locator("#balances tbody tr[data-asset='USDC']")
    expect(usdc.locator("td.lent")).not_to_have_text("0")
    assert number(usdc.locator("td.lent").inner_text()) == Decimal(100000)
    assert number(usdc.locator("td.available").inner_text()) == Decimal(100000)
    boxes["autoLend"].uncheck()
    expect(page.locator("#settings-msg")).to_have_text("Auto-lend: off for Main account")
    assert api.request("GET", "/api/v1/account", "accountQuery").json()["autoLend"] is False
    expect(usdc.locator("td.available")).to_have_text("0")  # off: the lend is no longer spent by itself
    boxes["autoLend"].check()
    expect(page.locator("#settings-msg")).to_have_text("Auto-lend: on for Main account")
    expect(usdc.locator("td.available")).to_have_text("100000")
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


def test_subaccount_keys_are_listed_and_revoked(web: Web) -> None:
    """The main key's view of every subaccount key: the page's own marked, a bot's beside it; revoking
    the bot's ends it at once, revoking the page's own first moves the page back to the main account."""
    page = start_trading(web, "/?market=SOL_USDC#account")
    page.fill("#sub-label", "bots")
    page.click("#sub-create")
    expect(page.locator("#sub-msg")).to_contain_text("Created subaccount")
    sub = int(page.locator("#sub-select").input_value())
    mine = page.evaluate("JSON.parse(localStorage.getItem('rucksack.session'))")["subKeys"][str(sub)]["apiKey"]
    main = browser_client(web)
    bot_key, bot_secret = new_keypair()  # a bot's key, bound by the main key from outside the page
    bound = {"subaccountId": sub, "publicKey": bot_key}
    assert main.request("POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", bound).status_code == 200
    bot = Signed(web.url, Creds(bot_key, bot_secret, sub))
    assert bot.request("GET", "/api/v1/capital", "balanceQuery").status_code == 200

    page.reload()  # the list is read from the exchange
    page.wait_for_selector("body.signed-in")
    rows = page.locator("#sub-keys tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f"#sub-keys tr[data-key='{mine}']")).to_contain_text(f"bots (#{sub})")
    expect(page.locator(f"#sub-keys tr[data-key='{mine}']")).to_contain_text("this browser")
    expect(page.locator(f"#sub-keys tr[data-key='{bot_key}']")).not_to_contain_text("this browser")
    web.shot("31-account-subaccount-keys")

    # the bot's key: refused from then on; the page still acts as the subaccount with its own key
    page.locator(f"#sub-keys tr[data-key='{bot_key}'] button.revoke").click()
    expect(page.locator("#sub-msg")).to_have_text(f"Revoked key {bot_key[:12]}… of bots (#{sub})")
    expect(rows).to_have_count(1)
    assert bot.request("GET", "/api/v1/capital", "balanceQuery").status_code == 401
    expect(page.locator("body")).to_have_attribute("data-acting", str(sub))

    # the page's own key: it acts as the main account first, then the key is gone everywhere
    page.locator(f"#sub-keys tr[data-key='{mine}'] button.revoke").click()
    expect(page.locator("#sub-msg")).to_have_text(f"Revoked key {mine[:12]}… of bots (#{sub})")
    expect(page.locator("body")).to_have_attribute("data-acting", "0")
    expect(rows).to_have_count(0)
    expect(page.locator("#sub-keys + .empty-note")).to_be_visible()
    stored = page.evaluate("JSON.parse(localStorage.getItem('rucksack.session'))")
    assert str(sub) not in stored.get("subKeys", {}) and stored["acting"] == 0
    listed = main.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json()
    assert [a["apiKeys"] for a in listed] == [[]]


def test_fee_tier_panel_shows_the_tier_the_volume_and_the_next_tier(web: Web) -> None:
    """A fresh account is on Tier 1 with no volume and 100,000 USDC of spot volume to go; after a
    trade the page shows the 30-day volume and what is left, as the account endpoint says."""
    page = start_trading(web, "/?market=SOL_USDC#account")
    expect(page.locator("#ft-tier")).to_have_text("Tier 1")
    expect(page.locator("#ft-spot-fees")).to_have_text("0.08% / 0.10%")
    expect(page.locator("#ft-futures-fees")).to_have_text("0.02% / 0.05%")
    expect(page.locator("#ft-why")).to_have_text("volume tier 0")
    expect(page.locator("#ft-spot-volume")).to_have_text("0.00 USDC")
    expect(page.locator("#ft-next")).to_have_text(
        "Tier 2 at the next 00:00 UTC with 100,000.00 USDC more spot volume or 500,000.00 USDC more futures volume"
    )
    api = browser_client(web)
    body = {"orderType": "Market", "quantity": "2", "side": "Bid", "symbol": "SOL_USDC"}
    assert api.request("POST", "/api/v1/order", "orderExecute", body).json()["status"] == "Filled"
    held = api.request("GET", "/api/v1/account", "accountQuery").json()
    volume = Decimal(held["spotVolume30d"])
    assert volume > 0 and Decimal(held["nextFeeTier"]["spotVolumeNeeded"]) == 100000 - volume
    page.reload()
    page.wait_for_selector("body.signed-in")
    expect(page.locator("#ft-spot-volume")).to_have_text(f"{volume:,.2f} USDC")
    expect(page.locator("#ft-next")).to_contain_text(f"with {100000 - volume:,.2f} USDC more spot volume")
    web.shot("31-account-fee-tier")
