"""Index and mark prices through the API: the feed journals them; sandbox price moves them."""

from __future__ import annotations

import time

import ccxt
import httpx
import pytest

from tests.api.conftest import Server

pytestmark = pytest.mark.slow


def test_mark_prices_and_sandbox_price(server: Server) -> None:
    ex = ccxt.backpack({"urls": {"api": {"public": server.url, "private": server.url}}})
    ex.load_markets()
    deadline = time.monotonic() + 10
    while not httpx.get(server.url + "/api/v1/markPrices").json() and time.monotonic() < deadline:
        time.sleep(0.2)  # the feed publishes its first index prices within a second of start
    rate = ex.fetch_funding_rate("SOL/USDC:USDC")
    assert rate["indexPrice"] == 150 and rate["markPrice"] == 150
    assert rate["fundingRate"] == pytest.approx(0.0000125)  # 0.01% per 8 h, paid hourly, at zero premium
    token = (server.data_dir / "admin.token").read_text().strip()
    answer = httpx.post(
        server.url + "/api/v1/sandbox/price",
        json={"symbol": "SOL_USDC", "price": "142.5"},
        headers={"X-Admin-Token": token},
    )
    assert answer.status_code == 200, answer.text
    marks = httpx.get(server.url + "/api/v1/markPrices?symbol=SOL_USDC_PERP").json()
    assert marks[0]["indexPrice"] == "142.50" and marks[0]["symbol"] == "SOL_USDC_PERP"
    assert httpx.get(server.url + "/api/v1/markPrices?symbol=NOPE").status_code == 400


def test_mark_price_stream(server: Server) -> None:
    import asyncio
    import json

    import websockets

    async def scenario() -> list[dict[str, object]]:
        async with websockets.connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            await ws.send(
                json.dumps(
                    {
                        "method": "SUBSCRIBE",
                        "params": ["markPrice.ETH_USDC_PERP", "openInterest.ETH_USDC_PERP", "liquidation"],
                    }
                )
            )
            await asyncio.sleep(0.3)
            token = (server.data_dir / "admin.token").read_text().strip()
            await asyncio.to_thread(
                httpx.post,
                server.url + "/api/v1/sandbox/price",
                json={"symbol": "ETH_USDC", "price": "2900"},
                headers={"X-Admin-Token": token},
            )
            frames = []
            while not frames or frames[-1].get("stream") != "markPrice.ETH_USDC_PERP":
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))  # openInterest may come first
            return frames[-1:]

    frame = asyncio.run(scenario())[0]
    data = frame["data"]
    assert frame["stream"] == "markPrice.ETH_USDC_PERP" and data["e"] == "markPrice"  # type: ignore[index]
    assert data["i"] == "2900.00" and data["p"] == "2900.00" and "f" in data and "n" in data  # type: ignore[index,operator]


def test_after_an_index_gap_the_makers_bring_the_mark_back_to_the_index(server: Server) -> None:
    """End to end with the demo makers running: after a 30% gap the mark follows the index within
    seconds (the makers quote perps around the index: tests/unit/exchange/test_makers.py)."""

    def btc() -> tuple[float, float]:
        [row] = httpx.get(server.url + "/api/v1/markPrices?symbol=BTC_USDC_PERP").json()
        return float(row["indexPrice"]), float(row["markPrice"])

    deadline = time.monotonic() + 10
    while not btc()[0] and time.monotonic() < deadline:
        time.sleep(0.2)
    token = (server.data_dir / "admin.token").read_text().strip()
    gapped = round(btc()[0] * 0.7)
    answer = httpx.post(
        server.url + "/api/v1/sandbox/price",
        json={"symbol": "BTC_USDC", "price": str(gapped)},
        headers={"X-Admin-Token": token},
    )
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 30
    while True:
        index, mark = btc()
        if index == gapped and abs(mark / index - 1) < 0.005:
            break
        assert time.monotonic() < deadline, f"the mark stayed at {mark} against index {index}"
        time.sleep(0.5)


def test_mark_and_index_klines_through_ccxt(server: Server) -> None:
    """ccxt's fetch_mark_ohlcv / fetch_index_ohlcv ask klines with priceType Mark / Index: the
    candles are the journaled index and mark prices (no volume), the last close the current price."""
    token = (server.data_dir / "admin.token").read_text().strip()
    for price in ("61000", "60500", "61200"):
        answer = httpx.post(
            server.url + "/api/v1/sandbox/price",
            json={"symbol": "BTC_USDC", "price": price},
            headers={"X-Admin-Token": token},
        )
        assert answer.status_code == 200, answer.text
    ex = ccxt.backpack({"urls": {"api": {"public": server.url, "private": server.url}}})
    since = int(time.time() // 3600 * 3_600_000)  # the current hour's candle starts at or after it
    marks = ex.fetch_mark_ohlcv("BTC/USDC:USDC", "1m", since)
    index = ex.fetch_index_ohlcv("BTC/USDC:USDC", "1h", since)
    [row] = httpx.get(server.url + "/api/v1/markPrices?symbol=BTC_USDC_PERP").json()
    assert marks and index
    assert index[-1][4] == float(row["indexPrice"]) == 61200
    assert abs(marks[-1][4] / float(row["markPrice"]) - 1) < 0.01  # the makers' book moves the mark a little
    assert index[-1][2] >= 61200 and index[-1][3] <= 60500 and index[-1][5] == 0  # high, low, no volume
    bad = httpx.get(server.url + "/api/v1/klines?symbol=BTC_USDC_PERP&interval=1m&startTime=0&priceType=Nope")
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CLIENT_REQUEST"
