"""Public market data: assets, markets, tickers, depth, trades, klines, status, prices, collateral functions."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import bad_request
from rucksack.exchange.api.routes.common import (
    DAY_US,
    DEPTH_LIMITS,
    KLINE_SECONDS,
    created_at,
    int_param,
    wad,
)
from rucksack.exchange.api.service import ExchangeService
from rucksack.exchange.api.wire import format_atoms, space_seconds


async def assets(service: ExchangeService, params: dict[str, str]) -> Any:
    return [service.wire.asset_json(a) for a in service.spec.assets]


async def markets(service: ExchangeService, params: dict[str, str]) -> Any:
    return [service.wire.market_json(mw, created_at(service)) for mw in service.wire.markets.values()]


async def market(service: ExchangeService, params: dict[str, str]) -> Any:
    return service.wire.market_json(service.wire.market(params.get("symbol")), created_at(service))


def ticker_json(service: ExchangeService, symbol: str, interval_us: int) -> dict[str, Any]:
    mw = service.wire.markets[symbol]
    stats = service.store.ticker(symbol, service.clock() - interval_us)
    last = stats["last"]
    first = stats["first"] if stats["first"] is not None else last
    lta = mw.spec.lot_tick_atoms
    change = (last - first) if last is not None and first is not None else 0
    pct = format_atoms(change * 1_000_000 // first, 6) if first else "0"
    return {
        "symbol": symbol,
        "firstPrice": mw.price(first) if first is not None else "0",
        "lastPrice": mw.price(last) if last is not None else "0",
        "priceChange": mw.price(change),
        "priceChangePercent": pct,
        "high": mw.price(stats["high"]) if stats["high"] is not None else "0",
        "low": mw.price(stats["low"]) if stats["low"] is not None else "0",
        "volume": mw.qty(stats["lots"]),
        "quoteVolume": mw.quote_amount(stats["lot_ticks"] * lta),
        "trades": str(stats["count"]),
    }


def ticker_interval(params: dict[str, str]) -> int:
    interval = params.get("interval", "1d")
    if interval not in ("1d", "1w"):
        raise bad_request("interval must be 1d or 1w")
    return DAY_US if interval == "1d" else 7 * DAY_US


async def ticker(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    return ticker_json(service, mw.symbol, ticker_interval(params))


async def tickers(service: ExchangeService, params: dict[str, str]) -> Any:
    interval = ticker_interval(params)
    return [ticker_json(service, symbol, interval) for symbol in service.wire.markets]


async def depth(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    limit = params.get("limit", "1000")
    if limit not in DEPTH_LIMITS:
        raise bad_request("limit must be one of 5, 10, 20, 50, 100, 500, 1000")
    n = int(limit)
    state = service.engine.market_by_symbol[mw.symbol]
    bids = [[mw.price(lv.price), mw.qty(lv.lots)] for lv in state.bids.iter_levels()[:n]]
    asks = [[mw.price(lv.price), mw.qty(lv.lots)] for lv in state.asks.iter_levels()[:n]]
    bids.reverse()  # Backpack lists both sides in ascending price order
    return {
        "asks": asks,
        "bids": bids,
        "lastUpdateId": str(service.sequencer.seq),
        "timestamp": service.engine.last_ts_us,
    }


def _trade_json(service: ExchangeService, row: dict[str, Any]) -> dict[str, Any]:
    mw = service.wire.markets[row["market"]]
    return {
        "id": row["id"],
        "price": mw.price(row["price"]),
        "quantity": mw.qty(row["lots"]),
        "quoteQuantity": mw.quote_amount(row["lots"] * row["price"] * mw.spec.lot_tick_atoms),
        "timestamp": row["ts_us"] // 1000,
        "isBuyerMaker": bool(row["buyer_is_maker"]),
    }


async def trades(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    limit = int_param(params, "limit", 100, lo=1, hi=1000)
    rows = service.store.trades(mw.symbol, limit=limit)
    return [_trade_json(service, r) for r in reversed(rows)]


async def trades_history(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    limit = int_param(params, "limit", 100, lo=1, hi=1000)
    offset = int_param(params, "offset", 0)
    rows = service.store.trades(mw.symbol, limit=limit, offset=offset)
    return [_trade_json(service, r) for r in reversed(rows)]


async def klines(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    interval = params.get("interval")
    if interval not in KLINE_SECONDS:
        raise bad_request(f"failed to parse parameter `interval`: {str(interval)[:20]!r} is not a KlineInterval")
    price_type = params.get("priceType", "Last")
    if price_type != "Last":
        raise bad_request("priceType Index and Mark arrive with perpetual markets")
    if "startTime" not in params:
        raise bad_request("startTime is required (seconds)")
    start = int_param(params, "startTime", 0)
    end = int_param(params, "endTime", service.clock() // 1_000_000)
    step = KLINE_SECONDS[interval] * 1_000_000
    # candles whose start lies in [startTime, endTime]; the last one may still be open
    first_bucket = -(-start * 1_000_000 // step) * step
    last_bucket = end * 1_000_000 // step * step
    rows = service.store.klines(mw.symbol, step, first_bucket, last_bucket + step)
    lta = mw.spec.lot_tick_atoms
    return [
        {
            "start": space_seconds(r["bucket"]),
            "end": space_seconds(r["bucket"] + step),
            "open": mw.price(r["open"]),
            "high": mw.price(r["high"]),
            "low": mw.price(r["low"]),
            "close": mw.price(r["close"]),
            "volume": mw.qty(r["lots"]),
            "quoteVolume": mw.quote_amount(r["lot_ticks"] * lta),
            "trades": str(r["n"]),
        }
        for r in rows
    ]


async def status(service: ExchangeService, params: dict[str, str]) -> Any:
    return {"status": "Ok", "message": None}


async def securities(service: ExchangeService, params: dict[str, str]) -> Any:
    return []  # no tokenized stocks on this venue


async def wallets(service: ExchangeService, params: dict[str, str]) -> Any:
    return []  # exchange hot wallets are published with the chains adapters


async def mark_prices(service: ExchangeService, params: dict[str, str]) -> Any:
    """Perpetuals' index and mark prices with the funding-rate estimate for the current hour.

    Until premium sampling runs (funding work of the margin issue) the estimate uses the current
    premium P = (mark - index) / index: F = clamp(P + clamp(0.0001 - P, +-0.0005), +-0.01) / 8.
    """
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    return funding_estimates(service, symbol)


def funding_estimates(service: ExchangeService, symbol: str | None) -> list[dict[str, Any]]:
    from rucksack.exchange.core.market_state import mark_price

    next_hour_ms = (service.clock() // 3_600_000_000 + 1) * 3_600_000
    out = []
    for mw in service.wire.markets.values():
        if mw.spec.market_type != "PERP" or (symbol is not None and mw.symbol != symbol):
            continue
        state = service.engine.market_by_symbol[mw.symbol]
        index, mark = state.index_price, mark_price(state)
        if not index:
            continue
        scale = 10**12  # premium and rates as integers of 10^-12
        premium = (mark - index) * scale // index
        interest = scale // 10_000
        adj = max(-5 * interest, min(5 * interest, interest - premium))
        rate = max(-100 * interest, min(100 * interest, premium + adj)) // 8
        out.append(
            {
                "fundingRate": format_atoms(rate, 12),
                "indexPrice": mw.price(index),
                "markPrice": mw.price(mark),
                "nextFundingTimestamp": next_hour_ms,
                "symbol": mw.symbol,
            }
        )
    return out


def _haircut_json(h: Any) -> Any:
    if h is None:
        return {"weight": "0", "kind": {"type": "identity"}}
    kind: dict[str, Any] = {"type": h.kind}
    if h.kind == "inverseSqrt":
        kind.update(base=wad(h.base), positiveCurvePenalty=wad(h.penalty))
    return {"weight": wad(h.weight), "kind": kind}


async def collateral_functions(service: ExchangeService, params: dict[str, str]) -> Any:
    """Per-asset haircuts (IMF/MMF functions for borrows arrive with borrowing)."""
    return [
        {"symbol": a.symbol, "imfFunction": None, "mmfFunction": None, "haircutFunction": _haircut_json(a.collateral)}
        for a in service.spec.assets
    ]
