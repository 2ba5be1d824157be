"""The margin read models (funding rates and payments, settlements, positions, subaccounts) survive a
restart and rebuild from the journal to the same rows when the database is deleted."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow


def view(server: Server, client: Signed) -> dict[str, object]:
    return {
        "rates": httpx.get(server.url + "/api/v1/fundingRates?symbol=SOL_USDC_PERP").json(),
        "funding": client.request("GET", "/wapi/v1/history/funding", "fundingHistoryQueryAll").json(),
        "settlements": client.request("GET", "/wapi/v1/history/settlement", "settlementHistoryQueryAll").json(),
        "positions": client.request("GET", "/wapi/v1/history/position", "positionHistoryQueryAll").json(),
        "subaccounts": client.request("GET", "/api/v1/subaccounts", "subaccountQueryAll").json(),
    }


def test_margin_history_rebuilds(tmp_path: Path) -> None:
    data = tmp_path / "d"
    server = start_server(data, "--no-makers", "--feed", "manual")
    token = (data / "admin.token").read_text().strip()
    try:
        maker = Signed(server.url, sandbox_account(server, USDC="100000"))
        creds = sandbox_account(server, USDC="10000")
        trader = Signed(server.url, creds)
        sell = {"symbol": "ETH_USDC_PERP", "orderType": "Limit", "price": "3000", "quantity": "1", "side": "Ask"}
        maker.request("POST", "/api/v1/order", "orderExecute", sell)
        sol = {**sell, "symbol": "SOL_USDC_PERP", "price": "150", "quantity": "5"}
        maker.request("POST", "/api/v1/order", "orderExecute", sol)
        for symbol, qty in (("ETH_USDC_PERP", "0.5"), ("SOL_USDC_PERP", "5")):
            trader.request(
                "POST", "/api/v1/order", "orderExecute", {"symbol": symbol, "orderType": "Market",
                                                          "quantity": qty, "side": "Bid"}
            )  # fmt: skip
        trader.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "a"})
        for tick in ("funding", "funding", "settlement"):
            httpx.post(server.url + "/api/v1/sandbox/tick", json={"tick": tick}, headers={"X-Admin-Token": token})
        before = view(server, trader)
        assert len(before["funding"]) == 4 and len(before["rates"]) == 2  # type: ignore[arg-type]
    finally:
        server.stop()
    server = start_server(data, "--no-makers", "--feed", "manual")
    try:
        assert view(server, Signed(server.url, creds)) == before
    finally:
        server.stop()
    for suffix in ("", "-wal", "-shm"):
        Path(str(data / "read.sqlite") + suffix).unlink(missing_ok=True)
    server = start_server(data, "--no-makers", "--feed", "manual")
    try:
        assert view(server, Signed(server.url, creds)) == before
    finally:
        server.stop()
