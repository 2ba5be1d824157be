"""A crash rehearsed through the sandbox: the price falls, the liquidation sweep closes a 15x long by
auto-deleveraging the opposing short; the liquidation and position streams and the history show it.
A bankrupt account's loss never becomes a borrow from the USDC lenders."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import Server, Signed, sandbox_account

pytestmark = pytest.mark.slow


def admin(server: Server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = (server.data_dir / "admin.token").read_text().strip()
    answer = httpx.post(server.url + path, json=body, headers={"X-Admin-Token": token})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_crash_liquidates_through_adl(server: Server) -> None:
    import websockets

    maker = Signed(server.url, sandbox_account(server, USDC="200000"))
    victim_creds = sandbox_account(server, USDC="100")
    victim = Signed(server.url, victim_creds)
    order = {"symbol": "SOL_USDC_PERP", "orderType": "Limit", "price": "150", "quantity": "10", "side": "Ask"}
    assert maker.request("POST", "/api/v1/order", "orderExecute", order).status_code == 200
    bought = victim.request(
        "POST", "/api/v1/order", "orderExecute", {"symbol": "SOL_USDC_PERP", "orderType": "Market",
                                                  "quantity": "10", "side": "Bid"}
    )  # fmt: skip
    assert bought.json()["status"] == "Filled"
    [position] = victim.request("GET", "/api/v1/position", "positionQuery").json()
    assert 130 < float(position["estLiquidationPrice"]) < 150

    async def scenario() -> list[dict[str, Any]]:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            headers = victim.headers("subscribe", {})
            signature = [headers["X-API-Key"], headers["X-Signature"], headers["X-Timestamp"], headers["X-Window"]]
            await ws.send(
                json.dumps(
                    {"method": "SUBSCRIBE", "params": ["liquidation", "account.positionUpdate"], "signature": signature}
                )
            )
            frames: list[dict[str, Any]] = [json.loads(await asyncio.wait_for(ws.recv(), 10))]  # the snapshot
            await asyncio.to_thread(admin, server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "130"})
            await asyncio.to_thread(admin, server, "/api/v1/sandbox/tick", {"tick": "liquidation"})
            # until the liquidation and the close have both arrived: mark-price updates
            # (positionAdjusted) may come first, and how many depends on the scheduler's timing
            while not (
                any(f["stream"] == "liquidation" for f in frames)
                and any(f["data"].get("e") == "positionClosed" for f in frames)
            ):
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return frames

    snapshot, *rest = asyncio.run(scenario())
    assert snapshot["stream"] == "account.positionUpdate" and "e" not in snapshot["data"]
    frames = {f["stream"]: f["data"] for f in rest}  # the last frame of each stream
    liquidation = frames["liquidation"]
    assert liquidation["e"] == "liquidation" and liquidation["s"] == "SOL_USDC_PERP"
    assert liquidation["q"] == "10.00" and liquidation["S"] == "Ask"
    closed = frames["account.positionUpdate"]
    assert closed["e"] == "positionClosed" and closed["q"] == "0.00"
    assert victim.request("GET", "/api/v1/position", "positionQuery").json() == []
    assert maker.request("GET", "/api/v1/position", "positionQuery").json() == []  # deleveraged too
    [history] = victim.request("GET", "/wapi/v1/history/position", "positionHistoryQueryAll").json()
    assert history["state"] == "Closed" and history["liquidated"] is True and history["closedVolume"] == "10.00"
    assert victim.request("GET", "/api/v1/account", "accountQuery").json()["liquidating"] is False


def test_a_bankrupt_account_is_closed_out_at_zero_without_borrowing_from_lenders(server: Server) -> None:
    """Issue 13, finding 2, through a running server: 1,000 USDC, 100 SOL long at 150, SOL gaps to
    105 (a deficit of 3,507.50). The backstop takes the position; the loss goes to the liquidity
    fund and the opposing short, not to the USDC pool, and the account leaves liquidation at zero."""
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    lender = Signed(server.url, sandbox_account(server, auto_lend=False, USDC="100000"))
    lend = {"symbol": "USDC", "side": "Lend", "quantity": "50000"}
    assert lender.request("POST", "/api/v1/borrowLend", "borrowLendExecute", lend).status_code == 200
    provider = sandbox_account(server, USDC="100000")
    admin(server, "/api/v1/sandbox/backstop", {"accountId": provider.account, "enabled": True})
    maker = Signed(server.url, sandbox_account(server, USDC="200000"))
    victim = Signed(server.url, sandbox_account(server, USDC="1000"))
    order = {"symbol": "SOL_USDC_PERP", "orderType": "Limit", "price": "150", "quantity": "100", "side": "Ask"}
    assert maker.request("POST", "/api/v1/order", "orderExecute", order).status_code == 200
    buy = {"symbol": "SOL_USDC_PERP", "orderType": "Market", "quantity": "100", "side": "Bid"}
    assert victim.request("POST", "/api/v1/order", "orderExecute", buy).json()["status"] == "Filled"

    def borrowed() -> str:
        markets = {m["symbol"]: m for m in httpx.get(server.url + "/api/v1/borrowLend/markets").json()}
        return str(markets["USDC"]["borrowedQuantity"])

    before = borrowed()
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "105"})
    for tick in ("settlement", "liquidation", "settlement", "liquidation", "settlement"):
        admin(server, "/api/v1/sandbox/tick", {"tick": tick})
    assert borrowed() == before
    account = victim.request("GET", "/api/v1/account", "accountQuery").json()
    assert account["liquidating"] is False
    assert victim.request("GET", "/api/v1/position", "positionQuery").json() == []
    collateral = victim.request("GET", "/api/v1/capital/collateral", "collateralQuery").json()
    assert collateral["netEquity"] == "0" and collateral["borrowLiability"] == "0"
    assert collateral["pnlUnrealized"] == "0"
    [history] = victim.request("GET", "/wapi/v1/history/position", "positionHistoryQueryAll").json()
    assert history["state"] == "Closed" and history["liquidated"] is True
    [lent] = lender.request("GET", "/api/v1/borrowLend/positions", "borrowLendPositionQuery").json()
    assert float(lent["netQuantity"]) >= 50_000  # the lender's claim, untouched
