"""ccxt.pro (``ccxt.pro.backpack``), unmodified, over the WebSocket at /ws."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import ccxt.pro
import pytest

from tests.api.conftest import Creds, Server, sandbox_account, serve_gateways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", name="server")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This client suite runs against two gateway processes in front of the sequencer (issue 15)."""
    yield from serve_gateways(tmp_path_factory, 2)


def pro(server: Server, creds: Creds | None = None) -> Any:
    ws = server.url.replace("http://", "ws://") + "/ws"
    config: dict[str, Any] = {
        "urls": {"api": {"public": server.url, "private": server.url, "ws": {"public": ws, "private": ws}}},
        "options": {"watchOrderBook": {"snapshotDelay": 0}},
    }
    if creds is not None:
        config.update(apiKey=creds.api_key, secret=creds.secret)
    return ccxt.pro.backpack(config)


async def first_book(watcher: Any, maker: Any) -> Any:
    """The watcher's first book. ccxt resolves it on the first depth delta after its SUBSCRIBE is in
    (then it seeds from REST), and under load a fixed sleep may not cover the subscribe: poke the
    book (a bid far from the touch, placed and cancelled) until a delta reaches the watcher."""
    for _ in range(20):
        watch = asyncio.create_task(watcher.watch_order_book("ETH/USDC"))
        await asyncio.sleep(0.2)
        placed = await maker.create_order("ETH/USDC", "limit", "buy", 0.01, 2500)
        await maker.cancel_order(placed["id"], "ETH/USDC")
        try:
            return await asyncio.wait_for(watch, 3)
        except (TimeoutError, ccxt.ExchangeError):  # not subscribed yet, or a snapshot behind its delta
            continue
    raise AssertionError("no depth delta reached the watcher")


def test_public_streams(server: Server) -> None:
    maker_creds = sandbox_account(server, USDC="100000", ETH="10")
    taker_creds = sandbox_account(server, USDC="100000", SOL="1000")

    async def scenario() -> None:
        watcher, maker, taker = pro(server), pro(server, maker_creds), pro(server, taker_creds)
        try:
            await maker.load_markets()
            await taker.load_markets()
            await first_book(watcher, maker)
            book_task = asyncio.create_task(watcher.watch_order_book("ETH/USDC"))  # waiting before the delta
            await asyncio.sleep(0.2)
            await maker.create_order("ETH/USDC", "limit", "sell", 0.5, 3000)
            book = await asyncio.wait_for(book_task, 10)
            for _ in range(10):
                if book["asks"]:
                    break
                book = await asyncio.wait_for(watcher.watch_order_book("ETH/USDC"), 10)
            assert book["asks"][0] == [3000.0, 0.5]
            trades_task = asyncio.create_task(watcher.watch_trades("ETH/USDC"))
            ticker_task = asyncio.create_task(watcher.watch_ticker("ETH/USDC"))
            book_task = asyncio.create_task(watcher.watch_order_book("ETH/USDC"))
            await asyncio.sleep(0.5)
            await taker.create_order("ETH/USDC", "market", "buy", 0.2)
            trades = await asyncio.wait_for(trades_task, 10)
            assert trades[-1]["price"] == 3000 and trades[-1]["amount"] == 0.2 and trades[-1]["side"] == "buy"
            book = await asyncio.wait_for(book_task, 10)
            assert book["asks"][0] == [3000.0, 0.3]
            ticker = await asyncio.wait_for(ticker_task, 10)
            assert ticker["last"] == 3000 and ticker["symbol"] == "ETH/USDC" and ticker["baseVolume"] == 0.2
        finally:
            for ex in (watcher, maker, taker):
                await ex.close()

    asyncio.run(scenario())


def test_private_order_updates(server: Server) -> None:
    creds = sandbox_account(server, USDC="100000", SOL="1000")
    other = sandbox_account(server, USDC="100000", SOL="1000")

    async def scenario() -> None:
        me, them = pro(server, creds), pro(server, other)
        try:
            await me.load_markets()
            await them.load_markets()
            watch = asyncio.create_task(me.watch_orders("SOL/USDC"))
            await asyncio.sleep(0.5)
            placed = await me.create_order("SOL/USDC", "limit", "buy", 1, 120)
            updates = await asyncio.wait_for(watch, 10)
            assert updates[-1]["id"] == placed["id"] and updates[-1]["status"] == "open"
            # ccxt delivers only updates that arrive after a watch call, so watch first, then act
            watch = asyncio.create_task(me.watch_orders("SOL/USDC"))
            await asyncio.sleep(0.2)
            await them.create_order("SOL/USDC", "limit", "sell", 0.4, 120)  # fills part of my bid
            updates = await asyncio.wait_for(watch, 10)
            assert updates[-1]["id"] == placed["id"] and updates[-1]["price"] == 120
            assert updates[-1]["cost"] == 48 and updates[-1]["fee"]["currency"] == "SOL"
            watch = asyncio.create_task(me.watch_orders("SOL/USDC"))
            await asyncio.sleep(0.2)
            await me.cancel_order(placed["id"], "SOL/USDC")
            updates = await asyncio.wait_for(watch, 10)
            assert updates[-1]["status"] == "canceled"
            # the other account's orders never reach my stream
            assert all(u["id"] == placed["id"] for u in updates)
        finally:
            await me.close()
            await them.close()

    asyncio.run(scenario())
