"""Public market data: assets, markets, tickers, depth, trades, klines, status, prices, collateral functions."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import bad_request
from rucksack.exchange.api.routes.common import (
    DAY_US,
    DEPTH_LIMITS,
    KLINE_SECONDS,
    TIME_S_MAX,
    created_at,
    int_param,
    wad,
)
from rucksack.exchange.api.routes.premarket import premarket_json
from rucksack.exchange.api.wire import format_atoms, space_seconds
from rucksack.exchange.core import queries
from rucksack.exchange.core.market_status import BOOK_STATE, DELISTED
from rucksack.exchange.service import ExchangeService


async def assets(service: ExchangeService, params: dict[str, str]) -> Any:
    from rucksack.exchange.custody.limits import asset_tokens

    out = [service.wire.asset_json(a) for a in service.spec.assets]
    custody = service.custody  # every chain that carries the asset; enabled where connected (--chain-rpc)
    connected, limits = (custody.rpcs, custody.limits) if custody is not None else ({}, None)
    for row, a in zip(out, service.spec.assets, strict=True):
        row["tokens"] = asset_tokens(a.symbol, a.decimals, connected, limits)
    return out


async def markets(service: ExchangeService, params: dict[str, str]) -> Any:
    made = created_at(service)
    return [
        _with_status(service, service.wire.market_json(mw, made))
        for mw in service.wire.markets.values()
        if queries.market_listed(service.engine, mw.symbol)  # a pre-market's spot waits for its listing
    ]


async def market(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    return _with_status(service, service.wire.market_json(mw, created_at(service)))


def _with_status(service: ExchangeService, body: dict[str, Any]) -> dict[str, Any]:
    """Backpack's ``orderBookState`` from the market's live status (core.market_status: a halt is
    ``CancelOnly``, a delisting ``Closed``); a delisted market is no longer ``visible``."""
    status, _, _ = queries.market_status(service.engine, body["symbol"])
    if body["orderBookState"] == "Open":
        body["orderBookState"] = BOOK_STATE[status]
    body["visible"] = status != DELISTED
    pre = premarket_json(service, service.wire.markets[body["symbol"]])
    if pre is not None:  # a pre-market perp (Rucksack extension; routes/premarket.py)
        body["preMarket"] = pre
    return body


async def ticker_json(service: ExchangeService, symbol: str, interval_us: int) -> dict[str, Any]:
    mw = service.wire.markets[symbol]
    stats = await service.store.ticker(symbol, service.clock() - interval_us)
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
    return await ticker_json(service, mw.symbol, ticker_interval(params))


async def tickers(service: ExchangeService, params: dict[str, str]) -> Any:
    interval = ticker_interval(params)
    listed = [symbol for symbol in service.wire.markets if queries.market_listed(service.engine, symbol)]
    return [await ticker_json(service, symbol, interval) for symbol in listed]


async def depth(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    limit = params.get("limit", "1000")
    if limit not in DEPTH_LIMITS:
        raise bad_request("limit must be one of 5, 10, 20, 50, 100, 500, 1000")
    n = int(limit)
    state = queries.market(service.engine, mw.symbol)
    bids = [[mw.price(lv.price), mw.qty(lv.lots)] for lv in state.bids.iter_levels()[:n]]
    asks = [[mw.price(lv.price), mw.qty(lv.lots)] for lv in state.asks.iter_levels()[:n]]
    bids.reverse()  # Backpack lists both sides in ascending price order
    return {
        "asks": asks,
        "bids": bids,
        "lastUpdateId": str(service.sequencer.seq),
        "timestamp": queries.last_ts_us(service.engine),
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
    rows = await service.store.trades(mw.symbol, limit=limit)
    return [_trade_json(service, r) for r in reversed(rows)]


async def trades_history(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    limit = int_param(params, "limit", 100, lo=1, hi=1000)
    offset = int_param(params, "offset", 0)
    rows = await service.store.trades(mw.symbol, limit=limit, offset=offset)
    return [_trade_json(service, r) for r in reversed(rows)]


async def klines(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    interval = params.get("interval")
    if interval not in KLINE_SECONDS:
        raise bad_request(f"failed to parse parameter `interval`: {str(interval)[:20]!r} is not a KlineInterval")
    price_type = params.get("priceType", "Last")
    if price_type not in ("Last", "Index", "Mark"):
        raise bad_request(f"failed to parse parameter `priceType`: {price_type[:20]!r} is not a KlinePriceType")
    if "startTime" not in params:
        raise bad_request("startTime is required (seconds)")
    start = int_param(params, "startTime", 0, hi=TIME_S_MAX)
    end = int_param(params, "endTime", service.clock() // 1_000_000, hi=TIME_S_MAX)
    step = KLINE_SECONDS[interval] * 1_000_000
    # candles whose start lies in [startTime, endTime]; the last one may still be open
    first_bucket = -(-start * 1_000_000 // step) * step
    last_bucket = end * 1_000_000 // step * step
    if price_type != "Last":  # the index or mark path: no volume, no trades
        candles = await service.store.price_klines(mw.symbol, price_type, step, first_bucket, last_bucket + step)
        return [
            {
                "start": space_seconds(r["period"]),
                "end": space_seconds(r["period"] + step),
                "open": mw.price(r["open"]),
                "high": mw.price(r["high"]),
                "low": mw.price(r["low"]),
                "close": mw.price(r["close"]),
                "volume": "0",
                "quoteVolume": "0",
                "trades": "0",
            }
            for r in candles
        ]
    rows = await service.store.klines(mw.symbol, step, first_bucket, last_bucket + step)
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
    if service.halted is not None:  # writes stopped after a failure (see ExchangeService)
        return {"status": "Maintenance", "message": "The exchange is halted; writes are refused until a restart"}
    if service.standby:  # a hot standby's warm gateways, or a gateway finding the new writer: reads only
        return {"status": "Maintenance", "message": "Trading is paused: this server is not linked to the writer"}
    return {"status": "Ok", "message": None}


async def wallets(service: ExchangeService, params: dict[str, str]) -> Any:
    return []  # exchange hot wallets are published with the chains adapters


async def mark_prices(service: ExchangeService, params: dict[str, str]) -> Any:
    """Perpetuals' index and mark prices with the estimated funding rate of the current hour."""
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    return funding_estimates(service, symbol)


def estimated_rate(service: ExchangeService, m: Any) -> int:
    """The rate (WAD) the next ``ApplyFunding`` would pay: the engine's formula over the premium
    samples of the interval so far (the interest term alone when there are none yet); 0 on a
    pre-market, which pays no funding."""
    from rucksack.exchange.core.perps.funding import funding_rate

    if m.spec.premarket is not None:  # no index, no funding (core.premarket)
        return 0
    risk = service.spec.risk
    count = m.premium_count
    total = m.premium_sum
    mean = (total // count if total >= 0 else -(-total // count)) if count else 0
    return funding_rate(
        mean, risk.funding_interest_wad, risk.funding_clamp_wad, risk.funding_divisor, m.spec.funding_bound_wad
    )


def next_funding_ms(service: ExchangeService) -> int:
    return (service.clock() // 3_600_000_000 + 1) * 3_600_000


def funding_estimates(service: ExchangeService, symbol: str | None) -> list[dict[str, Any]]:
    from rucksack.exchange.core.market_state import mark_price

    next_hour_ms = next_funding_ms(service)
    out = []
    for mw in service.wire.markets.values():
        if mw.spec.market_type != "PERP" or (symbol is not None and mw.symbol != symbol):
            continue
        state = queries.market(service.engine, mw.symbol)
        index, mark = state.index_price, mark_price(state)
        if not index:
            continue
        out.append(
            {
                "fundingRate": wad(estimated_rate(service, state)),
                "indexPrice": mw.price(index),
                "markPrice": mw.price(mark),
                "nextFundingTimestamp": next_hour_ms,
                "symbol": mw.symbol,
            }
        )
    return out


async def open_interest(service: ExchangeService, params: dict[str, str]) -> Any:
    """Open interest (the sum of long positions, in contracts) of every perp, or of ``symbol``."""
    symbol = params.get("symbol")
    if symbol is not None:
        mw = service.wire.market(symbol)
        if mw.spec.market_type != "PERP":
            raise bad_request("openInterest exists for perpetual markets only", "INVALID_MARKET")
    now_ms = service.clock() // 1000
    return [
        {
            "symbol": mw.symbol,
            "openInterest": mw.qty(queries.market(service.engine, mw.symbol).open_interest),
            "timestamp": now_ms,
        }
        for mw in service.wire.markets.values()
        if mw.spec.market_type == "PERP" and symbol in (None, mw.symbol)
    ]


async def funding_rates(service: ExchangeService, params: dict[str, str]) -> Any:
    """Paid funding rates of one perp, newest first (from ``FundingPaid`` in the read model)."""
    mw = service.wire.market(params.get("symbol"))
    limit = int_param(params, "limit", 100, lo=1, hi=10_000)
    offset = int_param(params, "offset", 0)
    rows = await service.store.funding_rates(mw.symbol, limit=limit, offset=offset)
    return [
        {
            "symbol": mw.symbol,
            "intervalEndTimestamp": hour_iso(r["hour"]),
            "fundingRate": wad(r["rate_wad"]),
        }
        for r in rows
    ]


def hour_iso(hour: int) -> str:
    """Naive ISO of a funding interval's end ("2025-07-22T00:00:00")."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(hour * 3600, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _haircut_json(h: Any) -> Any:
    if h is None:
        return {"weight": "0", "kind": {"type": "identity"}}
    kind: dict[str, Any] = {"type": h.kind}
    if h.kind == "inverseSqrt":
        kind.update(base=wad(h.base), positiveCurvePenalty=wad(h.penalty))
    return {"weight": wad(h.weight), "kind": kind}


async def collateral_functions(service: ExchangeService, params: dict[str, str]) -> Any:
    """Per-asset haircuts and the IMF/MMF functions of a borrow of the asset."""
    from rucksack.exchange.api.wire import function_json

    return [
        {
            "symbol": a.symbol,
            "imfFunction": function_json(a.borrow_imf),
            "mmfFunction": function_json(a.borrow_mmf),
            "haircutFunction": _haircut_json(a.collateral),
        }
        for a in service.spec.assets
    ]
