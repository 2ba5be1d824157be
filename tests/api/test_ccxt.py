"""ccxt's ``backpack`` class, unmodified, against a running server."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from tests.api.conftest import Server, sandbox_account, serve_gateways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", name="server")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This client suite runs against two gateway processes in front of the sequencer (issue 15)."""
    yield from serve_gateways(tmp_path_factory, 2)


def client(server: Server, creds: object | None = None) -> ccxt.backpack:
    config: dict[str, object] = {"urls": {"api": {"public": server.url, "private": server.url}}}
    if creds is not None:
        config.update(apiKey=creds.api_key, secret=creds.secret)  # type: ignore[attr-defined]
    return ccxt.backpack(config)


@pytest.fixture(scope="module")
def traders(server: Server) -> Iterator[tuple[ccxt.backpack, ccxt.backpack]]:
    maker = client(server, sandbox_account(server, USDC="100000", SOL="1000"))
    taker = client(server, sandbox_account(server, USDC="100000", SOL="1000"))
    maker.load_markets()
    taker.load_markets()
    yield maker, taker


def test_load_markets_and_public_data(server: Server) -> None:
    ex = client(server)
    markets = ex.load_markets()
    assert {"SOL/USDC", "BTC/USDC", "ETH/USDC"} <= set(markets)
    sol = markets["SOL/USDC"]
    assert sol["precision"]["price"] == 0.01 and sol["precision"]["amount"] == 0.01 and sol["active"]
    assert markets["SOL/USDC:USDC"]["active"] is True  # perps trade (the manual feed gives them an index)
    assert ex.fetch_status()["status"] == "ok"
    book = ex.fetch_order_book("BTC/USDC")
    assert book["bids"] == [] and book["asks"] == [] and book["nonce"] is not None


def test_limit_order_lifecycle(traders: tuple[ccxt.backpack, ccxt.backpack]) -> None:
    maker, _ = traders
    order = maker.create_order("SOL/USDC", "limit", "buy", 1.5, 140, {"clientOrderId": 77})
    assert order["status"] == "open" and order["amount"] == 1.5 and order["price"] == 140
    assert order["clientOrderId"] == "77"
    assert [o["id"] for o in maker.fetch_open_orders("SOL/USDC")] == [order["id"]]
    assert maker.fetch_order(order["id"], "SOL/USDC")["status"] == "open"
    balance = maker.fetch_balance()
    assert balance["USDC"]["used"] == 210.0 and balance["USDC"]["free"] == 100000 - 210
    book = maker.fetch_order_book("SOL/USDC")
    assert book["bids"][0] == [140.0, 1.5]
    cancelled = maker.cancel_order(order["id"], "SOL/USDC")
    assert cancelled["status"] == "canceled"
    assert maker.fetch_open_orders("SOL/USDC") == []
    assert maker.fetch_order(order["id"], "SOL/USDC")["status"] == "canceled"


def test_trade_between_two_accounts_with_fees(traders: tuple[ccxt.backpack, ccxt.backpack]) -> None:
    maker, taker = traders
    sol0, usdc0 = taker.fetch_balance()["SOL"]["total"], taker.fetch_balance()["USDC"]["total"]
    ask = maker.create_order("SOL/USDC", "limit", "sell", 2, 150)
    bought = taker.create_order("SOL/USDC", "market", "buy", 1.25)
    assert bought["status"] == "closed" and bought["filled"] == 1.25 and bought["cost"] == 187.5
    fills = taker.fetch_my_trades("SOL/USDC")
    fill = next(f for f in fills if f["order"] == bought["id"])
    assert fill["takerOrMaker"] == "taker" and fill["fee"] == {"cost": 0.00125, "currency": "SOL"}  # 10 bp
    maker_fill = next(f for f in maker.fetch_my_trades("SOL/USDC") if f["order"] == ask["id"])
    assert maker_fill["takerOrMaker"] == "maker" and maker_fill["fee"]["cost"] == pytest.approx(0.15)  # 8 bp
    balance = taker.fetch_balance()
    assert balance["SOL"]["total"] == pytest.approx(sol0 + 1.25 - 0.00125)
    assert balance["USDC"]["total"] == pytest.approx(usdc0 - 187.5)
    assert maker.fetch_order(ask["id"], "SOL/USDC")["filled"] == 1.25
    trades = taker.fetch_trades("SOL/USDC")
    assert trades[-1]["price"] == 150 and trades[-1]["side"] == "buy"
    ticker = taker.fetch_ticker("SOL/USDC")
    assert ticker["last"] == 150 and ticker["baseVolume"] >= 1.25
    candles = taker.fetch_ohlcv("SOL/USDC", "1m")
    assert candles and candles[-1][4] == 150
    maker.cancel_all_orders("SOL/USDC")


def test_market_by_cost_post_only_ioc_and_batch(traders: tuple[ccxt.backpack, ccxt.backpack]) -> None:
    maker, taker = traders
    maker.create_order("SOL/USDC", "limit", "sell", 3, 151)
    by_cost = taker.create_order("SOL/USDC", "market", "buy", None, None, {"cost": 75.5})
    assert by_cost["filled"] == 0.5 and by_cost["cost"] == 75.5 and by_cost["status"] == "closed"
    with pytest.raises(ccxt.InvalidOrder):
        taker.create_order("SOL/USDC", "limit", "buy", 1, 151, {"postOnly": True})
    ioc = taker.create_order("SOL/USDC", "limit", "buy", 5, 151, {"timeInForce": "IOC"})
    assert ioc["filled"] == 2.5 and ioc["status"] == "canceled"
    batch = maker.create_orders(
        [
            {"symbol": "SOL/USDC", "type": "limit", "side": "buy", "amount": 1, "price": 130},
            {"symbol": "SOL/USDC", "type": "limit", "side": "buy", "amount": 1, "price": 131},
        ]
    )
    assert [o["status"] for o in batch] == ["open", "open"]
    cancelled = maker.cancel_all_orders("SOL/USDC")
    assert sorted(o["id"] for o in cancelled) == sorted(o["id"] for o in batch)


def test_errors_map_to_ccxt_exceptions(traders: tuple[ccxt.backpack, ccxt.backpack]) -> None:
    maker, _ = traders
    with pytest.raises(ccxt.InsufficientFunds):
        maker.create_order("SOL/USDC", "limit", "buy", 10_000, 150)
    with pytest.raises(ccxt.InvalidOrder):
        maker.create_order("SOL/USDC", "limit", "buy", 1, 1000)  # far outside the price band
    with pytest.raises(ccxt.ExchangeNotAvailable):  # ccxt's own mapping of Backpack's RESOURCE_NOT_FOUND
        maker.cancel_order("999999", "SOL/USDC")
    assert maker.fetch_orders("SOL/USDC")  # history is there
