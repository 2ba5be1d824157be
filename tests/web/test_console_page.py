"""The operator console page in Chromium: sign in with the operator key, see an alert's evidence
and resolve it, halt a market (its orders refused with TRADING_PAUSED) and resume it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server
from tests.web.conftest import Web

OPERATOR = new_keypair()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Makers and the seeded feed (normal activity), and an operator key."""
    srv = start_server(tmp_path_factory.mktemp("web-console"), "--feed", "sim", "--operator-key", OPERATOR[0])
    yield srv
    srv.stop()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def wash_trade(server: Server) -> int:
    """An account buying from its own subaccount (its own key), through the API."""
    alice = Signed(server.url, sandbox_account(server, USDC="10000", SOL="10"))
    sub = ok(alice.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "desk"}))["subaccountId"]
    move = {"toSubaccountId": sub, "symbol": "SOL", "quantity": "5"}
    ok(alice.request("POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", move))
    public, secret = new_keypair()
    key = {"subaccountId": sub, "publicKey": public}
    ok(alice.request("POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", key))
    desk = Signed(server.url, Creds(public, secret, sub))
    for _ in range(20):  # the desk's ask inside the makers' spread, lifted at once by its own owner
        depth = httpx.get(server.url + "/api/v1/depth", params={"symbol": "SOL_USDC"}).json()
        best_bid = max(Decimal(p) for p, _ in depth["bids"])
        price = min(Decimal(p) for p, _ in depth["asks"]) - Decimal("0.01")
        if price <= best_bid:
            continue
        ask = {"orderType": "Limit", "price": str(price), "quantity": "0.5", "side": "Ask", "symbol": "SOL_USDC"}
        placed = ok(desk.request("POST", "/api/v1/order", "orderExecute", {**ask, "postOnly": True}))
        bid = {**ask, "side": "Bid", "timeInForce": "IOC"}
        filled = ok(alice.request("POST", "/api/v1/order", "orderExecute", bid))
        cancel = desk.request("DELETE", "/api/v1/order", "orderCancel", {"symbol": "SOL_USDC", "orderId": placed["id"]})
        # a wash trade only if the desk's ask was gone (filled) and alice bought all of it: a maker
        # re-quoting a lower ask in between would have sold to alice instead
        if cancel.status_code != 200 and Decimal(filled["executedQuantity"]) == Decimal("0.5"):
            break
    else:
        raise AssertionError("the makers' spread never let the desk's ask be the best")
    return alice.creds.account


def test_the_console_resolves_an_alert_and_halts_a_market(web: Web, server: Server) -> None:
    page = web.page
    page.goto(web.url + "/#console")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("#page-console")).to_be_visible()
    page.fill("#op-key", OPERATOR[0])
    page.fill("#op-secret", OPERATOR[1])
    page.click("#op-signin button[type='submit']")
    expect(page.locator("#op-msg")).to_have_text("Signed in with the operator key")
    listed = httpx.get(server.url + "/api/v1/markets").json()
    expect(page.locator("#op-markets tbody tr")).to_have_count(len(listed) + 1)  # and the pre-market's unlisted spot
    expect(page.locator("#op-markets tr[data-symbol='SOL_USDC']")).to_have_attribute("data-status", "Open")
    expect(page.locator("#op-alerts tbody tr")).to_have_count(0)  # the makers' normal activity raises nothing

    owner = wash_trade(server)
    for _ in range(30):  # the alert is raised once the trade is released; the page reloads on "Refresh"
        page.click("#op-refresh")
        page.wait_for_timeout(500)
        if page.locator("#op-alerts tbody tr").count():
            break
    row = page.locator("#op-alerts tbody tr").first
    expect(row).to_contain_text("WashTrading", timeout=15_000)
    expect(row).to_contain_text(str(owner))
    row.click()
    expect(page.locator("#op-evidence")).to_be_visible()
    expect(page.locator("#op-ev-trades tbody tr")).to_have_count(1)
    expect(page.locator("#op-ev-summary")).to_contain_text(f"owner {owner}")
    web.shot("30-console-alert-evidence")
    page.select_option("#op-resolution", "Reported")
    page.fill("#op-note", "filed with the regulator")
    page.click("#op-resolve button[type='submit']")
    expect(page.locator("#op-ev-status")).to_have_text("Reported: filed with the regulator")
    expect(page.locator("#op-alerts tbody tr")).to_have_count(0)  # the filter shows open alerts
    page.select_option("#op-alert-filter", "")
    expect(page.locator("#op-alerts tbody tr")).to_have_count(1)

    sol = page.locator("#op-markets tr[data-symbol='SOL_USDC']")
    page.fill("#op-reason", "token migration")
    sol.locator("button[data-action='Halt']").click()
    expect(sol).to_have_attribute("data-status", "Halted")
    expect(sol).to_contain_text("token migration")
    markets = httpx.get(server.url + "/api/v1/markets").json()
    assert next(m for m in markets if m["symbol"] == "SOL_USDC")["orderBookState"] == "CancelOnly"
    trader = Signed(server.url, sandbox_account(server, USDC="1000"))
    body = {"orderType": "Limit", "price": "1", "quantity": "1", "side": "Bid", "symbol": "SOL_USDC"}
    refused = trader.request("POST", "/api/v1/order", "orderExecute", body)
    assert refused.status_code == 400 and refused.json()["code"] == "TRADING_PAUSED"
    web.shot("31-console-market-halted")
    sol.locator("button[data-action='Resume']").click()
    expect(sol).to_have_attribute("data-status", "Open")
    expect(page.locator("#op-markets-msg")).to_have_text(re.compile("SOL_USDC: Open"))

    # fee tiers: the table with its volume thresholds, and an account's VIP level set from the form
    expect(page.locator("#op-tiers tbody tr")).to_have_count(7)
    expect(page.locator("#op-tiers tbody tr").nth(1)).to_contain_text("100000")
    page.fill("#op-tier-account", str(trader.creds.account))
    page.fill("#op-tier-value", "2")
    page.click("#op-tier-form button[type='submit']")
    expect(page.locator("#op-tier-msg")).to_have_text(f"account {trader.creds.account}: VIP level 2, now paying tier 2")
    shown = ok(trader.request("GET", "/api/v1/account", "accountQuery"))
    assert (shown["feeTier"], shown["vipLevel"]) == ("Tier 3", 2)
