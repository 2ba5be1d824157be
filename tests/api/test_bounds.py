"""Prices and amounts past 64 bits (issue 13, finding 4): the trade that broke the read models,
snapshots and replay is refused with a 400, and a trade at the largest accepted bound trades,
projects, snapshots and replays to the same state hash."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import Server, Signed, sandbox_account, start_server
from tests.api.test_snapshots_and_permissions import replay

pytestmark = pytest.mark.slow
PERP = "BTC_USDC_PERP"


def set_price(server: Server, symbol: str, price: str) -> httpx.Response:
    token = (server.data_dir / "admin.token").read_text().strip()
    return httpx.post(
        server.url + "/api/v1/sandbox/price",
        json={"symbol": symbol, "price": price},
        headers={"X-Admin-Token": token},
        timeout=30,
    )


def place(client: Signed, side: str, price: str, quantity: str) -> httpx.Response:
    order = {"symbol": PERP, "side": side, "orderType": "Limit", "price": price, "quantity": quantity}
    return client.request("POST", "/api/v1/order", "orderExecute", order)


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 400 and response.json()["code"] == code, response.text


def test_the_1e13_trade_is_refused_and_the_largest_accepted_one_replays(tmp_path: Path) -> None:
    data = tmp_path / "d"
    server = start_server(data, "--no-makers", "--feed", "manual")
    try:
        market: dict[str, Any] = httpx.get(server.url + "/api/v1/market", params={"symbol": PERP}).json()
        filters = market["filters"]
        assert (filters["price"]["maxPrice"], filters["quantity"]["maxQuantity"]) == ("10000000.0", "1000.00000")
        # the reproduction: the sandbox price, then an order, at 1e13 USDC
        refused(set_price(server, "BTC_USDC", "10000000000000"), "INVALID_PRICE")
        assert httpx.get(server.url + "/api/v1/markPrices", params={"symbol": PERP}).json()[0]["indexPrice"] == (
            "60000.0"  # unchanged
        )
        funds = {"USDC": "70000000000"}  # the margin of 1,000 BTC at 10,000,000 is 2.5 times its notional
        seller = Signed(server.url, sandbox_account(server, **funds))
        buyer = Signed(server.url, sandbox_account(server, **funds))
        refused(place(seller, "Ask", "10000000000000", "1"), "INVALID_PRICE")
        # the largest accepted: the index at the maximum price, the maximum quantity traded at it
        assert set_price(server, "BTC_USDC", "10000000").status_code == 200
        refused(place(seller, "Ask", "10000000.1", "1"), "INVALID_PRICE")
        refused(place(seller, "Ask", "10000000", "1000.00001"), "INVALID_QUANTITY")
        assert place(seller, "Ask", "10000000", "1000").status_code == 200
        taken = place(buyer, "Bid", "10000000", "1000")
        assert taken.status_code == 200 and taken.json()["status"] == "Filled", taken.text
        # projected: history, ticker and klines answer with the exact volume
        fills = buyer.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll").json()
        assert [(f["price"], f["quantity"]) for f in fills] == [("10000000.0", "1000.00000")]
        ticker = httpx.get(server.url + "/api/v1/ticker", params={"symbol": PERP}).json()
        assert (ticker["volume"], ticker["quoteVolume"]) == ("1000.00000", "10000000000")
        klines = httpx.get(server.url + "/api/v1/klines", params={"symbol": PERP, "interval": "1m", "startTime": "0"})
        assert klines.status_code == 200 and klines.json()[-1]["quoteVolume"] == "10000000000"
        positions = buyer.request("GET", "/api/v1/position", "positionQuery").json()
        assert [(p["symbol"], p["netQuantity"]) for p in positions] == [(PERP, "1000.00000")]
    finally:
        server.stop()  # the shutdown snapshot
    snapshotted = replay(data)
    assert snapshotted["snapshot_seq"] == snapshotted["seq"] and snapshotted["invariants"] == "ok"
    shutil.rmtree(data / "snapshots")  # the whole journal, from nothing
    full = replay(data)
    assert full["snapshot_seq"] == 0 and full["state_hash"] == snapshotted["state_hash"]
