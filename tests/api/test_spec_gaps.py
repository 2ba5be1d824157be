"""The spec pairs and streams the coverage test (test_spec_coverage.py) found missing, through the
real clients: prediction markets (none: empty lists), the pools' APY, and the stock quote streams
ccxt.pro subscribes for tokenized equities (``externalTicker``, ``stockIndicativeQuote``,
``stockPrice``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import ccxt
import ccxt.pro
import httpx
import pytest
from backpack_exchange_sdk.public import PublicClient
from websockets.sync.client import connect

from tests.api.conftest import Server, serve_gateways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", name="server")
def one_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Behind a gateway process, as `rucksack serve` runs by default: its hub sends the streams."""
    yield from serve_gateways(tmp_path_factory, 1)


NVDA = "NVDA.US.RFQ/USDC"


def rest(server: Server) -> Any:
    return ccxt.backpack({"urls": {"api": {"public": server.url, "private": server.url}}})


def pro(server: Server) -> Any:
    ws = server.url.replace("http://", "ws://") + "/ws"
    urls = {"public": server.url, "private": server.url, "ws": {"public": ws, "private": ws}}
    return ccxt.pro.backpack({"urls": {"api": urls}})


def test_prediction_markets_answer_empty_lists(server: Server) -> None:
    ex = rest(server)
    assert ex.publicGetApiV1Prediction() == []
    assert ex.publicGetApiV1Prediction({"symbol": "ELECTION_2028"}) == []
    assert ex.publicGetApiV1PredictionTags() == []
    sdk = PublicClient(base_url=server.url + "/")
    assert sdk.get_prediction_markets() == [] and sdk.get_prediction_markets("ANY") == []
    assert sdk.get_prediction_tags() == []


def test_borrow_lend_apy_is_each_pools_current_rates(server: Server) -> None:
    ex = rest(server)
    apy = ex.publicGetApiV1BorrowLendApy()
    markets = ex.publicGetApiV1BorrowLendMarkets()
    assert set(apy) == {m["symbol"] for m in markets} and "USDC" in apy
    for m in markets:
        rates = {"lendInterestRate": m["lendInterestRate"], "borrowInterestRate": m["borrowInterestRate"]}
        assert apy[m["symbol"]] == rates


def test_stock_quote_streams_through_ccxt_pro(server: Server) -> None:
    quote = httpx.get(server.url + "/api/v1/stockIndicativeQuote", params={"symbol": "NVDA.US", "side": "Bid"}).json()
    sell = httpx.get(server.url + "/api/v1/stockIndicativeQuote", params={"symbol": "NVDA.US", "side": "Ask"}).json()

    async def scenario() -> None:
        ex = pro(server)
        try:
            await ex.load_markets()
            ticker = await asyncio.wait_for(ex.watch_ticker(NVDA), 10)  # externalTicker.NVDA.US_USDC
            assert ticker["symbol"] == NVDA and ticker["info"]["e"] == "externalTicker"
            reference = ticker["last"]
            assert reference and ticker["open"] == ticker["high"] == ticker["low"] == reference
            # the indicative quote: what a buyer (ask) and a seller (bid) would be quoted, as over REST
            quotes = await asyncio.wait_for(ex.watch_bids_asks([NVDA]), 10)  # stockIndicativeQuote.NVDA
            assert quotes[NVDA]["info"]["e"] == "stockIndicativeQuote"
            assert quotes[NVDA]["ask"] == float(quote["price"]) and quotes[NVDA]["bid"] == float(sell["price"])
            assert quotes[NVDA]["bid"] < reference < quotes[NVDA]["ask"]
            assert quotes[NVDA]["info"]["available"] == quote["available"]
            price = await asyncio.wait_for(ex.watch_ticker(NVDA, {"channel": "stockPrice"}), 10)  # stockPrice.NVDA
            assert price["info"]["e"] == "stockPrice" and price["bid"] == price["ask"] == reference
        finally:
            await ex.close()

    asyncio.run(scenario())


def test_unknown_stock_streams_are_refused(server: Server) -> None:
    with connect(server.url.replace("http://", "ws://") + "/ws") as ws:
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["stockPrice.NOPE", "externalTicker.SOL_USDC"]}))
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == 4006
