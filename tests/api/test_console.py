"""The operator console through the API of a real server: surveillance alerts with evidence and
their journaled resolution, halting and resuming a market (orders refused with Backpack's
``TRADING_PAUSED``, the status in ``GET /api/v1/markets``), a circuit breaker tripping on an index
jump, and ``rucksack surveil`` over the journal giving the same alerts and statuses."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rucksack.exchange.api.auth import new_keypair
from rucksack.exchange.config import default_config_text
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("console")
    data_dir = root / "d"
    data_dir.mkdir(mode=0o700)
    config = default_config_text()
    assert 'band = "0"\n' in config
    (data_dir / "config.toml").write_text(config.replace('band = "0"\n', 'band = "0.10"\n'))  # a 10% breaker
    public, secret = new_keypair()
    server = start_server(data_dir, "--no-makers", "--feed", "manual", "--operator-key", public)
    yield server, Signed(server.url, Creds(public, secret, 0))
    server.stop()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def order(client: Signed, side: str, price: str, quantity: str = "1", symbol: str = "SOL_USDC") -> httpx.Response:
    body = {"orderType": "Limit", "price": price, "quantity": quantity, "side": side, "symbol": symbol}
    return client.request("POST", "/api/v1/order", "orderExecute", body)


def book_state(server: Server, symbol: str) -> str:
    markets = httpx.get(server.url + "/api/v1/markets").json()
    state: str = next(m["orderBookState"] for m in markets if m["symbol"] == symbol)
    return state


def set_status(op: Signed, body: dict[str, Any]) -> Any:
    return ok(op.request("POST", "/api/v1/operator/market/status", "operatorMarketStatus", body))


def alerts(op: Signed, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(op.request("GET", "/api/v1/operator/alerts", "operatorAlertQueryAll", params))
    return found


def test_wash_trade_across_subaccounts_raises_an_alert_that_the_operator_resolves(venue: Any) -> None:
    server, op = venue
    ok(op.request("POST", "/api/v1/operator/price", "operatorIndexPrice", {"symbol": "SOL_USDC", "price": "150"}))
    alice = Signed(server.url, sandbox_account(server, USDC="10000", SOL="10"))
    sub = ok(alice.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "desk"}))["subaccountId"]
    transfer = {"toSubaccountId": sub, "symbol": "SOL", "quantity": "5"}
    ok(alice.request("POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", transfer))
    public, secret = new_keypair()
    ok(
        alice.request(
            "POST", "/api/v1/subaccounts/apiKeys", "subaccountApiKeyCreate", {"subaccountId": sub, "publicKey": public}
        )
    )
    desk = Signed(server.url, Creds(public, secret, sub))
    ok(order(desk, "Ask", "150"))
    assert ok(order(alice, "Bid", "150"))["status"] == "Filled"
    deadline = time.monotonic() + 10
    while not (found := alerts(op, typology="WashTrading")) and time.monotonic() < deadline:
        time.sleep(0.1)
    [alert] = found
    assert alert["owner"] == alice.creds.account and alert["accounts"] == sorted([alice.creds.account, sub])
    [trade] = alert["evidence"]["trades"]
    assert (trade["buyerAccountId"], trade["sellerAccountId"], trade["price"]) == (alice.creds.account, sub, "150.00")
    one = ok(op.request("GET", "/api/v1/operator/alert", "operatorAlertQuery", {"id": alert["id"]}))
    assert one == alert
    resolve = {"id": alert["id"], "resolution": "Dismissed", "note": "desk rebalancing, reviewed"}
    resolved = ok(op.request("POST", "/api/v1/operator/alert/resolve", "operatorAlertResolve", resolve))
    assert (resolved["status"], resolved["note"]) == ("Dismissed", "desk rebalancing, reviewed")
    assert alerts(op, status="Open") == []
    bad = op.request("POST", "/api/v1/operator/alert/resolve", "operatorAlertResolve", {**resolve, "resolution": "Meh"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CLIENT_REQUEST"
    missing = op.request("GET", "/api/v1/operator/alert", "operatorAlertQuery", {"id": "WASH-NOPE-T1"})
    assert missing.status_code == 404


def test_a_halted_market_refuses_orders_with_trading_paused_and_resumes(venue: Any) -> None:
    server, op = venue
    bob = Signed(server.url, sandbox_account(server, USDC="10000", SOL="10"))
    resting = ok(order(bob, "Bid", "140"))
    halt = {"symbol": "SOL_USDC", "status": "Halted", "reason": "token migration"}
    changed = set_status(op, halt)
    assert changed == {
        "symbol": "SOL_USDC",
        "status": "Halted",
        "orderBookState": "CancelOnly",
        "reason": "token migration",
        "cancelledOrders": 0,
    }
    assert book_state(server, "SOL_USDC") == "CancelOnly" and book_state(server, "BTC_USDC") == "Open"
    refused = order(bob, "Ask", "150")
    assert refused.status_code == 400 and refused.json()["code"] == "TRADING_PAUSED"
    open_orders = ok(bob.request("GET", "/api/v1/orders", "orderQueryAll", {"symbol": "SOL_USDC"}))
    assert [o["id"] for o in open_orders] == [resting["id"]]  # kept
    ok(
        op.request(
            "POST", "/api/v1/operator/market/status", "operatorMarketStatus", {"symbol": "SOL_USDC", "status": "Open"}
        )
    )
    assert book_state(server, "SOL_USDC") == "Open"
    assert ok(order(bob, "Bid", "139"))["status"] == "New"
    # halting with cancelOrders takes every open order off the book
    halt_all = {"symbol": "SOL_USDC", "status": "Halted", "cancelOrders": True}
    assert (
        ok(op.request("POST", "/api/v1/operator/market/status", "operatorMarketStatus", halt_all))["cancelledOrders"]
        == 2
    )
    assert ok(bob.request("GET", "/api/v1/orders", "orderQueryAll", {"symbol": "SOL_USDC"})) == []
    ok(
        op.request(
            "POST", "/api/v1/operator/market/status", "operatorMarketStatus", {"symbol": "SOL_USDC", "status": "Open"}
        )
    )
    # a customer's key is not an operator key
    refused = bob.request("POST", "/api/v1/operator/market/status", "operatorMarketStatus", halt)
    assert refused.status_code == 401
    assert bob.request("GET", "/api/v1/operator/alerts", "operatorAlertQueryAll").status_code == 401


def test_the_circuit_breaker_halts_a_market_on_an_index_jump(venue: Any) -> None:
    server, op = venue
    ok(op.request("POST", "/api/v1/operator/price", "operatorIndexPrice", {"symbol": "ETH_USDC", "price": "3000"}))
    ok(op.request("POST", "/api/v1/operator/price", "operatorIndexPrice", {"symbol": "ETH_USDC", "price": "3200"}))
    assert book_state(server, "ETH_USDC") == "Open"  # +6.7%: inside the 10% band
    ok(op.request("POST", "/api/v1/operator/price", "operatorIndexPrice", {"symbol": "ETH_USDC", "price": "3500"}))
    markets = {m["symbol"]: m for m in ok(op.request("GET", "/api/v1/operator/markets", "operatorMarketQueryAll"))}
    for symbol in ("ETH_USDC", "ETH_USDC_PERP"):  # +16.7% on both markets the feed symbol drives
        assert (markets[symbol]["status"], markets[symbol]["reason"]) == ("Halted", "CircuitBreaker")
        assert book_state(server, symbol) == "CancelOnly"
    assert markets["SOL_USDC"]["status"] == "Open" and markets["ETH_USDC"]["circuitBreakerBand"] == "0.1"
    fund = ok(op.request("GET", "/api/v1/operator/insuranceFund", "operatorInsuranceFundQuery"))
    assert set(fund["balances"]) >= {"USDC", "SOL"}
    tiers = ok(op.request("GET", "/api/v1/operator/feeTiers", "operatorFeeTierQueryAll"))
    assert tiers[0]["tier"] == 0 and len(tiers) >= 2


def test_the_operator_command_line_halts_resumes_and_lists_alerts(venue: Any, tmp_path: Path) -> None:
    server, op = venue
    key_file = tmp_path / "operator.key"
    key_file.write_text(op.creds.secret + "\n")

    def cli(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "rucksack", "operator", *args, "--url", server.url, "--key-file", str(key_file)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert cli("market", "--symbol", "BTC_USDC", "--status", "Halted", "--reason", "maintenance")["orderBookState"] == (
        "CancelOnly"
    )
    assert book_state(server, "BTC_USDC") == "CancelOnly"
    assert cli("market", "--symbol", "BTC_USDC", "--status", "Open")["status"] == "Open"
    listed = cli("alerts", "--status", "Dismissed")
    assert [a["typology"] for a in listed] == ["WashTrading"]


def test_surveil_over_the_journal_gives_the_same_alerts_and_statuses(venue: Any) -> None:
    server, op = venue
    live = alerts(op)
    statuses = {
        m["symbol"]: m["status"] for m in ok(op.request("GET", "/api/v1/operator/markets", "operatorMarketQueryAll"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "rucksack", "surveil", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["alerts"] == live and report["counts"] == {"WashTrading": 1}
    assert report["marketStatus"] == statuses


def test_a_restart_shows_the_same_alerts_resolutions_and_statuses(venue: Any) -> None:
    server, op = venue
    before = alerts(op)
    markets = ok(op.request("GET", "/api/v1/operator/markets", "operatorMarketQueryAll"))
    server.stop()
    again = start_server(server.data_dir, "--no-makers", "--feed", "manual", "--operator-key", op.creds.api_key)
    try:
        client = Signed(again.url, op.creds)
        deadline = time.monotonic() + 20
        while alerts(client) != before and time.monotonic() < deadline:  # caught up from the journal
            time.sleep(0.2)
        assert alerts(client) == before and before[0]["status"] == "Dismissed"
        after = ok(client.request("GET", "/api/v1/operator/markets", "operatorMarketQueryAll"))
        assert [(m["symbol"], m["status"], m["reason"]) for m in after] == [
            (m["symbol"], m["status"], m["reason"]) for m in markets
        ]
        assert book_state(again, "ETH_USDC") == "CancelOnly"
    finally:
        again.stop()
