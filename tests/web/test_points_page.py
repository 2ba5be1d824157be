"""The Points page in Chromium (docs/points.md, docs/web.md): a week of history made by the real
service and its scheduler on a clock set to last week (trades, a referral, the Thursday snapshot,
the Friday distribution and payout), then a real server on that data directory; the page shows
the leaderboard with ranks, the signed-in account's points and weeks, and its referral dashboard
with the referred account's volume, fees and earnings, paid. The sign-up with ``?ref=CODE`` ties
the browser's new account to its referrer; an unknown code is refused in words."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import nacl.signing
import pytest
from playwright.sync_api import expect

from rucksack.exchange.core.commands import AddApiKey, CreateAccount, Deposit, PlaceOrder
from rucksack.exchange.core.events import AccountCreated
from rucksack.exchange.core.growth.commands import CreateReferralCode
from rucksack.exchange.core.growth.spec import HOUR_US, WEEK_US
from rucksack.exchange.scheduler import day_ticks
from rucksack.exchange.service import ExchangeService, wall_clock_us
from tests.api.conftest import Creds, Server, Signed, start_server
from tests.web.conftest import Web

SOL, USDC = 10**9, 10**6


def new_key() -> tuple[str, str]:
    key = nacl.signing.SigningKey.generate()
    return base64.b64encode(bytes(key.verify_key)).decode(), base64.b64encode(bytes(key)).decode()


def last_week(data_dir: Path, keys: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Last week's activity through the real service and scheduler on a clock set back in time."""
    thursday = wall_clock_us() // WEEK_US * WEEK_US  # the last snapshot instant (in the past)
    now = [thursday - 2 * 24 * HOUR_US]
    service = ExchangeService(data_dir, clock=lambda: now[0])
    accounts: dict[str, int] = {}

    async def scenario() -> None:
        service.start()
        ticks = asyncio.ensure_future(day_ticks(service, period=0.01))  # the server's points schedule
        await asyncio.sleep(0.05)  # its first pass: the week before, empty

        async def account(name: str, code: str = "", **funds: int) -> int:
            [made] = [
                e
                for e in await service.submit(CreateAccount(referral_code=code, auto_lend=False))
                if isinstance(e, AccountCreated)
            ]
            accounts[name] = made.account
            if name in keys:
                await service.submit(AddApiKey(made.account, keys[name][0]))
            for asset, atoms in funds.items():
                await service.submit(Deposit(made.account, asset, atoms, f"{name}-{asset}"))
            return made.account

        alice = await account("alice", USDC=5_000 * USDC)
        await service.submit(CreateReferralCode(alice, "ALICE1"))
        bob = await account("bob", code="ALICE1", USDC=5_000 * USDC)
        maker = await account("maker", SOL=100 * SOL)
        for buyer, lots in ((alice, 300), (bob, 100)):  # alice 3 SOL, bob 1 SOL at 150
            await service.submit(PlaceOrder(maker, "SOL_USDC", "Ask", "Limit", lots=lots, price=15_000))
            await service.submit(PlaceOrder(buyer, "SOL_USDC", "Bid", "Limit", lots=lots, price=15_000, tif="IOC"))
        for at in (thursday + 1, thursday + 26 * HOUR_US):  # the snapshot, then Friday 02:00 UTC
            await asyncio.sleep(0.1)
            now[0] = at
        await asyncio.sleep(0.1)
        ticks.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticks

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
        pool.submit(asyncio.run, scenario()).result()
    service.close()
    return accounts


@pytest.fixture(scope="module")
def history(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, dict[str, int], dict[str, tuple[str, str]]]]:
    data_dir = tmp_path_factory.mktemp("web-points") / "d"
    keys = {"alice": new_key(), "operator": new_key()}
    accounts = last_week(data_dir, keys)
    srv = start_server(data_dir, "--no-makers", "--feed", "manual", "--operator-key", keys["operator"][0])
    yield srv, accounts, keys
    srv.stop()


@pytest.fixture
def server(history: tuple[Server, dict[str, int], dict[str, tuple[str, str]]]) -> Server:
    return history[0]


def test_leaderboard_points_and_referral_dashboard(
    web: Web, history: tuple[Server, dict[str, int], dict[str, tuple[str, str]]]
) -> None:
    _, accounts, keys = history
    week_ending = datetime.fromtimestamp(wall_clock_us() // WEEK_US * WEEK_US // 1_000_000, UTC).date().isoformat()
    page = web.page
    page.goto(web.url + "/#points")
    page.wait_for_selector("body[data-ready='1']")
    # alice: 450 USDC of volume -> 450 points; bob 150; maker 600 (it sold 4 SOL). n = 3:
    # maker p=0 Challenger (0 < 3/1000); alice p=1 Silver (100 < 120); bob p=2 Bronze
    rows = page.locator("#points-leaderboard tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text(f"#{accounts['maker']}600Challenger")
    expect(rows.nth(1)).to_contain_text(f"#{accounts['alice']}450Silver")
    expect(rows.nth(2)).to_contain_text(f"#{accounts['bob']}150Bronze")
    expect(page.locator("#points-signin")).to_be_visible()

    page.click("#show-apikey")
    page.fill("#apikey-key", keys["alice"][0])
    page.fill("#apikey-secret", keys["alice"][1])
    page.click("#apikey-form button[type='submit']")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    expect(page.locator("#my-points")).to_have_text("450")
    expect(page.locator("#my-rank")).to_have_text("Silver")
    expect(page.locator("#my-position")).to_have_text("#2 of 3")
    expect(page.locator("#my-weeks tbody tr")).to_have_count(1)
    expect(page.locator("#my-weeks tbody tr").nth(0)).to_contain_text(week_ending)
    # bob paid a 0.001 SOL fee worth 0.15 USDC: alice earned 10%, 0.015 USDC, paid on Friday
    expect(page.locator("#ref-code")).to_have_text("ALICE1")
    expect(page.locator("#ref-link")).to_have_value(re.compile(r"/\?ref=ALICE1$"))
    referred = page.locator("#ref-referred tbody tr")
    expect(referred).to_have_count(1)
    expect(referred.nth(0).locator("td").nth(2)).to_have_text("150")
    expect(referred.nth(0).locator("td").nth(3)).to_have_text("0.15")
    expect(referred.nth(0).locator("td").nth(4)).to_have_text("0.015")
    expect(page.locator("#ref-paid")).to_have_text("0.015")
    expect(page.locator("#ref-rate")).to_have_text("10%")
    web.shot("points-page")


def test_signup_with_a_referral_link(
    web: Web, history: tuple[Server, dict[str, int], dict[str, tuple[str, str]]]
) -> None:
    _, accounts, keys = history
    page = web.page
    page.goto(web.url + "/?ref=nope99#points")
    page.wait_for_selector("body[data-ready='1']")
    expect(page.locator("#signup-referral")).to_have_value("NOPE99")
    web.console.expect("400")  # the refused sign-up's response
    page.click("#start-trading")
    expect(page.locator("#session-msg")).to_have_text("The referral code was not accepted: Unknown referral code.")
    page.fill("#signup-referral", "alice1")
    page.click("#start-trading")
    expect(page.locator("body")).to_have_class(re.compile("signed-in"))
    expect(page.locator("#ref-by")).to_have_text(f"#{accounts['alice']}")
    # the browser's account creates its own code on the page
    page.fill("#ref-new-code", "web2ref")
    page.click("#ref-create-form button[type='submit']")
    expect(page.locator("#ref-msg")).to_have_text("Your referral code is WEB2REF")
    expect(page.locator("#ref-code")).to_have_text("WEB2REF")
    alice = Signed(web.url, Creds(keys["alice"][0], keys["alice"][1], accounts["alice"]))
    dash = alice.request("GET", "/api/v1/referral", "referralQuery").json()
    assert len(dash["referred"]) == 2  # bob and the browser's account


def test_the_console_sets_an_affiliate_rate_and_links_owners(
    web: Web, history: tuple[Server, dict[str, int], dict[str, tuple[str, str]]]
) -> None:
    _, accounts, keys = history
    page = web.page
    page.goto(web.url + "/#console")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#op-key", keys["operator"][0])
    page.fill("#op-secret", keys["operator"][1])
    page.click("#op-signin button[type='submit']")
    expect(page.locator("#op-msg")).to_have_text("Signed in with the operator key")
    page.fill("#op-rate-account", str(accounts["alice"]))
    page.fill("#op-rate-value", "0.25")
    page.click("#op-rate-form button[type='submit']")
    expect(page.locator("#op-growth-msg")).to_have_text(
        f"account {accounts['alice']} earns 0.25 of its referred accounts' fees"
    )
    page.fill("#op-link-accounts", f"{accounts['bob']}, {accounts['maker']}")
    page.fill("#op-link-reason", "one device")
    page.click("#op-link-form button[type='submit']")
    expect(page.locator("#op-growth-msg")).to_have_text(f"linked as one owner: {accounts['bob']}, {accounts['maker']}")
    page.click("#op-refresh")  # the panels reload every 5 s; now at once
    expect(page.locator("#op-audit tbody")).to_contain_text("operatorPointsLink")
    alice = Signed(web.url, Creds(keys["alice"][0], keys["alice"][1], accounts["alice"]))
    assert alice.request("GET", "/api/v1/referral", "referralQuery").json()["rate"] == "0.25"
