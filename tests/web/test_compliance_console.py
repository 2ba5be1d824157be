"""The compliance role's work in the operator console, in Chromium (docs/compliance.md, docs/web.md):
a newcomer signs up from the page; an operations key sees the account list and the held withdrawals
but the server's 403 for the alerts, the audit trail and setting a level, each in words; it approves
a withdrawal held for review (Solana custody pointed at a node that never answers, as
tests/api/test_compliance.py: the withdrawal is created and held, never sent). A compliance key then
sets the newcomer's level, and the newcomer's Account page shows the products that level opens; the
audit trail lists both operators' actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Server, Signed, free_port, sandbox_account, start_server
from tests.web.conftest import Web, open_web

ADMIN = new_keypair()
OPS = new_keypair()
OFFICER = new_keypair()
ADDRESS = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
FORBIDDEN = "status of 403"  # Chromium logs each refused request


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("web-compliance-console"),
        "--no-makers",
        "--feed",
        "manual",
        "--operator-key",
        ADMIN[0],
        "--chain-rpc",
        f"solana=http://127.0.0.1:{free_port()}",  # nothing listens: custody holds, never sends
    )
    admin = Signed(srv.url, Creds(ADMIN[0], ADMIN[1], 0))
    for key, role in ((OPS, "operations"), (OFFICER, "compliance")):
        done = admin.request("POST", "/api/v1/operator/keys", "operatorKeySet", {"publicKey": key[0], "roles": [role]})
        assert done.status_code == 200, done.text
    yield srv
    srv.stop()


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def sign_in(web: Web, key: tuple[str, str]) -> None:
    page = web.page
    page.fill("#op-key", key[0])
    page.fill("#op-secret", key[1])
    page.click("#op-signin button[type='submit']")
    expect(page.locator("#op-msg")).to_have_text("Signed in with the operator key")


def test_review_a_newcomer_and_a_held_withdrawal(web: Web, browser: Browser, server: Server) -> None:
    # the newcomer: signs up from the page as a resident of Brazil (the default rule, every product)
    newcomer, context = open_web(browser, server)
    try:
        you = newcomer.page
        you.goto(server.url + "/")
        you.wait_for_selector("body[data-ready='1']")
        you.select_option("#signup-region", "other")  # Brazil: no rule names it, the default rule serves it
        you.fill("#signup-region-other", "BR")
        you.click("#start-trading")
        expect(you.locator("body")).to_have_class(re.compile("signed-in"))
        account = you.evaluate("JSON.parse(localStorage.getItem('rucksack.session')).accountId")

        # a withdrawal at the review threshold ($100,000), with the Travel Rule details
        whale_creds = sandbox_account(server, auto_lend=False, USDC="150000")
        whale = Signed(server.url, whale_creds)
        recipient = {"beneficiaryName": "Ada Lovelace", "beneficiaryVasp": "Example Exchange", "walletType": "hosted"}
        body: dict[str, Any] = {"address": ADDRESS, "blockchain": "Solana", "quantity": "120000", "symbol": "USDC"}
        body["recipientInformation"] = recipient
        held = ok(whale.request("POST", "/wapi/v1/capital/withdrawals", "withdraw", body))
        assert held["status"] == "pending"

        # operations: the accounts and the held withdrawals; no alerts, no audit trail, no levels
        page = web.page
        page.goto(server.url + "/#console")
        page.wait_for_selector("body[data-ready='1']")
        for _ in range(2):  # alerts and audit answer 403 once each, then are not asked again
            web.console.expect(FORBIDDEN)
        sign_in(web, OPS)
        expect(page.locator("#op-alerts-msg")).to_have_text(
            re.compile(r"^This operator key may not do this: operatorAlertQueryAll needs the compliance role")
        )
        expect(page.locator("#op-audit-msg")).to_contain_text("operatorAuditQuery needs the compliance role")
        expect(page.locator("#op-markets tbody tr")).not_to_have_count(0)  # markets: risk or operations
        row = page.locator(f"#op-accounts tr[data-account='{account}']")
        expect(row).to_contain_text("BR")
        expect(row).to_have_attribute("data-level", "full")
        web.console.expect(FORBIDDEN)
        page.fill("#op-id-account", str(account))
        page.select_option("#op-id-level", "basic")
        page.click("#op-identity-form button[type='submit']")
        expect(page.locator("#op-accounts-msg")).to_contain_text("operatorIdentitySet needs the compliance role")

        w = page.locator(f"#op-withdrawals tr[data-id='{held['id']}']")
        expect(w).to_have_attribute("data-review", "true")
        expect(w).to_contain_text("120000")
        expect(w).to_contain_text("Ada Lovelace")
        expect(w).to_contain_text("operator review")
        web.shot("42-console-held-withdrawal")
        w.locator("button[data-action='Approve']").click()
        approved = f"withdrawal {held['id']} approved: it goes out once its delay is over"
        expect(page.locator("#op-withdrawals-msg")).to_have_text(approved)
        expect(w).to_have_count(0)
        expect(page.locator("#op-withdrawals-empty")).to_be_visible()
        listed = ok(whale.request("GET", "/wapi/v1/capital/withdrawals", "withdrawalQueryAll"))
        assert [x["status"] for x in listed if x["id"] == held["id"]] != ["cancelled"]
        assert ok(whale.request("GET", "/api/v1/capital", "balanceQuery"))["USDC"]["available"] == "30000"

        # compliance: review the newcomer, set the level; markets and funds are not this role's
        for _ in range(3):
            web.console.expect(FORBIDDEN)
        sign_in(web, OFFICER)
        markets_denied = "operatorMarketQueryAll needs the operations or risk role"
        expect(page.locator("#op-markets-msg")).to_contain_text(markets_denied)
        expect(page.locator("#op-tier-msg")).to_contain_text("may not do this")
        expect(page.locator("#op-alerts-msg")).to_have_text("")
        page.locator(f"#op-accounts tr[data-account='{account}'] button[data-action='Review']").click()
        expect(page.locator("#op-profile-title")).to_contain_text(f"Account {account}: BR, level full")
        expect(page.locator("#op-id-account")).to_have_value(str(account))
        page.select_option("#op-id-level", "basic")
        page.click("#op-identity-form button[type='submit']")
        expect(page.locator("#op-accounts-msg")).to_have_text(f"account {account}: level basic, BR; open: spot")
        expect(page.locator(f"#op-accounts tr[data-account='{account}']")).to_have_attribute("data-level", "basic")
        expect(page.locator("#op-profile-products tr[data-product='perps']")).to_have_attribute("data-open", "false")

        you.click("#nav button[data-page='account']")
        expect(you.locator("#cp-level")).to_have_text("basic")
        expect(you.locator("#compliance-products tr[data-product='spot']")).to_have_attribute("data-open", "true")
        perps = you.locator("#compliance-products tr[data-product='perps']")
        expect(perps).to_have_attribute("data-open", "false")
        expect(perps).to_contain_text("verification level basic does not open it; level full does")
        newcomer.shot("43-account-level-basic")

        page.select_option("#op-id-level", "full")
        page.click("#op-identity-form button[type='submit']")
        all_open = f"account {account}: level full, BR; open: spot, margin, perps, lending"
        expect(page.locator("#op-accounts-msg")).to_have_text(all_open)
        you.reload()
        you.wait_for_selector("body[data-ready='1']")
        expect(you.locator("#cp-level")).to_have_text("full")
        expect(you.locator("#compliance-products tbody tr[data-open='true']")).to_have_count(4)

        # the audit trail: both operators' actions, the denied one too
        page.click("#op-refresh")
        audit = page.locator("#op-audit tbody")
        expect(audit.locator("tr[data-instruction='operatorWithdrawalReview'][data-outcome='ok']")).to_have_count(1)
        expect(audit.locator("tr[data-instruction='operatorIdentitySet'][data-outcome='denied']")).to_have_count(1)
        expect(audit.locator("tr[data-instruction='operatorIdentitySet'][data-outcome='ok']")).to_have_count(2)
        web.shot("44-console-audit")
        assert not newcomer.console.errors, newcomer.console.errors
    finally:
        context.close()
