"""WebSocket subscriptions as Backpack serves them: aggregated depth, and a SUBSCRIBE that mixes
valid and unknown streams (the valid ones are served, the unknown ones answered with 4006)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.api.conftest import Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("streams"), "--no-makers", "--feed", "manual")
    yield srv
    srv.stop()


def frames_for(ws: Any, seconds: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            break
    return out


def test_aggregated_depth_and_a_mixed_subscribe(quiet: Server) -> None:
    client = Signed(quiet.url, sandbox_account(quiet, USDC="1000"))
    with connect(quiet.url.replace("http", "ws") + "/ws") as ws:
        streams = ["depth.200ms.SOL_USDC", "no.such.stream", "depth.SOL_USDC", "depth.150ms.SOL_USDC"]
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 3}))
        assert json.loads(ws.recv(timeout=5)) == {"id": 3, "error": {"code": 4006, "message": "Invalid stream"}}
        for price in ("10", "11"):
            order = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "quantity": "1", "price": price}
            assert client.request("POST", "/api/v1/order", "orderExecute", order).status_code == 200
        frames = frames_for(ws, 1.5)
    realtime = [f["data"] for f in frames if f.get("stream") == "depth.SOL_USDC"]
    aggregated = [f["data"] for f in frames if f.get("stream") == "depth.200ms.SOL_USDC"]
    assert len(realtime) == 2 and all(d["U"] == d["u"] for d in realtime)  # one frame a change
    assert aggregated and all(d["e"] == "depth" and d["U"] <= d["u"] for d in aggregated)
    assert {p for d in aggregated for p, _ in d["b"]} == {"10.00", "11.00"}
    assert aggregated[0]["U"] == realtime[0]["U"] and aggregated[-1]["u"] == realtime[-1]["u"]  # nothing skipped
