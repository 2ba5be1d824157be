"""Perpetuals and the margin engine through unmodified clients: ccxt, ccxt.pro, bpx-py, the SDK.

Funding is driven by the sandbox tick endpoint (the scheduler's ApplyFunding / SettlePnl, journaled
like any command); index prices come from the manual feed (SOL 150, ETH 3000, BTC 60000).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import httpx
import pytest
from backpack_exchange_sdk.authenticated import AuthenticationClient

from tests.api.conftest import Creds, Server, Signed, sandbox_account
from tests.api.test_ccxt_pro import pro

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BPX_PYTHON = ROOT / ".venv-bpx" / "bin" / "python"
PERP = "SOL/USDC:USDC"


def rest(server: Server, creds: Creds) -> ccxt.backpack:
    ex = ccxt.backpack(
        {
            "apiKey": creds.api_key,
            "secret": creds.secret,
            "urls": {"api": {"public": server.url, "private": server.url}},
        }
    )
    ex.load_markets()
    return ex


def tick(server: Server, kind: str) -> None:
    token = (server.data_dir / "admin.token").read_text().strip()
    answer = httpx.post(server.url + "/api/v1/sandbox/tick", json={"tick": kind}, headers={"X-Admin-Token": token})
    assert answer.status_code == 200, answer.text


def quotes(server: Server) -> Creds:
    """A maker quoting the SOL perp 149 / 151, 100 deep each side."""
    creds = sandbox_account(server, USDC="200000")
    maker = rest(server, creds)
    maker.create_order(PERP, "limit", "sell", 100, 151)
    maker.create_order(PERP, "limit", "buy", 100, 149)
    return creds


def test_ccxt_perp_orders_positions_and_funding(server: Server) -> None:
    maker_creds = quotes(server)
    ex = rest(server, sandbox_account(server, USDC="10000", SOL="5"))
    assert ex.markets[PERP]["active"] is True  # perps trade once an index price exists
    order = ex.create_order(PERP, "market", "buy", 3)
    assert order["status"] == "closed" and order["filled"] == 3 and order["reduceOnly"] is False
    with pytest.raises(ccxt.InvalidOrder):  # perps are sized in quantity
        ex.create_order(PERP, "market", "buy", None, None, {"cost": 100})
    with pytest.raises(ccxt.InvalidOrder):  # reduce-only is for futures
        ex.create_order("SOL/USDC", "market", "sell", 1, None, {"reduceOnly": True})
    [position] = ex.fetch_positions()
    assert position["symbol"] == PERP and position["side"] == "long" and float(position["contracts"]) == 3
    assert float(position["entryPrice"]) == 151 and float(position["markPrice"]) == 150
    assert float(position["unrealizedPnl"]) == -3  # 3 x (150 - 151)
    info = position["info"]
    assert info["netCost"] == "453" and info["netQuantity"] == "3.00" and info["imf"] == "0.05"
    assert info["breakEvenPrice"] == "151.0755"  # entry + the 0.05% taker fee per contract
    assert info["imfFunction"] == {"type": "sqrt", "base": "0.05", "factor": "0.0002236"}
    assert set(info) == {
        "breakEvenPrice", "cumulativeFundingPayment", "cumulativeInterest", "entryPrice", "estLiquidationPrice",
        "imf", "imfFunction", "markPrice", "mmf", "mmfFunction", "netCost", "netExposureNotional",
        "netExposureQuantity", "netQuantity", "pnlRealized", "pnlUnrealized", "positionId", "subaccountId",
        "symbol", "userId",
    }  # fmt: skip
    # a reduce-only order larger than the position is cut to it and cannot flip it
    closing = ex.create_order(PERP, "market", "sell", 10, None, {"reduceOnly": True})
    assert closing["filled"] == 3 and closing["reduceOnly"] is True
    assert ex.fetch_positions() == []
    # open again, then two funding intervals (the first tick only starts the clock)
    ex.create_order(PERP, "market", "buy", 2)
    rate = ex.fetch_funding_rate(PERP)
    assert rate["fundingRate"] == pytest.approx(0.0000125) and rate["nextFundingTimestamp"] % 3_600_000 == 0
    interest = ex.fetch_open_interest(PERP)
    assert interest["openInterestValue"] == 2  # contracts; ccxt files Backpack's figure under "value"
    tick(server, "funding")
    tick(server, "funding")
    history = ex.fetch_funding_rate_history(PERP)
    assert history and history[-1]["fundingRate"] == pytest.approx(0.0000125)
    payments = ex.fetch_funding_history(PERP)
    # each interval pays ceil(0.0000125 x 2 x 150) = 0.00375 USDC
    assert [p["amount"] for p in payments][-2:] == [-0.00375, -0.00375]
    [position] = ex.fetch_positions()
    assert position["info"]["cumulativeFundingPayment"] == "-0.0075"
    # the maker (short 100 - 3 + 3 + 2 = 2) received the same
    maker = rest(server, maker_creds)
    assert sum(p["amount"] for p in maker.fetch_funding_history(PERP)) == pytest.approx(0.0075)


def test_sdk_margin_summary_settings_and_limits(server: Server) -> None:
    quotes(server)
    creds = sandbox_account(server, USDC="1000")
    client = AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")
    assert client.get_account()["leverageLimit"] == "50"
    client.update_account(leverageLimit="10", autoLend=True, autoBorrowSettlements=False)
    account = client.get_account()
    assert account["leverageLimit"] == "10" and account["autoLend"] is True
    assert account["autoBorrowSettlements"] is False and account["autoRepayBorrows"] is True
    assert account["liquidating"] is False and account["positionLimit"] == "10000"
    with pytest.raises(Exception, match="leverageLimit"):
        client.update_account(leverageLimit="51")
    limit = client.get_max_order_quantity(symbol="SOL_USDC_PERP", side="Bid")
    lots = Decimal(limit["maxOrderQuantity"])
    assert 60 < lots < 67  # about 1000 / (0.1 x 150 + fee), at the mark
    client.execute_order("Market", "Bid", "SOL_USDC_PERP", quantity="20")
    summary = client.get_collateral()
    # exposure 20 x 150 = 3000 at IMF 0.1 (leverage limit 10), MMF 0.025
    assert summary["netExposureFutures"] == "3000" and summary["imf"] == "0.1" and summary["mmf"] == "0.025"
    assert summary["netEquityLocked"] == "300" and summary["pnlUnrealized"] == "-20"
    equity = Decimal(summary["netEquity"])
    assert equity == Decimal("1000") - 20 + Decimal(summary["unsettledEquity"])
    assert Decimal(summary["netEquityAvailable"]) == equity - 300
    assert float(summary["marginFraction"]) == pytest.approx(float(equity / 3000))
    [position] = client.get_open_positions()
    assert position["netQuantity"] == "20.00" and Decimal(position["estLiquidationPrice"]) > 100
    assert client.get_max_withdrawal_quantity(symbol="USDC")["maxWithdrawalQuantity"] != "1000"
    tick(server, "settlement")
    history = client.get_settlement_history()
    assert {h["source"] for h in history} == {"TradingFees", "RealizePnl"}  # a losing long: both paid
    assert all(Decimal(h["quantity"]) < 0 for h in history)
    [closed] = client.get_position_history(state="Open")
    assert closed["netQuantity"] == "20.00" and closed["fees"] != "0"


def test_bpx_margin_flow(server: Server) -> None:
    if not BPX_PYTHON.exists():
        pytest.fail(f"{BPX_PYTHON} is missing: `make test` creates it (bpx-py needs its own venv)")
    quotes(server)
    creds = sandbox_account(server, USDC="5000")
    out = subprocess.run(
        [str(BPX_PYTHON), str(ROOT / "tests/api/clients/bpx_margin_flow.py"), server.url, creds.api_key, creds.secret],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["account"]["leverageLimit"] == "7" and r["account"]["autoLend"] is True
    assert r["order"]["status"] == "Filled" and r["order"]["reduceOnly"] is False
    assert [p["symbol"] for p in r["positions"]] == ["SOL_USDC_PERP"] and r["positions"][0]["netCost"] == "151"
    assert r["collateral"]["netExposureFutures"] == "150"
    assert r["max_order"]["maxOrderQuantity"] == "1.00" and r["max_order"]["reduceOnly"] is True
    assert r["funding"] == [] and isinstance(r["settlements"], list)
    assert r["closed"]["executedQuantity"] == "1.00" and r["closed"]["reduceOnly"] is True


def test_public_perp_data(server: Server) -> None:
    market = httpx.get(server.url + "/api/v1/market?symbol=BTC_USDC_PERP").json()
    assert market["orderBookState"] == "Open" and market["fundingRateUpperBound"] == "100"
    assert market["fundingRateLowerBound"] == "-100" and market["openInterestLimit"] == "4000.00000"
    assert market["mmfFunction"] == {"type": "sqrt", "base": "0.00666667", "factor": "0.00001496"}
    spot = httpx.get(server.url + "/api/v1/market?symbol=BTC_USDC").json()
    assert spot["imfFunction"] is None and spot["fundingInterval"] is None
    everything = httpx.get(server.url + "/api/v1/openInterest").json()
    perps = {m["symbol"] for m in httpx.get(server.url + "/api/v1/markets").json() if m["marketType"] == "PERP"}
    assert len(perps) >= 15 and {o["symbol"] for o in everything} == perps
    assert httpx.get(server.url + "/api/v1/openInterest?symbol=SOL_USDC").status_code == 400
    assert httpx.get(server.url + "/api/v1/fundingRates").status_code == 400  # symbol is required
    functions = {f["symbol"]: f for f in httpx.get(server.url + "/api/v1/collateral").json()}
    assert functions["SOL"]["imfFunction"] == {"type": "sqrt", "base": "0.2", "factor": "0.0004"}


def test_ccxt_pro_watch_positions(server: Server) -> None:
    quotes(server)
    creds = sandbox_account(server, USDC="10000")

    async def scenario() -> None:
        me = pro(server, creds)
        try:
            await me.load_markets()
            watch = asyncio.create_task(me.watch_positions([PERP]))
            await asyncio.sleep(0.5)
            await me.create_order(PERP, "market", "buy", 2)
            positions = await asyncio.wait_for(watch, 10)
            assert positions[-1]["symbol"] == PERP and float(positions[-1]["contracts"]) == 2
            assert positions[-1]["side"] == "long" and float(positions[-1]["entryPrice"]) == pytest.approx(151.0755)
            assert positions[-1]["info"]["e"] == "positionOpened"
            watch = asyncio.create_task(me.watch_positions([PERP]))
            await asyncio.sleep(0.2)
            await me.create_order(PERP, "market", "sell", 2, None, {"reduceOnly": True})
            positions = await asyncio.wait_for(watch, 10)
            deadline = asyncio.get_running_loop().time() + 10
            while positions[-1]["info"]["e"] == "positionAdjusted":  # a mark update may come first
                assert asyncio.get_running_loop().time() < deadline
                try:
                    positions = await asyncio.wait_for(me.watch_positions([PERP]), 2)
                except TimeoutError:  # the close arrived before this watch began: it is in the cache
                    positions = list(me.positions)
            assert positions[-1]["info"]["e"] == "positionClosed" and positions[-1]["info"]["q"] == "0.00"
        finally:
            await me.close()

    asyncio.run(scenario())


def test_position_stream_snapshot_and_open_interest(server: Server) -> None:
    import websockets

    quotes(server)
    creds = sandbox_account(server, USDC="10000")
    signer = Signed(server.url, creds)
    signer.request("POST", "/api/v1/order", "orderExecute", {"symbol": "SOL_USDC_PERP", "side": "Bid",
                                                              "orderType": "Market", "quantity": "1"})  # fmt: skip

    async def scenario() -> dict[str, dict[str, Any]]:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            headers = signer.headers("subscribe", {})
            signature = [headers["X-API-Key"], headers["X-Signature"], headers["X-Timestamp"], headers["X-Window"]]
            await ws.send(
                json.dumps(
                    {
                        "method": "SUBSCRIBE",
                        "params": ["account.positionUpdate.SOL_USDC_PERP", "openInterest.SOL_USDC_PERP"],
                        "signature": signature,
                    }
                )
            )
            # the first frame of each stream: a mark update (positionAdjusted) may come between
            # the position snapshot and the first open-interest frame
            first: dict[str, dict[str, Any]] = {}
            while len(first) < 2:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                first.setdefault(frame["stream"], frame["data"])
            return first

    frames = asyncio.run(scenario())
    snapshot = frames["account.positionUpdate.SOL_USDC_PERP"]
    assert "e" not in snapshot and snapshot["q"] == "1.00" and snapshot["s"] == "SOL_USDC_PERP"
    assert set(snapshot) == {"E", "s", "i", "b", "B", "f", "m", "M", "q", "Q", "n", "p", "P", "l", "T"}
    interest = frames["openInterest.SOL_USDC_PERP"]
    assert interest["e"] == "openInterest" and Decimal(interest["o"]) >= 1


def test_position_limit_is_enforced(server: Server) -> None:
    """``positionLimit`` (net equity x leverage limit) caps the account's futures exposure: open
    orders count at the mark, and an order that would take it above the limit gets Backpack's
    POSITION_LIMIT."""
    from fractions import Fraction as F

    creds = sandbox_account(server, USDC="1000")
    signer = Signed(server.url, creds)
    assert signer.request("PATCH", "/api/v1/account", "accountUpdate", {"leverageLimit": "10"}).status_code == 200
    account = signer.request("GET", "/api/v1/account", "accountQuery").json()
    assert account["positionLimit"] == "10000"  # 1000 x 10
    [mark_row] = httpx.get(server.url + "/api/v1/markPrices", params={"symbol": "SOL_USDC_PERP"}).json()
    mark = F(mark_row["markPrice"])
    assert mark == 150  # the manual feed's SOL index; no basis without a two-sided book around it

    def bid(quantity: str) -> httpx.Response:
        order = {"symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Limit", "quantity": quantity, "price": "148"}
        return signer.request("POST", "/api/v1/order", "orderExecute", order)

    # 66 SOL resting: 66 x 150 = 9,900 of exposure <= 10,000 (and margin: 990 IM + 4.884 fee <= 1,000)
    assert 66 * mark <= 10_000
    first = bid("66")
    assert first.status_code == 200 and first.json()["status"] == "New", first.text
    # one more SOL: 67 x 150 = 10,050 > 10,000
    assert 67 * mark > 10_000
    refused = bid("1")
    assert refused.status_code == 400 and refused.json()["code"] == "POSITION_LIMIT", refused.text
    assert "positionLimit" in refused.json()["message"]
    summary = signer.request("GET", "/api/v1/capital/collateral", "collateralQuery").json()
    assert F(summary["netExposureFutures"]) == 66 * mark  # the refused order changed nothing


def test_a_resting_reduce_only_order_is_trimmed_with_order_modified(server: Server) -> None:
    """The position shrinks under a resting reduce-only order: Backpack cuts the order to the
    position and says so with ``orderModified`` (the open order and its history show the new
    quantity); when the position is gone, the order expires."""
    import websockets

    quotes(server)
    signer = Signed(server.url, sandbox_account(server, USDC="10000"))

    def order(**params: Any) -> dict[str, Any]:
        answer = signer.request("POST", "/api/v1/order", "orderExecute", {"symbol": "SOL_USDC_PERP", **params})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    order(side="Bid", orderType="Market", quantity="3")  # 3 SOL long
    resting = order(side="Ask", orderType="Limit", quantity="3", price="160", reduceOnly=True)

    async def scenario() -> list[dict[str, Any]]:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            headers = signer.headers("subscribe", {})
            signature = [headers["X-API-Key"], headers["X-Signature"], headers["X-Timestamp"], headers["X-Window"]]
            await ws.send(
                json.dumps({"method": "SUBSCRIBE", "params": ["account.orderUpdate"], "signature": signature})
            )
            await asyncio.sleep(0.3)
            await asyncio.to_thread(order, side="Ask", orderType="Market", quantity="1")  # 2 SOL left
            seen: list[dict[str, Any]] = []
            while not any(f["e"] == "orderModified" for f in seen):
                seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["data"])
            return seen

    [modified] = [f for f in asyncio.run(scenario()) if f["e"] == "orderModified"]
    assert modified["i"] == resting["id"] and modified["q"] == "2.00" and modified["X"] == "New"
    [open_order] = signer.request("GET", "/api/v1/orders", "orderQueryAll", {"symbol": "SOL_USDC_PERP"}).json()
    assert open_order["id"] == resting["id"] and open_order["quantity"] == "2.00"
    order(side="Ask", orderType="Market", quantity="2")  # flat: nothing left to reduce
    history = signer.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll", {"orderId": resting["id"]})
    [row] = history.json()
    assert (row["status"], row["quantity"], row["expiryReason"]) == ("Expired", "2.00", "ReduceOnlyNotReduced")


def test_a_cancelled_order_has_no_expiry_reason(server: Server) -> None:
    """Backpack's OrderExpiryReason has no "UserCancelled": a cancel leaves expiryReason null."""
    signer = Signed(server.url, sandbox_account(server, USDC="1000"))
    params = {"symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Limit", "quantity": "1", "price": "140"}
    placed = signer.request("POST", "/api/v1/order", "orderExecute", params).json()
    cancel = {"symbol": "SOL_USDC_PERP", "orderId": placed["id"]}
    assert signer.request("DELETE", "/api/v1/order", "orderCancel", cancel).status_code == 200
    history = signer.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll", {"orderId": placed["id"]})
    [row] = history.json()
    assert (row["status"], row["expiryReason"]) == ("Cancelled", None)


def test_a_reduce_only_order_without_a_position_is_an_invalid_order(server: Server) -> None:
    """Backpack's error codes have no REDUCE_ONLY_NOT_REDUCED: the refusal is INVALID_ORDER (ccxt: InvalidOrder)."""
    signer = Signed(server.url, sandbox_account(server, USDC="1000"))
    params = {"symbol": "SOL_USDC_PERP", "side": "Ask", "orderType": "Limit", "quantity": "1", "price": "160"}
    answer = signer.request("POST", "/api/v1/order", "orderExecute", {**params, "reduceOnly": True})
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID_ORDER", answer.text
