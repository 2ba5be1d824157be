"""Scheduled (TWAP) strategies end to end: backpack-exchange-sdk's strategy methods (create,
get, open strategies, cancel, cancel all, history), the sandbox's strategy tick cranking time,
``strategyId`` on the slices' orders, fills and order updates, and Backpack errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from backpack_exchange_sdk.authenticated import AuthenticationClient

from tests.api.conftest import Creds, Server, Signed, sandbox_account, serve_gateways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", name="server")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Behind two gateway processes, as the other client suites: the strategy reads come from the
    gateways' replicas of the engine."""
    yield from serve_gateways(tmp_path_factory, 2)


def admin(server: Server, path: str, body: dict[str, Any]) -> Any:
    token = (server.data_dir / "admin.token").read_text().strip()
    r = httpx.post(server.url + path, json=body, headers={"X-Admin-Token": token})
    assert r.status_code == 200, r.text
    return r.json()


def sdk(server: Server, creds: Creds) -> AuthenticationClient:
    return AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")


BASE = {"symbol": "SOL_USDC", "side": "Bid", "strategyType": "Scheduled"}


def crank(server: Server, advance_ms: int) -> None:
    admin(server, "/api/v1/sandbox/tick", {"tick": "strategies", "advanceMs": advance_ms})


@pytest.fixture(scope="module")
def liquidity(server: Server) -> None:
    maker = sdk(server, sandbox_account(server, auto_lend=False, USDC="100000", SOL="1000"))
    maker.execute_order("Limit", "Ask", "SOL_USDC", price="100", quantity="50")
    maker.execute_order("Limit", "Ask", "SOL_USDC", price="110", quantity="500")
    maker.execute_order("Limit", "Bid", "SOL_USDC", price="90", quantity="500")


def test_twap_runs_to_completion_with_strategy_ids(server: Server, liquidity: None) -> None:
    creds = sandbox_account(server, auto_lend=False, USDC="10000")
    client = sdk(server, creds)
    created = client.create_strategy(
        "SOL_USDC",
        "Bid",
        "Scheduled",
        quantity="4",
        duration="400000",
        interval="100000",
        clientStrategyId=5,
        randomizedIntervalQuantity="true",
    )
    assert created["status"] == "Running" and created["strategyType"] == "Scheduled"
    assert (created["quantity"], created["duration"], created["interval"]) == ("4.00", 400_000, 100_000)
    assert created["clientStrategyId"] == 5 and created["randomizedIntervalQuantity"] is True
    assert created["cancelReason"] is None and created["timeInForce"] == "IOC"
    sid = created["id"]
    assert client.get_strategy("SOL_USDC", clientStrategyId=5)["id"] == sid
    assert [s["id"] for s in client.get_open_strategies(symbol="SOL_USDC")] == [sid]
    for _ in range(4):  # four intervals of 100 s, cranked by the sandbox
        crank(server, 100_000)
    [done] = client.get_strategy_history(strategyId=sid)
    assert (done["status"], done["executedQuantity"]) == ("Completed", "4.00")
    assert Decimal(done["executedQuoteQuantity"]) == 400  # all within the 100 USDC level
    assert client.get_open_strategies() == []
    orders = client.get_order_history(strategyId=sid)
    assert len(orders) == 4 and {o["strategyId"] for o in orders} == {sid}
    assert sum(Decimal(o["executedQuantity"]) for o in orders) == 4
    assert len({o["executedQuantity"] for o in orders}) > 1  # randomized interval quantities
    fills = client.get_fill_history(strategyId=sid)
    assert fills and {f["strategyId"] for f in fills} == {sid}
    assert {f["orderId"] for f in fills} == {o["id"] for o in orders}
    assert client.get_order_history(strategyId="999999") == []


def test_cancel_cancel_all_and_errors(server: Server, liquidity: None) -> None:
    creds = sandbox_account(server, auto_lend=False, USDC="10000")
    client = sdk(server, creds)
    one = client.create_strategy("SOL_USDC", "Bid", "Scheduled", quantity="1", duration="600000", interval="60000")
    two = client.create_strategy("SOL_USDC", "Bid", "Scheduled", quantity="1", clientStrategyId=9)
    three = client.create_strategy("SOL_USDC", "Bid", "Scheduled", quantity="1")
    cancelled = client.cancel_strategy("SOL_USDC", strategyId=one["id"])
    assert (cancelled["id"], cancelled["status"]) == (one["id"], "Cancelled")
    everything = client.cancel_all_strategies("SOL_USDC", strategyType="Scheduled")
    assert sorted(s["id"] for s in everything) == sorted([two["id"], three["id"]])
    assert {s["status"] for s in client.get_strategy_history(symbol="SOL_USDC")} == {"Cancelled"}
    raw = Signed(server.url, creds)
    missing = raw.request("GET", "/api/v1/strategy", "strategyQuery", {"symbol": "SOL_USDC", "strategyId": one["id"]})
    assert missing.status_code == 404 and missing.json()["code"] == "RESOURCE_NOT_FOUND"
    again = raw.request("DELETE", "/api/v1/strategy", "strategyCancel", {"symbol": "SOL_USDC", "strategyId": one["id"]})
    assert again.status_code == 404
    for body, code in (
        ({"symbol": "SOL_USDC", "side": "Bid", "strategyType": "Twap", "quantity": "1"}, "INVALID_CLIENT_REQUEST"),
        ({"symbol": "SOL_USDC", "side": "Bid", "strategyType": "Scheduled"}, "INVALID_QUANTITY"),
        ({"symbol": "NOPE_USDC", "side": "Bid", "strategyType": "Scheduled", "quantity": "1"}, "INVALID_MARKET"),
        (
            {"symbol": "SOL_USDC", "side": "Bid", "strategyType": "Scheduled", "quantity": "1", "interval": 0},
            "INVALID_ORDER",
        ),
        (
            {"symbol": "SOL_USDC", "side": "Bid", "strategyType": "Scheduled", "quantity": "1", "postOnly": True},
            "INVALID_ORDER",
        ),
        (
            {
                "symbol": "SOL_USDC",
                "side": "Bid",
                "strategyType": "Scheduled",
                "quantity": "1",
                "slippageTolerance": "1",
            },
            "INVALID_CLIENT_REQUEST",
        ),
    ):
        r = raw.request("POST", "/api/v1/strategy", "strategyCreate", body)
        assert r.status_code == 400 and r.json()["code"] == code, (body, r.text)
    assert client.get_strategy_history(symbol="SOL_USDC", sortDirection="Asc")[0]["id"] == one["id"]


def test_slippage_and_termination_and_order_updates(server: Server, liquidity: None) -> None:
    creds = sandbox_account(server, auto_lend=False, USDC="150")
    client = sdk(server, creds)
    raw = Signed(server.url, creds)

    async def watch() -> list[dict[str, Any]]:
        ws_url = server.url.replace("http", "ws", 1)
        async with websockets.connect(ws_url) as ws:
            params = raw.headers("subscribe", {})
            signature = [params["X-API-Key"], params["X-Signature"], params["X-Timestamp"], params["X-Window"]]
            await ws.send(
                json.dumps({"method": "SUBSCRIBE", "params": ["account.orderUpdate"], "signature": signature})
            )
            await asyncio.sleep(0.5)
            # 2% tolerance: a 1-SOL slice fits the 100 USDC level; the next one (which would
            # reach 110) is not sent; the strategy's last slice cannot be paid: Terminated
            created = await asyncio.to_thread(
                client.create_strategy,
                "SOL_USDC",
                "Bid",
                "Scheduled",
                quantity="3",
                duration="300000",
                interval="100000",
                slippageTolerance="2",
                slippageToleranceType="Percent",
            )
            await asyncio.to_thread(crank, server, 0)  # the first slice is due at creation
            frames: list[dict[str, Any]] = []
            while not any(f["data"].get("H") == created["id"] and f["data"]["e"] == "orderFill" for f in frames):
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if "data" in frame:
                    frames.append(frame)
            return [created, *frames]

    created, *frames = asyncio.run(watch())
    sid = created["id"]
    assert created["slippageTolerance"] == "2" and created["slippageToleranceType"] == "Percent"
    assert any(f["data"].get("H") == sid and f["data"]["e"] == "orderFill" for f in frames)
    crank(server, 300_000)
    [done] = client.get_strategy_history(strategyId=sid)
    # the second slice cannot be paid (50 USDC left): Backpack's crank cancel reason
    assert (done["status"], done["cancelReason"], done["executedQuantity"]) == (
        "Terminated",
        "InsufficientFunds",
        "1.00",
    )
    fills = client.get_fill_history(strategyId=sid)
    assert fills and all(f["price"] == "100.00" for f in fills)
