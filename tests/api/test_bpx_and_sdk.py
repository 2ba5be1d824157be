"""bpx-py and backpack-exchange-sdk, unmodified, against a running server (REST and the SDK's WS)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backpack_exchange_sdk._base.errors import BackpackInvalidRequestError
from backpack_exchange_sdk.authenticated import AuthenticationClient
from backpack_exchange_sdk.public import PublicClient
from backpack_exchange_sdk.websocket import WebSocketClient

from tests.api.conftest import Server, sandbox_account, serve_gateways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", name="server")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This client suite runs against two gateway processes in front of the sequencer (issue 15)."""
    yield from serve_gateways(tmp_path_factory, 2)


ROOT = Path(__file__).resolve().parents[2]
BPX_PYTHON = ROOT / ".venv-bpx" / "bin" / "python"


@pytest.fixture(scope="module")
def liquidity(server: Server) -> None:
    """A resting ask so market orders have something to fill against."""
    maker = AuthenticationClient(*_keys(sandbox_account(server, USDC="10000", SOL="100")), base_url=server.url + "/")
    maker.execute_order("Limit", "Ask", "SOL_USDC", price="100.5", quantity="20")
    maker.execute_order("Limit", "Bid", "SOL_USDC", price="99.5", quantity="20")


def _keys(creds: Any) -> tuple[str, str]:
    return creds.api_key, creds.secret


def test_bpx_py(server: Server, liquidity: None) -> None:
    if not BPX_PYTHON.exists():
        pytest.fail(f"{BPX_PYTHON} is missing: `make test` creates it (bpx-py needs its own venv)")
    creds = sandbox_account(server, USDC="5000", SOL="20")
    out = subprocess.run(
        [str(BPX_PYTHON), str(ROOT / "tests/api/clients/bpx_flow.py"), server.url, creds.api_key, creds.secret],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert "SOL_USDC" in r["markets"] and r["status"]["status"] == "Ok" and isinstance(r["time"], int)
    assert r["balances"]["USDC"]["available"] == "5000"
    assert r["placed"]["status"] == "New" and r["placed"]["clientId"] == 31
    assert r["open_one"]["id"] == r["placed"]["id"]
    assert [o["id"] for o in r["open"]] == [r["placed"]["id"]]
    assert r["cancelled"]["status"] == "Cancelled"
    assert r["market"]["status"] == "Filled" and r["market"]["executedQuantity"] == "0.50"
    assert r["market"]["executedQuoteQuantity"] == "49.75"
    assert {h["status"] for h in r["history"]} == {"Cancelled", "Filled"}
    assert r["fills"][0]["price"] == "99.50" and r["fills"][0]["feeSymbol"] == "USDC"
    assert {d["symbol"] for d in r["deposits"]} == {"USDC", "SOL"}
    assert r["cancel_all"] == []
    # a new account lends its deposits (autoLend), and the market sell redeemed SOL for its hold
    moves = {(h["eventType"], h["source"], h["symbol"]) for h in r["borrow_history"]}
    assert {("Lend", "AutoLend", "USDC"), ("Lend", "AutoLend", "SOL"), ("LendRedeem", "SpotMargin", "SOL")} <= moves
    assert r["interest"] == []  # no hour has been accrued on this server


def test_sdk_rest(server: Server, liquidity: None) -> None:
    creds = sandbox_account(server, USDC="5000", SOL="20")
    public = PublicClient(base_url=server.url + "/")
    assert any(m["symbol"] == "ETH_USDC" for m in public.get_markets())
    assert public.get_depth("SOL_USDC")["asks"][0] == ["100.50", "20.00"]
    assert public.get_status()["status"] == "Ok"
    client = AuthenticationClient(*_keys(creds), base_url=server.url + "/")
    assert client.get_balances()["SOL"]["available"] == "20"
    placed = client.execute_order("Limit", "Ask", "SOL_USDC", price="111", quantity="1", clientId=9)
    assert placed["status"] == "New" and placed["postOnly"] is False
    assert [o["id"] for o in client.get_open_orders(symbol="SOL_USDC")] == [placed["id"]]
    assert client.cancel_open_order("SOL_USDC", orderId=placed["id"])["status"] == "Cancelled"
    filled = client.execute_order("Market", "Bid", "SOL_USDC", quoteQuantity="201")
    assert filled["status"] == "Filled" and filled["executedQuantity"] == "2.00"
    batch = client.execute_batch_orders(
        [
            {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "95", "quantity": "1"},
            {
                "symbol": "SOL_USDC",
                "side": "Bid",
                "orderType": "Limit",
                "price": "101",
                "quantity": "1",
                "postOnly": True,
            },
        ]
    )
    assert [b["operation"] for b in batch] == ["Ok", "Err"] and batch[1]["code"] == "INVALID_ORDER"
    with pytest.raises(BackpackInvalidRequestError):  # a malformed order rejects the whole batch up front
        client.execute_batch_orders(
            [
                {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "95", "quantity": "1"},
                {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "96", "quantity": "0.001"},
            ]
        )
    assert len(client.get_open_orders(symbol="SOL_USDC")) == 1
    client.cancel_open_orders("SOL_USDC")


class LocalWebSocketClient(WebSocketClient):
    """The SDK has no URL parameter; its reconnect path also goes through ``_connect``. Its
    ``on_close`` reconnects (and prints) forever, even after ``close()``: once closed, it stops."""

    url = ""
    closed = False

    def _connect(self) -> None:
        if self.closed:
            return
        self.base_url = self.url
        super()._connect()

    def close(self) -> None:
        self.closed = True
        super().close()


def test_sdk_websocket(server: Server, liquidity: None) -> None:
    creds = sandbox_account(server, USDC="5000", SOL="20")
    LocalWebSocketClient.url = server.url.replace("http://", "ws://") + "/ws"
    ws = LocalWebSocketClient(creds.api_key, creds.secret)
    got: dict[str, list[dict[str, Any]]] = {"trade": [], "order": []}
    seen = threading.Event()

    def on_trade(message: dict[str, Any]) -> None:
        got["trade"].append(message)
        seen.set()

    def on_order(message: dict[str, Any]) -> None:
        got["order"].append(message)

    try:
        ws.subscribe(["trade.SOL_USDC"], on_trade)
        ws.subscribe(["account.orderUpdate"], on_order, is_private=True)
        time.sleep(0.5)
        client = AuthenticationClient(*_keys(creds), base_url=server.url + "/")
        client.execute_order("Market", "Bid", "SOL_USDC", quantity="1")
        assert seen.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(m.get("e") == "orderFill" for m in got["order"]):
            time.sleep(0.1)
        assert got["trade"][0]["p"] == "100.50" and got["trade"][0]["q"] == "1.00"
        assert [m["e"] for m in got["order"]][:2] == ["orderAccepted", "orderFill"]
    finally:
        ws.close()


def test_account_limits(server: Server, liquidity: None) -> None:
    creds = sandbox_account(server, USDC="1005", SOL="3.456")
    client = AuthenticationClient(*_keys(creds), base_url=server.url + "/")
    ask = client.get_max_order_quantity(symbol="SOL_USDC", side="Ask")
    assert ask["maxOrderQuantity"] == "3.45" and ask["symbol"] == "SOL_USDC"  # whole steps of 0.01
    bid = client.get_max_order_quantity(symbol="SOL_USDC", side="Bid", price="100")
    assert bid["maxOrderQuantity"] == "10.05" and bid["price"] == "100.00"
    assert client.get_max_withdrawal_quantity(symbol="USDC")["maxWithdrawalQuantity"] == "1005"
    assert client.get_max_borrow_quantity(symbol="USDC")["maxBorrowQuantity"] == "0"
