"""A restart keeps every order, fill and balance; the read models rebuild when deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow


def snapshot(client: Signed) -> dict[str, object]:
    return {
        "capital": client.request("GET", "/api/v1/capital", "balanceQuery").json(),
        "open": client.request("GET", "/api/v1/orders", "orderQueryAll").json(),
        "orders": client.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll").json(),
        "fills": client.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll").json(),
        "deposits": client.request("GET", "/wapi/v1/capital/deposits", "depositQueryAll").json(),
    }


def test_restart_keeps_orders_fills_and_balances(tmp_path: Path) -> None:
    data = tmp_path / "d"
    server = start_server(data, "--no-makers", "--feed", "manual")
    try:
        a = Signed(server.url, sandbox_account(server, USDC="10000", SOL="50"))
        b = Signed(server.url, sandbox_account(server, USDC="10000", SOL="50"))
        for price in ("99", "100", "101"):
            a.request(
                "POST",
                "/api/v1/order",
                "orderExecute",
                {"orderType": "Limit", "price": price, "quantity": "2", "side": "Ask", "symbol": "SOL_USDC"},
            )
        b.request(
            "POST",
            "/api/v1/order",
            "orderExecute",
            {"orderType": "Market", "quantity": "3", "side": "Bid", "symbol": "SOL_USDC"},
        )
        a.request(
            "POST",
            "/api/v1/order",
            "orderExecute",
            {"orderType": "Limit", "price": "90", "quantity": "1", "side": "Bid", "symbol": "SOL_USDC", "clientId": 5},
        )
        before = {"a": snapshot(a), "b": snapshot(b)}
        assert len(before["b"]["fills"]) == 2 and len(before["a"]["open"]) == 3  # type: ignore[arg-type]
    finally:
        server.stop()
    for wipe_read_models in (False, True):
        if wipe_read_models:
            for f in data.glob("read.sqlite*"):
                f.unlink()
        server = start_server(data, "--no-makers", "--feed", "manual")
        a.url = b.url = server.url
        try:
            after = {"a": snapshot(a), "b": snapshot(b)}
            for who in after:
                for k in after[who]:
                    assert after[who][k] == before[who][k], (wipe_read_models, who, k, after[who][k], before[who][k])
            found = a.request("GET", "/api/v1/order", "orderQuery", {"symbol": "SOL_USDC", "clientId": 5})
            assert found.status_code == 200 and found.json()["price"] == "90.00"
        finally:
            server.stop()


def test_fills_after_restart_carry_the_resting_orders_client_id(tmp_path: Path) -> None:
    """The projector keeps open orders' client ids in memory: after a restart it reloads them
    (from the read database, or from the journal when the database was wiped), so a resting
    order filled after the restart still reports its clientId on the fill."""
    data = tmp_path / "d"
    server = start_server(data, "--no-makers", "--feed", "manual")
    try:
        maker = Signed(server.url, sandbox_account(server, USDC="10000", SOL="50"))
        taker = Signed(server.url, sandbox_account(server, USDC="10000", SOL="50"))
        for price, client_id in (("100", 7), ("101", 8)):
            placed = maker.request(
                "POST",
                "/api/v1/order",
                "orderExecute",
                {
                    "orderType": "Limit",
                    "price": price,
                    "quantity": "1",
                    "side": "Ask",
                    "symbol": "SOL_USDC",
                    "clientId": client_id,
                },
            )
            assert placed.status_code == 200, placed.text
    finally:
        server.stop()
    for wipe_read_models, client_id in ((False, 7), (True, 8)):
        if wipe_read_models:
            for f in data.glob("read.sqlite*"):
                f.unlink()
        server = start_server(data, "--no-makers", "--feed", "manual")
        maker.url = taker.url = server.url
        try:
            bought = taker.request(
                "POST",
                "/api/v1/order",
                "orderExecute",
                {"orderType": "Market", "quantity": "1", "side": "Bid", "symbol": "SOL_USDC"},
            )
            assert bought.status_code == 200 and bought.json()["status"] == "Filled", bought.text
            fills = maker.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll").json()
            assert [f["clientId"] for f in fills] == [str(c) for c in range(client_id, 6, -1)], fills
            assert all(f["isMaker"] for f in fills)
            (taker_fill,) = [
                f
                for f in taker.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll").json()
                if f["tradeId"] == fills[0]["tradeId"]
            ]
            assert taker_fill["clientId"] is None
        finally:
            server.stop()
