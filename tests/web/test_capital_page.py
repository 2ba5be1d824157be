"""Deposits and withdrawals on the Account page against a server with a chain attached: a real
``rucksack serve --chain-rpc`` beside the Solana devnet (as tests/integration/test_custody.py).

The page shows the acting wallet's deposit address (copied to the clipboard by its button), the max
withdrawable, the exchange's refusal in its own words, and a withdrawal made from the page landing on
chain and listed in the history with its transaction."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from playwright.sync_api import expect
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.svm import transfers as svm
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.seed import load_or_create
from tests.api.conftest import Server, start_server
from tests.web.conftest import Web, browser_client, start_trading


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    net = Devnet("127.0.0.1", 0, chains=["solana"]).start()
    yield net
    net.stop()


@pytest.fixture(scope="module")
def server(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Replaces the module's plain server: Solana attached, deposits polled every 0.1 s, no sweeping."""
    srv = start_server(
        tmp_path_factory.mktemp("web-custody"),
        "--no-makers",
        "--feed",
        "manual",
        "--chain-rpc",
        f"solana={devnet.url('solana')}",
        "--chain-poll",
        "0.1",
        "--sweep-every",
        "0",
    )
    yield srv
    srv.stop()


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Playwright's sync API keeps an event loop on this thread: chain calls run on another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def svm_send(devnet: Devnet, to: str, lamports: int) -> None:
    faucet = genesis.svm_faucet()

    async def send() -> None:
        async with AsyncClient(devnet.url("solana")) as client:
            blockhash = (await client.get_latest_blockhash()).value.blockhash
            msg = svm.native_transfer_message(faucet.pubkey(), Pubkey.from_string(to), lamports)
            await client.send_raw_transaction(bytes(svm.sign(msg, [faucet], blockhash)))

    run(send())


def svm_balance(devnet: Devnet, owner: str) -> int:
    async def read() -> int:
        async with AsyncClient(devnet.url("solana")) as client:
            return int((await client.get_balance(Pubkey.from_string(owner))).value)

    return run(read())


def test_deposit_address_and_a_withdrawal_from_the_page(web: Web, server: Server, devnet: Devnet) -> None:
    web.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = start_trading(web)
    account = page.evaluate("JSON.parse(localStorage.getItem('rucksack.session')).accountId")
    keys = CustodyKeys(load_or_create(server.data_dir, sandbox=True))
    page.click("#nav [data-page='account']")

    # deposit: the chains Solana lists for SOL, and this account's own address there
    expect(page.locator("#deposit-panel")).to_have_attribute("data-state", "ready")
    page.select_option("#deposit-asset", "SOL")
    expect(page.locator("#deposit-chain option")).to_have_text(["Solana"])
    expect(page.locator("#deposit-address")).to_have_value(str(keys.svm_deposit(account).pubkey()))
    page.click("#deposit-copy")
    expect(page.locator("#deposit-msg")).to_have_text("Address copied")
    assert page.evaluate("navigator.clipboard.readText()") == str(keys.svm_deposit(account).pubkey())

    # withdraw: the max is the API's; too much is refused with the exchange's own error
    page.select_option("#withdraw-asset", "SOL")
    api_max = browser_client(web).request(
        "GET", "/api/v1/account/limits/withdrawal", "maxWithdrawalQuantity", {"symbol": "SOL"}
    )
    expect(page.locator("#withdraw-limit")).to_have_text(f"{api_max.json()['maxWithdrawalQuantity']} SOL")
    to = str(Keypair().pubkey())
    page.fill("#withdraw-address", to)
    page.fill("#withdraw-qty", "100000")
    web.console.expect("Failed to load resource.*400")
    page.click("#withdraw-submit")
    expect(page.locator("#withdraw-msg")).to_contain_text("Refused by the exchange: INSUFFICIENT_FUNDS")
    page.fill("#withdraw-qty", "not a number")
    page.click("#withdraw-submit")  # refused in the page, no request
    expect(page.locator("#withdraw-msg")).to_have_text("Enter a positive quantity, e.g. 12.5.")

    # a withdrawal the hot wallet can pay lands on chain and is listed, confirmed, with its transaction
    svm_send(devnet, str(keys.svm_hot.pubkey()), 10 * 10**9)
    page.fill("#withdraw-qty", "0.5")
    page.click("#withdraw-submit")
    sent = re.compile(rf"Withdrawal \d+: 0\.5 SOL to {to} on Solana: pending")
    expect(page.locator("#withdraw-msg")).to_contain_text(sent)
    row = page.locator("#withdrawal-history tbody tr").first
    expect(row).to_contain_text(to)
    expect(row.locator("td.status")).to_have_text("confirmed", timeout=20_000)
    expect(row.locator("td.hash")).to_have_text(re.compile(r"^[1-9A-HJ-NP-Za-km-z]{60,90}$"))
    assert svm_balance(devnet, to) == 500_000_000
    balance = page.locator("#balances tr[data-asset='SOL'] td.available")
    expect(balance).not_to_have_text("500")
    api = browser_client(web).request("GET", "/api/v1/capital", "balanceQuery").json()
    held = Decimal(api.get("SOL", {}).get("available", "0"))  # what auto-lend lent counts as available
    assert held == Decimal("499.5"), api
    web.shot("32-account-withdrawal")


def test_the_travel_rule_form_asks_for_both_parties(web: Web, server: Server, devnet: Devnet) -> None:
    """A resident of Germany is served by the EU entity, whose Travel Rule has no minimum: the
    withdraw panel asks for the originator and the beneficiary, refuses to send without them, and
    sends them as ``recipientInformation`` (kept with the custody row); a hosted destination needs
    the beneficiary's exchange too."""
    page = web.page
    page.goto(web.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#signup-region", "DE")
    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    page.click("#nav [data-page='account']")
    expect(page.locator("#cp-entity")).to_contain_text("Backpack EU")

    page.select_option("#withdraw-asset", "SOL")
    page.fill("#withdraw-address", str(Keypair().pubkey()))
    page.fill("#withdraw-qty", "0.25")
    form = page.locator("#travel-rule")
    expect(form).to_be_visible()
    expect(page.locator("#travel-rule-why")).to_contain_text("Backpack EU")
    expect(page.locator("#travel-rule-why")).to_contain_text("every withdrawal")
    page.click("#withdraw-submit")  # refused in the page: no request
    expect(page.locator("#withdraw-msg")).to_have_text("Enter your full name and address (the Travel Rule).")

    page.fill("#tr-originator-name", "Grace Hopper")
    page.fill("#tr-originator-address", "Unter den Linden 1, 10117 Berlin, DE")
    page.fill("#tr-beneficiary-name", "Ada Lovelace")
    page.click("#withdraw-submit")  # hosted (the default) needs the exchange's name
    expect(page.locator("#withdraw-msg")).to_contain_text("Name the beneficiary's exchange")
    page.select_option("#tr-wallet-type", "selfHosted")
    expect(page.locator("#tr-beneficiary-vasp")).to_be_hidden()
    web.shot("33-account-travel-rule")
    page.click("#withdraw-submit")
    expect(page.locator("#withdraw-msg")).to_contain_text(re.compile(r"Withdrawal (\d+): 0\.25 SOL"))
    wid = int(re.search(r"Withdrawal (\d+)", page.locator("#withdraw-msg").inner_text()).group(1))  # type: ignore[union-attr]

    with sqlite3.connect(server.data_dir / "custody.sqlite") as db:
        (recipient,) = db.execute("SELECT recipient FROM withdrawals WHERE id = ?", (wid,)).fetchone()
    assert json.loads(recipient) == {
        "originatorName": "Grace Hopper",
        "originatorAddress": "Unter den Linden 1, 10117 Berlin, DE",
        "beneficiaryName": "Ada Lovelace",
        "walletType": "selfHosted",
    }


def test_the_exchanges_travel_rule_refusal_opens_the_form(web: Web, server: Server, devnet: Devnet) -> None:
    """The global entity asks from $953.03. With no trade on the book the page cannot value the
    withdrawal, so it sends without the details; the exchange (valuing at the index) refuses, and the
    panel opens the Travel Rule box with that refusal. Filled in, the same withdrawal goes through."""
    page = start_trading(web)
    page.click("#nav [data-page='account']")
    expect(page.locator("#cp-entity")).to_contain_text("Backpack Exchange, Dubai")
    page.select_option("#withdraw-asset", "SOL")
    page.fill("#withdraw-address", str(Keypair().pubkey()))
    page.fill("#withdraw-qty", "10")  # 10 x 150 = $1,500
    expect(page.locator("#travel-rule")).to_be_hidden()
    web.console.expect("Failed to load resource.*400")
    page.click("#withdraw-submit")
    expect(page.locator("#withdraw-msg")).to_contain_text("The exchange needs the Travel Rule details")
    expect(page.locator("#travel-rule")).to_be_visible()
    expect(page.locator("#travel-rule-why")).to_contain_text("953.03 USD or more")
    page.fill("#tr-originator-name", "Grace Hopper")
    page.fill("#tr-originator-address", "1 Sheikh Zayed Rd, Dubai, AE")
    page.fill("#tr-beneficiary-name", "Grace Hopper")
    page.fill("#tr-beneficiary-vasp", "Example Exchange")
    page.click("#withdraw-submit")
    expect(page.locator("#withdraw-msg")).to_contain_text(re.compile(r"Withdrawal \d+: 10 SOL"))
    expect(page.locator("#travel-rule")).to_be_hidden()  # the next withdrawal starts from the estimate again
