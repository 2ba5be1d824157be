"""A pre-market through the public interfaces of a real server (docs/premarket.md): published
in the markets list with its type, traded with ccxt's unmodified ``backpack`` class from isolated
subaccounts, the mark derived from the book within its band, listed by the operator (signed,
audited), settled by the scheduler at the spot market's time-weighted average to hand-computed
PnL, the market closed; the journal replays to the same state after a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import httpx
import pytest

from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow

PRE, SPOT = "RUCK_USDC_PERP", "RUCK_USDC"


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Signed]]:
    public, secret = new_keypair()
    server = start_server(
        tmp_path_factory.mktemp("premarket"), "--no-makers", "--feed", "manual", "--operator-key", public
    )
    yield server, Signed(server.url, Creds(public, secret, 0))
    server.stop()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def ccxt_client(server: Server, creds: Creds) -> ccxt.backpack:
    return ccxt.backpack(
        {
            "urls": {"api": {"public": server.url, "private": server.url}},
            "apiKey": creds.api_key,
            "secret": creds.secret,
        }
    )


def isolated(server: Server, usdc: str) -> tuple[Signed, Creds]:
    """A main account and its pre-market subaccount (own key, ``usdc`` moved in)."""
    main = Signed(server.url, sandbox_account(server, auto_lend=False, USDC="10000"))
    sub = ok(main.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "pre-market"}))["subaccountId"]
    body = {"toSubaccountId": sub, "symbol": "USDC", "quantity": usdc}
    ok(main.request("POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", body))
    public, secret = new_keypair()
    ok(
        main.request(
            "POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", {"subaccountId": sub, "publicKey": public}
        )
    )
    return main, Creds(public, secret, sub)


def market(server: Server, symbol: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in httpx.get(server.url + "/api/v1/markets").json() if m["symbol"] == symbol)
    return found


def mark(server: Server) -> Decimal:
    prices = httpx.get(server.url + "/api/v1/markPrices", params={"symbol": PRE}).json()
    return Decimal(prices[0]["markPrice"])


def test_trade_a_pre_market_with_ccxt_to_its_settlement_at_listing(venue: tuple[Server, Signed]) -> None:
    server, operator = venue
    # published: a USDC-margined perp to every client, with its pre-market object
    listed = market(server, PRE)
    assert listed["marketType"] == "PERP" and listed["preMarket"]["status"] == "Trading"
    assert listed["preMarket"]["maxLeverage"] == "2" and listed["preMarket"]["marginMode"] == "Isolated"
    assert listed["preMarket"]["markPriceBand"] == {
        "minPrice": "0.2500",
        "maxPrice": "4.0000",
        "maxChangePerUpdate": "0.01",
    }
    symbols = {m["symbol"] for m in httpx.get(server.url + "/api/v1/markets").json()}
    assert SPOT not in symbols and SPOT not in {t["symbol"] for t in httpx.get(server.url + "/api/v1/tickers").json()}
    assert "preMarket" not in market(server, "SOL_USDC_PERP")  # not listed yet: not published
    public = ccxt.backpack({"urls": {"api": {"public": server.url, "private": server.url}}})
    swap = public.load_markets()["RUCK/USDC:USDC"]
    assert swap["swap"] and swap["settle"] == "USDC" and swap["info"]["preMarket"]["spotSymbol"] == SPOT
    assert mark(server) == Decimal("1")  # the initial price, before any trade

    alice_main, alice_creds = isolated(server, "1000")
    bob_main, bob_creds = isolated(server, "1000")
    alice, bob = ccxt_client(server, alice_creds), ccxt_client(server, bob_creds)
    with pytest.raises(ccxt.BaseError, match="isolated margin"):  # a main account never trades it
        ccxt_client(server, alice_main.creds).create_order("RUCK/USDC:USDC", "limit", "buy", 10, 1.0)
    with pytest.raises(ccxt.InsufficientFunds):  # 2x at most: 1,000 USDC carries 2,000 RUCK at 1.00
        alice.create_order("RUCK/USDC:USDC", "limit", "buy", 2100, 1.0)
    ask = bob.create_order("RUCK/USDC:USDC", "limit", "sell", 1000, 1.05)
    alice.create_order("RUCK/USDC:USDC", "market", "buy", 1000)
    assert bob.fetch_order(ask["id"], "RUCK/USDC:USDC")["status"] == "closed"
    [position] = alice.fetch_positions(["RUCK/USDC:USDC"])
    assert float(position["contracts"]) == 1000 and position["side"] == "long" and float(position["entryPrice"]) == 1.05
    # the mark follows the last trade (the book is empty) by at most 1% a second
    deadline = time.monotonic() + 30  # (generous: a loaded machine delays the scheduler's ticks)
    while mark(server) < Decimal("1.03") and time.monotonic() < deadline:
        assert mark(server) <= Decimal("1.05")
        time.sleep(0.3)
    assert Decimal("1.03") <= mark(server) <= Decimal("1.05")

    # the operator lists RUCK: a signed, audited request; a short reference window for the test
    with pytest.raises(ccxt.BaseError):
        ccxt_client(server, sandbox_account(server, USDC="100")).create_order("RUCK/USDC", "limit", "buy", 1, 1.1)
    answer = ok(operator.request("POST", "/api/v1/operator/premarket/list", "operatorPreMarketList",
                                 {"symbol": PRE, "windowSeconds": 3}))  # fmt: skip
    assert answer["preMarket"]["status"] == "Listing" and market(server, SPOT)["orderBookState"] == "Open"
    again = operator.request("POST", "/api/v1/operator/premarket/list", "operatorPreMarketList", {"symbol": PRE})
    assert again.status_code == 400 and again.json()["code"] == "PRECONDITION_FAILED"
    # RUCK trades on its spot market at 1.19 / 1.21: a mid of 1.2000 the whole window
    carol = ccxt_client(server, sandbox_account(server, USDC="1000"))
    dave = ccxt_client(server, sandbox_account(server, RUCK="1000"))
    carol.create_order("RUCK/USDC", "limit", "buy", 10, 1.19)
    dave.create_order("RUCK/USDC", "limit", "sell", 10, 1.21)
    deadline = time.monotonic() + 60
    while market(server, PRE)["preMarket"]["status"] != "Settled" and time.monotonic() < deadline:
        time.sleep(0.3)
    settled = market(server, PRE)
    assert settled["preMarket"]["status"] == "Settled" and settled["preMarket"]["settlementPrice"] == "1.2000"
    assert settled["orderBookState"] == "Closed"
    # hand-computed: 1,000 RUCK x (1.20 - 1.05) = 150 USDC; fees 0.05% taker, 0.02% maker of 1,050 USDC
    alice_usdc = alice.fetch_balance()["USDC"]["total"]
    bob_usdc = bob.fetch_balance()["USDC"]["total"]
    assert (Decimal(str(alice_usdc)), Decimal(str(bob_usdc))) == (Decimal("1149.475"), Decimal("849.79"))
    assert alice.fetch_positions(["RUCK/USDC:USDC"]) == [] and bob.fetch_positions(["RUCK/USDC:USDC"]) == []
    history = ok(Signed(server.url, alice_creds).request("GET", "/wapi/v1/history/position", "positionHistoryQueryAll"))
    [closed] = [p for p in history if p["symbol"] == PRE]
    assert (closed["state"], closed["closingPrice"], closed["closedVolume"]) == ("Closed", "1.2000", "1000")
    assert Decimal(closed["cumulativePnlRealized"]) == Decimal("150")
    with pytest.raises(ccxt.BaseError):
        alice.create_order("RUCK/USDC:USDC", "limit", "buy", 10, 1.2)
    # isolated: the main accounts kept their 9,000 USDC whatever the subaccounts did
    for main in (alice_main, bob_main):
        assert ok(main.request("GET", "/api/v1/capital", "balanceQuery"))["USDC"]["available"] == "9000"
    audit = ok(operator.request("GET", "/api/v1/operator/audit", "operatorAuditQuery"))
    assert any(r["instruction"] == "operatorPreMarketList" for r in audit)
    # the journal replays to the same state: after a restart the same settlement and balances
    server.stop()
    out = subprocess.run([sys.executable, "-m", "rucksack", "replay", "--data-dir", str(server.data_dir)],
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    assert json.loads(out.stdout)["invariants"] == "ok"
    again_server = start_server(
        server.data_dir, "--no-makers", "--feed", "manual", "--operator-key", operator.creds.api_key
    )
    try:
        assert market(again_server, PRE)["preMarket"] == settled["preMarket"]
        assert ccxt_client(again_server, alice_creds).fetch_balance()["USDC"]["total"] == alice_usdc
    finally:
        again_server.stop()
    server.proc = again_server.proc  # (the fixture stops it again: harmless)
