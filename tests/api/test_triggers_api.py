"""Trigger orders and spot-margin order flags through unmodified clients (ccxt, the SDK) and the
raw order stream: TriggerPending -> triggerPlaced (New) -> Filled; TP/SL attached by ccxt's
``stopLoss`` / ``takeProfit``; a take-profit left without a position expires."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from backpack_exchange_sdk._base.errors import BackpackAPIError
from backpack_exchange_sdk.authenticated import AuthenticationClient

from tests.api.conftest import Server, Signed, sandbox_account
from tests.api.test_perps import PERP, quotes, rest

pytestmark = pytest.mark.slow


def wait_for_marks(server: Server) -> None:
    deadline = time.monotonic() + 10
    while not httpx.get(server.url + "/api/v1/markPrices").json() and time.monotonic() < deadline:
        time.sleep(0.2)  # the feed publishes its first index prices within a second of start
    move_index(server, "150")


def move_index(server: Server, price: str) -> None:
    token = (server.data_dir / "admin.token").read_text().strip()
    answer = httpx.post(
        server.url + "/api/v1/sandbox/price",
        json={"symbol": "SOL_USDC", "price": price},
        headers={"X-Admin-Token": token},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def test_ccxt_trigger_and_bracket_orders_with_the_order_stream(server: Server) -> None:
    import websockets

    wait_for_marks(server)
    quotes(server)  # SOL perp 149 / 151, 100 deep each side
    creds = sandbox_account(server, USDC="10000")
    ex = rest(server, creds)
    signer = Signed(server.url, creds)

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], list[dict[str, Any]], Any]:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            headers = signer.headers("subscribe", {})
            signature = [headers["X-API-Key"], headers["X-Signature"], headers["X-Timestamp"], headers["X-Window"]]
            await ws.send(
                json.dumps(
                    {"method": "SUBSCRIBE", "params": ["account.orderUpdate.SOL_USDC_PERP"], "signature": signature}
                )
            )
            await asyncio.sleep(0.3)
            # a standalone stop: sell 1 when the index falls to 145 (ccxt sends triggerQuantity)
            stop = await asyncio.to_thread(
                ex.create_order, PERP, "market", "sell", 1, None, {"triggerPrice": 145, "triggerBy": "IndexPrice"}
            )
            # buy 2 with a stop-loss at 140 (market) and a take-profit at 160 (limit 159)
            bracket = await asyncio.to_thread(
                ex.create_order,
                PERP,
                "market",
                "buy",
                2,
                None,
                {"stopLoss": {"triggerPrice": 140}, "takeProfit": {"triggerPrice": 160, "price": 159}},
            )
            pending = await asyncio.to_thread(ex.fetch_open_orders, PERP)
            account = (await asyncio.to_thread(signer.request, "GET", "/api/v1/account", "accountQuery")).json()
            await asyncio.to_thread(move_index, server, "144")  # the stop fires, sells 1 at 149
            await asyncio.to_thread(move_index, server, "130")  # the mark is <= 136.50: the stop-loss fires
            frames: list[dict[str, Any]] = []
            while not any(f["data"]["e"] == "orderExpired" for f in frames):
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return frames, stop, bracket, pending, account

    frames, stop, bracket, pending, account = asyncio.run(scenario())
    assert stop["status"] == "open" and stop["info"]["status"] == "TriggerPending"
    assert stop["info"]["triggerPrice"] == "145.00" and stop["info"]["triggerQuantity"] == "1.00"
    assert stop["info"]["triggerBy"] == "IndexPrice" and float(stop["triggerPrice"]) == 145
    assert bracket["status"] == "closed" and bracket["info"]["stopLossTriggerPrice"] == "140.00"
    assert bracket["info"]["takeProfitLimitPrice"] == "159.00"
    statuses = sorted((o["info"]["status"], o["info"]["triggerPrice"]) for o in pending)
    assert statuses == [("TriggerPending", "140.00"), ("TriggerPending", "145.00"), ("TriggerPending", "160.00")]
    assert account["triggerOrders"] == 3
    # the bracket's TP and SL name their parent; the standalone stop has none
    related = {o["info"]["triggerPrice"]: o["info"]["relatedOrderId"] for o in pending}
    assert related == {"140.00": bracket["id"], "160.00": bracket["id"], "145.00": None}
    by_order: dict[str, list[tuple[str, str]]] = {}
    for f in frames:
        d = f["data"]
        by_order.setdefault(d["i"], []).append((d["e"], d["X"]))
    assert by_order[stop["id"]] == [
        ("orderAccepted", "TriggerPending"),
        ("triggerPlaced", "New"),
        ("orderFill", "Filled"),
    ]
    sl = next(o["id"] for o in pending if o["info"]["triggerPrice"] == "140.00")
    tp = next(o["id"] for o in pending if o["info"]["triggerPrice"] == "160.00")
    # the stop-loss was for 2 but the position was 1: reduce-only cut it (the stream reports the
    # fill against the placed 2, as for any reduce-only order that is cut)
    assert [e for e, _ in by_order[sl]] == ["orderAccepted", "triggerPlaced", "orderFill"]
    assert by_order[sl][:2] == [("orderAccepted", "TriggerPending"), ("triggerPlaced", "New")]
    assert by_order[tp] == [("orderAccepted", "TriggerPending"), ("orderExpired", "Expired")]
    expired = next(f["data"] for f in frames if f["data"]["e"] == "orderExpired")
    assert expired["R"] == "StopWithoutPosition" and expired["P"] == "160.00" and expired["r"] is True
    accepted_stop = next(f["data"] for f in frames if f["data"]["i"] == stop["id"])
    assert accepted_stop["P"] == "145.00" and accepted_stop["B"] == "IndexPrice" and accepted_stop["Y"] == "1.00"
    # every trigger has its history row: the fired stop kept its id and filled, the TP expired
    rows = signer.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll", {"symbol": "SOL_USDC_PERP"})
    history = {r["id"]: r["status"] for r in rows.json()}
    assert (history[stop["id"]], history[sl], history[tp]) == ("Filled", "Filled", "Expired")
    assert ex.fetch_positions() == [] or all(float(p["contracts"]) == 0 for p in ex.fetch_positions())
    assert ex.fetch_open_orders(PERP) == []


def test_sdk_trigger_cancel_and_auto_borrow_spot_order(server: Server) -> None:
    wait_for_marks(server)
    quotes(server)
    lender = rest(server, sandbox_account(server, auto_lend=False, SOL="100"))
    lender.privatePostApiV1BorrowLend({"symbol": "SOL", "side": "Lend", "quantity": "50"})
    creds = sandbox_account(server, USDC="5000")
    client = AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")
    order = client.execute_order(
        "Limit",
        "Ask",
        "SOL_USDC_PERP",
        price="170",
        quantity="1",
        triggerPrice="165",
        triggerQuantity="1",
        triggerBy="MarkPrice",
    )
    assert order["status"] == "TriggerPending" and order["triggerBy"] == "MarkPrice" and order["price"] == "170.00"
    assert [o["id"] for o in client.get_open_orders(symbol="SOL_USDC_PERP")] == [order["id"]]
    assert client.get_account()["triggerOrders"] == 1
    cancelled = client.cancel_open_order("SOL_USDC_PERP", orderId=order["id"])
    assert cancelled["status"] == "Cancelled" and client.get_open_orders(symbol="SOL_USDC_PERP") == []
    # a trigger that never fired still has its history row
    signer = Signed(server.url, creds)
    history = signer.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll", {"orderId": order["id"]})
    [row] = history.json()
    assert (row["id"], row["status"], row["side"], row["symbol"]) == (order["id"], "Cancelled", "Ask", "SOL_USDC_PERP")
    # a trigger needs a quantity; TP/SL are for futures; no SOL and no autoBorrow: refused
    perp, spot = {"symbol": "SOL_USDC_PERP"}, {"symbol": "SOL_USDC", "quantity": "1"}
    for kwargs, code in (
        ({**perp, "orderType": "Market", "side": "Bid", "triggerPrice": "160"}, "INVALID_CLIENT_REQUEST"),
        ({**spot, "orderType": "Limit", "side": "Bid", "price": "150", "stopLossTriggerPrice": "140"}, "INVALID_ORDER"),
        ({**spot, "orderType": "Limit", "side": "Ask", "price": "200"}, "INSUFFICIENT_FUNDS"),
    ):
        with pytest.raises(BackpackAPIError) as err:
            client.execute_order(**kwargs)
        assert err.value.code == code, (kwargs, err.value)
    # spot margin: sell SOL it does not hold, borrowing it from the pool
    sold = client.execute_order("Limit", "Ask", "SOL_USDC", price="200", quantity="1", autoBorrow=True)
    assert sold["status"] == "New", sold
    [borrow] = [p for p in client.get_borrow_lend_positions() if p["symbol"] == "SOL"]
    assert borrow["netQuantity"] == "-1" or borrow["netQuantity"].startswith("-1"), borrow
