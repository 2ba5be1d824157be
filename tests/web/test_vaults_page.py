"""The Vaults page in Chromium: the list with NAV, performance, drawdown and NAV history, and a
depositor's round trip from the page: deposit USDC for tokens at NAV, the position shown, withdraw
all at NAV (the API holds the same figures)."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from tests.api.conftest import Server, Signed, sandbox_account
from tests.web.conftest import Web, browser_client, start_trading


def test_deposit_and_withdraw_from_the_vaults_page(web: Web, server: Server) -> None:
    leader = Signed(server.url, sandbox_account(server, auto_lend=False, USDC="1000"))
    made = leader.request(
        "POST", "/api/v1/vault", "vaultCreate", {"name": "Page vault", "quantity": "1000", "performanceFee": "0.1"}
    )
    assert made.status_code == 200, made.text
    vid = made.json()["id"]

    page = start_trading(web, "/#vaults")
    row = page.locator(f"#vaults tbody tr[data-vault='{vid}']")
    expect(row.locator("td.nav")).to_have_text("1")
    expect(row.locator("td.position")).to_have_text("–")
    row.locator("input.amount").fill("500")
    row.locator("button.deposit").click()
    expect(row.locator(".msg")).to_have_text("Deposited 500 USDC for 500 tokens at NAV 1")
    expect(row.locator("td.position")).to_contain_text("500 tokens")
    expect(row.locator("svg.nav-chart")).to_be_visible()  # two samples: the leader's and this deposit
    api = browser_client(web)
    [pos] = api.request("GET", "/api/v1/vault/positions", "vaultPositionQuery").json()
    assert (pos["vaultId"], pos["vaultTokenQuantity"], pos["value"]) == (vid, "500", "500")
    web.shot("60-vaults-deposited")

    row.locator("button.withdraw").click()
    expect(row.locator(".msg")).to_have_text("Redeemed 500 tokens for 500 USDC at NAV 1")
    expect(row.locator("td.position")).to_have_text("–")
    assert api.request("GET", "/api/v1/vault/positions", "vaultPositionQuery").json() == []
    usdc = api.request("GET", "/api/v1/capital", "balanceQuery").json()["USDC"]
    assert Decimal(usdc["available"]) + Decimal(usdc.get("lendQuantity", "0") or 0) >= Decimal(100000) - 1


def test_the_liquidity_vault_is_listed_quoting_and_takes_deposits(web: Web, server: Server) -> None:
    """The sandbox opens the exchange-run liquidity vault itself (exchange/liquidity.py): it is
    listed without fees, and a newcomer deposits and withdraws at NAV."""
    page = start_trading(web, "/#vaults")
    row = page.locator("#vaults tbody tr", has_text="Liquidity vault")
    expect(row.locator("td.vault-name")).to_contain_text("exchange-run")
    expect(row.locator("td").nth(5)).to_have_text("mgmt 0.00% · perf 0.00%")
    api = browser_client(web)
    vid = int(row.get_attribute("data-vault") or 0)
    row.locator("input.amount").fill("1000")
    row.locator("button.deposit").click()
    expect(row.locator(".msg")).to_contain_text("Deposited 1000 USDC for")
    [pos] = [
        p for p in api.request("GET", "/api/v1/vault/positions", "vaultPositionQuery").json() if p["vaultId"] == vid
    ]
    assert abs(Decimal(pos["value"]) - 1000) < 10  # at NAV; the vault trades on meanwhile
    web.shot("61-liquidity-vault")
    row.locator("button.withdraw").click()
    expect(row.locator(".msg")).to_contain_text("Redeemed")


def test_vaults_page_fits_a_phone(phone: Web) -> None:
    page = start_trading(phone, "/#vaults")
    expect(page.locator("#vaults tbody tr").first).to_be_visible()
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#vaults button.deposit").first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    phone.shot("62-vaults-phone")
