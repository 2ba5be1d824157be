"""A crash rehearsed through the sandbox: the price falls, the liquidation sweep closes a 15x long by
auto-deleveraging the opposing short; the liquidation and position streams and the history show it."""

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
