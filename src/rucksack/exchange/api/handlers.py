"""Endpoint handlers. Each takes the service and parsed parameters and returns JSON-able data
or raises :class:`ApiError`. Private handlers also take the authenticated account id and can
only ever touch that account's data.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason, not_found
from rucksack.exchange.api.orders import (
    history_order_json,
    parse_client_id,
    parse_order_id,
    parse_place,
    placed_order_json,
    resting_order_json,
)
from rucksack.exchange.api.service import ExchangeService
from rucksack.exchange.api.wire import format_atoms, iso_ms, parse_amount, space_seconds
from rucksack.exchange.core.commands import (
    AddApiKey,
    CancelAllOrders,
    CancelOrder,
    CreateAccount,
    Deposit,
    PlaceOrders,
)
from rucksack.exchange.core.events import AccountCreated, ApiKeyRejected, CancelRejected, OrderClosed
from rucksack.exchange.core.markets import MAX_BATCH

DEPTH_LIMITS = ("5", "10", "20", "50", "100", "500", "1000")
KLINE_SECONDS = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
    "1month": 2592000,
}
DAY_US = 86_400_000_000


def _int_param(params: dict[str, Any], key: str, default: int, *, lo: int = 0, hi: int = 1 << 62) -> int:
    value = params.get(key)
    if value is None:
        return default
    text = str(value)
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 19:
        raise bad_request(f"{key} must be an integer")
    number = int(text)
    if not lo <= number <= hi:
        raise bad_request(f"{key} must be between {lo} and {hi}")
    return number


def _created_at(service: ExchangeService) -> str:
    return iso_ms(service.started_us)


# ---------------------------------------------------------------------------- public


async def assets(service: ExchangeService, params: dict[str, str]) -> Any:
    return [service.wire.asset_json(a) for a in service.spec.assets]


async def markets(service: ExchangeService, params: dict[str, str]) -> Any:
    return [service.wire.market_json(mw, _created_at(service)) for mw in service.wire.markets.values()]


async def market(service: ExchangeService, params: dict[str, str]) -> Any:
    return service.wire.market_json(service.wire.market(params.get("symbol")), _created_at(service))


def _ticker(service: ExchangeService, symbol: str, interval_us: int) -> dict[str, Any]:
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


def _ticker_interval(params: dict[str, str]) -> int:
    interval = params.get("interval", "1d")
    if interval not in ("1d", "1w"):
        raise bad_request("interval must be 1d or 1w")
    return DAY_US if interval == "1d" else 7 * DAY_US


async def ticker(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    return _ticker(service, mw.symbol, _ticker_interval(params))


async def tickers(service: ExchangeService, params: dict[str, str]) -> Any:
    interval = _ticker_interval(params)
    return [_ticker(service, symbol, interval) for symbol in service.wire.markets]


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
    limit = _int_param(params, "limit", 100, lo=1, hi=1000)
    rows = service.store.trades(mw.symbol, limit=limit)
    return [_trade_json(service, r) for r in reversed(rows)]


async def trades_history(service: ExchangeService, params: dict[str, str]) -> Any:
    mw = service.wire.market(params.get("symbol"))
    limit = _int_param(params, "limit", 100, lo=1, hi=1000)
    offset = _int_param(params, "offset", 0)
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
    start = _int_param(params, "startTime", 0)
    end = _int_param(params, "endTime", service.clock() // 1_000_000)
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


# ---------------------------------------------------------------------------- private


async def account(service: ExchangeService, account: int, params: Any) -> Any:
    acct = service.engine.ledger.accounts.get(account)
    tier = service.spec.fee_tiers[acct.tier if acct else 0]
    open_orders = sum(1 for o in service.engine.orders.values() if o.account == account)
    return {
        "autoBorrowSettlements": False,
        "autoLend": False,
        "autoRealizePnl": False,
        "autoRepayBorrows": False,
        "borrowLimit": "0",
        "futuresMakerFee": format_atoms(tier.futures_maker_ppm, 2),
        "futuresTakerFee": format_atoms(tier.futures_taker_ppm, 2),
        "leverageLimit": "1",
        "limitOrders": open_orders,
        "liquidating": False,
        "positionLimit": "0",
        "spotMakerFee": format_atoms(tier.spot_maker_ppm, 2),
        "spotTakerFee": format_atoms(tier.spot_taker_ppm, 2),
        "triggerOrders": 0,
    }


async def capital(service: ExchangeService, account: int, params: Any) -> Any:
    acct = service.engine.ledger.accounts.get(account)
    out: dict[str, Any] = {}
    if acct is None:
        return out
    for asset, bal in zip(service.spec.assets, acct.assets, strict=True):
        if bal.available or bal.locked:
            out[asset.symbol] = {
                "available": format_atoms(bal.available, asset.decimals),
                "locked": format_atoms(bal.locked, asset.decimals),
                "staked": "0",
            }
    return out


async def order_execute(service: ExchangeService, account: int, params: Any) -> Any:
    command = parse_place(service.wire, account, params)
    events = await service.submit(command)
    return placed_order_json(service.wire, events)[0]


async def orders_execute(service: ExchangeService, account: int, params: Any) -> Any:
    if not isinstance(params, list):
        raise bad_request("the batch body must be a JSON array of orders")
    if not params or len(params) > MAX_BATCH:
        raise bad_request(f"a batch holds 1 to {MAX_BATCH} orders")
    commands = [parse_place(service.wire, account, p) for p in params]  # all-or-nothing validation
    events = await service.submit(PlaceOrders(commands))
    results: list[Any] = []
    index = 0
    for _ in commands:
        try:
            order, index = placed_order_json(service.wire, events, index)
            results.append({"operation": "Ok", **order})
        except ApiError as err:
            results.append({"operation": "Err", "code": err.code, "message": err.message})
            index += 1
    return results


def _find_open(service: ExchangeService, account: int, params: Any) -> Any:
    mw = service.wire.market(params.get("symbol"))
    order_id = params.get("orderId")
    client_id = params.get("clientId")
    if (order_id is None) == (client_id is None):
        raise bad_request("specify exactly one of orderId or clientId")
    engine = service.engine
    if order_id is not None:
        order = engine.orders.get(parse_order_id(order_id))
    else:
        found = engine.client_orders.get((account << 32) | parse_client_id(client_id))
        order = engine.orders.get(found) if found is not None else None
    if order is None or order.account != account or engine.markets[order.market].symbol != mw.symbol:
        raise not_found("Order not found")
    return mw, order


async def order_query(service: ExchangeService, account: int, params: Any) -> Any:
    mw, order = _find_open(service, account, params)
    return resting_order_json(service.wire, mw.symbol, order)


async def order_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    mw, order = _find_open(service, account, params)
    snapshot = resting_order_json(service.wire, mw.symbol, order)
    events = await service.submit(CancelOrder(account, mw.symbol, order_id=order.id))
    for ev in events:
        if isinstance(ev, CancelRejected):
            raise from_reason(ev.reason)
        if isinstance(ev, OrderClosed):
            snapshot["status"] = ev.status
    return snapshot


async def orders_query(service: ExchangeService, account: int, params: Any) -> Any:
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    market_type = params.get("marketType")
    out = []
    for order in sorted(service.engine.orders.values(), key=lambda o: o.id):  # oldest first, stable across restarts
        if order.account != account:
            continue
        m = service.engine.markets[order.market]
        if (symbol is None or m.symbol == symbol) and market_type in (None, m.spec.market_type):
            out.append(resting_order_json(service.wire, m.symbol, order))
    return out


async def orders_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    if not isinstance(params, dict):
        raise bad_request("body must be a JSON object")
    mw = service.wire.market(params.get("symbol"))
    kind = params.get("orderType")
    if kind not in (None, "RestingLimitOrder", "ConditionalOrder"):
        raise bad_request("orderType must be RestingLimitOrder or ConditionalOrder")
    if kind == "ConditionalOrder":
        return []  # conditional orders arrive with the margin engine; there are none to cancel
    state = service.engine.market_by_symbol[mw.symbol]
    before = {
        o.id: resting_order_json(service.wire, mw.symbol, o)
        for side in (state.bids, state.asks)
        for o in side.orders()
        if o.account == account
    }
    events = await service.submit(CancelAllOrders(account, mw.symbol))
    out = []
    for ev in events:
        if isinstance(ev, OrderClosed) and ev.order_id in before:
            order = before[ev.order_id]
            order["status"] = ev.status
            out.append(order)
    return out


def _page(params: Any) -> tuple[int, int, bool]:
    limit = _int_param(params, "limit", 100, lo=1, hi=1000)
    offset = _int_param(params, "offset", 0)
    direction = params.get("sortDirection", "Desc")
    if direction not in ("Asc", "Desc"):
        raise bad_request("sortDirection must be Asc or Desc")
    return limit, offset, direction == "Asc"


async def order_history(service: ExchangeService, account: int, params: Any) -> Any:
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    order_id = parse_order_id(params["orderId"]) if params.get("orderId") is not None else None
    limit, offset, ascending = _page(params)
    rows = service.store.order_history(
        account, symbol=symbol, order_id=order_id, limit=limit, offset=offset, ascending=ascending
    )
    return [history_order_json(service.wire, r) for r in rows]


async def fill_history(service: ExchangeService, account: int, params: Any) -> Any:
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    fill_type = params.get("fillType")
    if fill_type not in (
        None,
        "User",
        "BookLiquidation",
        "Adl",
        "Backstop",
        "Liquidation",
        "AllLiquidation",
        "CollateralConversion",
        "CollateralConversionAndSpotLiquidation",
    ):
        raise bad_request("unknown fillType")
    if fill_type not in (None, "User"):
        return []  # liquidation fills arrive with the margin engine
    order_id = parse_order_id(params["orderId"]) if params.get("orderId") is not None else None
    limit, offset, ascending = _page(params)
    from_ms = _int_param(params, "from", -1)
    to_ms = _int_param(params, "to", -1)
    rows = service.store.fills(
        account,
        symbol=symbol,
        order_id=order_id,
        from_us=from_ms * 1000 if from_ms >= 0 else None,
        to_us=to_ms * 1000 if to_ms >= 0 else None,
        limit=limit,
        offset=offset,
        ascending=ascending,
    )
    out = []
    for r in rows:
        mw = service.wire.markets[r["market"]]
        fee_asset = service.wire.assets[r["fee_asset"]]
        out.append(
            {
                "clientId": str(r["client_id"]) if r["client_id"] >= 0 else None,
                "fee": format_atoms(r["fee"], fee_asset.decimals),
                "feeSymbol": r["fee_asset"],
                "isMaker": bool(r["is_maker"]),
                "orderId": str(r["order_id"]),
                "price": mw.price(r["price"]),
                "quantity": mw.qty(r["lots"]),
                "side": r["side"],
                "symbol": r["market"],
                "systemOrderType": None,
                "timestamp": iso_ms(r["ts_us"]),
                "tradeId": r["trade_id"],
            }
        )
    return out


async def deposits(service: ExchangeService, account: int, params: Any) -> Any:
    limit, offset, _ = _page(params)
    from_ms = _int_param(params, "from", -1)
    to_ms = _int_param(params, "to", _int_param(params, "endTime", -1))
    rows = service.store.capital(
        account,
        "deposit",
        from_us=from_ms * 1000 if from_ms >= 0 else None,
        to_us=to_ms * 1000 if to_ms >= 0 else None,
        limit=limit,
        offset=offset,
    )
    out = []
    for r in rows:
        asset = service.wire.assets[r["asset"]]
        sandbox = r["ref"].startswith("sandbox:")
        out.append(
            {
                "id": r["id"],
                "toAddress": None,
                "fromAddress": None,
                "source": "administrator" if sandbox else "internal",
                "status": "confirmed",
                "transactionHash": None if sandbox else r["ref"],
                "symbol": r["asset"],
                "quantity": format_atoms(r["amount"], asset.decimals),
                "createdAt": iso_ms(r["ts_us"]),
                "fiatAmount": None,
                "fiatCurrency": None,
                "institutionBic": None,
                "platformMemo": None,
            }
        )
    return out


async def withdrawals(service: ExchangeService, account: int, params: Any) -> Any:
    limit, offset, _ = _page(params)
    rows = service.store.capital(account, "withdrawal", limit=limit, offset=offset)
    out = []
    for r in rows:
        asset = service.wire.assets[r["asset"]]
        out.append(
            {
                "id": r["id"],
                "blockchain": None,
                "clientId": None,
                "identifier": r["ref"] or None,
                "quantity": format_atoms(r["amount"], asset.decimals),
                "fee": "0",
                "fiatFee": None,
                "fiatState": None,
                "fiatSymbol": None,
                "providerId": None,
                "symbol": r["asset"],
                "status": "confirmed",
                "subaccountId": None,
                "toAddress": None,
                "transactionHash": None,
                "createdAt": iso_ms(r["ts_us"]),
                "isInternal": True,
                "bankName": None,
                "bankIdentifier": None,
                "accountIdentifier": None,
                "triggerAt": None,
            }
        )
    return out


# ---------------------------------------------------------------------------- sandbox (admin)


async def sandbox_create_account(service: ExchangeService, body: Any) -> Any:
    """Create an account bound to the caller's public key and fund it with sandbox deposits."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    public_key = body.get("publicKey")
    if not isinstance(public_key, str):
        raise bad_request("publicKey (base64 ED25519 public key) is required")
    if public_key in service.engine.api_keys:
        raise bad_request("that public key is already registered")
    fund = body.get("fund", {})
    if not isinstance(fund, dict):
        raise bad_request("fund must be an object of asset -> decimal quantity")
    amounts = [
        (service.wire.asset(sym), parse_amount(qty, service.wire.asset(sym), f"fund.{sym}"))
        for sym, qty in fund.items()
    ]
    try:
        raw = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request("publicKey must be standard base64") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != public_key:
        raise bad_request("publicKey must be a 32-byte ED25519 public key in standard base64")
    events = await service.submit(CreateAccount(str(body.get("label", ""))[:64]))
    created = next(e for e in events if isinstance(e, AccountCreated))
    account = created.account
    events = await service.submit(AddApiKey(account, public_key))
    if isinstance(events[0], ApiKeyRejected):
        raise bad_request(f"publicKey rejected: {events[0].reason}")
    for asset, atoms in amounts:
        await service.submit(Deposit(account, asset.symbol, atoms, f"sandbox:{account}:{asset.symbol}"))
    return {"accountId": account, "apiKey": public_key}


async def sandbox_set_price(service: ExchangeService, body: Any) -> Any:
    """Move the reference price the demo makers quote around (``rucksack sandbox price``)."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    mw = service.wire.market(body.get("symbol"))
    ticks = mw.parse_price(body.get("price"))
    if service.feed is None or mw.symbol not in service.feed.prices:
        raise bad_request(f"no price feed drives {mw.symbol} on this server")
    service.feed.set(mw.symbol, ticks)
    from rucksack.exchange.core.commands import SetIndexPrice
    from rucksack.exchange.makers import index_targets

    for market, num, den in index_targets(service, service.feed).get(mw.symbol, []):
        await service.submit(SetIndexPrice(market, ticks * num // den))  # at once, not at the next feed step
    return {"symbol": mw.symbol, "price": mw.price(ticks)}


# ---------------------------------------------------------------------------- borrow / lend


def _wad(value: int) -> str:
    return format_atoms(value, 18)


def _apy(apr: int) -> int:
    """(1 + APR/8760)^8760 - 1 in WAD, by repeated squaring (rounded down at each step)."""
    from rucksack.exchange.core.lending.curve import HOURS_PER_YEAR, WAD

    base = WAD + apr // HOURS_PER_YEAR
    result, exponent = WAD, HOURS_PER_YEAR
    while exponent:
        if exponent & 1:
            result = result * base // WAD
        base = base * base // WAD
        exponent >>= 1
    return result - WAD


async def borrow_lend_markets(service: ExchangeService, params: dict[str, str]) -> Any:
    from rucksack.exchange.core.lending.curve import lend_apr

    out = []
    for asset, pool in zip(service.spec.assets, service.engine.pools, strict=True):
        if pool is None:
            continue
        u = pool.utilization()
        curve = pool.curve
        out.append(
            {
                "state": "Open",
                "assetMarkPrice": None,  # index prices arrive with the margin engine
                "borrowInterestRate": _wad(_apy(pool.borrow_apr())),
                "borrowedQuantity": format_atoms(pool.borrowed(), asset.decimals),
                "fee": _wad(curve.fee),
                "lendInterestRate": _wad(_apy(lend_apr(curve, u))),
                "lentQuantity": format_atoms(pool.lent(), asset.decimals),
                "maxUtilization": _wad(curve.max_utilization),
                "openBorrowLendLimit": None,
                "optimalUtilization": _wad(curve.optimal_utilization),
                "symbol": asset.symbol,
                "timestamp": iso_ms(service.engine.last_ts_us or service.clock()),
                "throttleUtilizationThreshold": None,
                "throttleUtilizationBound": None,
                "throttleUpdateFraction": None,
                "utilization": _wad(u),
                "stepSize": format_atoms(1, asset.decimals),
            }
        )
    return out


async def borrow_lend_execute(service: ExchangeService, account: int, params: Any) -> Any:
    from rucksack.exchange.core.commands import BorrowLend
    from rucksack.exchange.core.events import BorrowLendRejected

    if not isinstance(params, dict):
        raise bad_request("body must be a JSON object")
    asset = service.wire.asset(params.get("symbol"))
    side = params.get("side")
    if side not in ("Borrow", "Lend"):
        raise bad_request("side must be Borrow or Lend")
    amount = parse_amount(params.get("quantity"), asset)
    events = await service.submit(BorrowLend(account, asset.symbol, side, amount))
    if isinstance(events[0], BorrowLendRejected):
        raise from_reason(events[0].reason)
    return None  # Backpack answers 200 with an empty body


async def borrow_lend_positions(service: ExchangeService, account: int, params: Any) -> Any:
    acct = service.engine.ledger.accounts.get(account)
    out: list[dict[str, Any]] = []
    if acct is None:
        return out
    for asset, pool, bal in zip(service.spec.assets, service.engine.pools, acct.assets, strict=True):
        if pool is None or not (bal.lend_shares or bal.borrow_shares):
            continue
        lent = pool.claim(bal.lend_shares)
        net = lent - pool.debt(bal.borrow_shares)
        out.append(
            {
                "cumulativeInterest": format_atoms(max(0, lent - bal.lent_principal), asset.decimals),
                "id": asset.symbol,
                "imf": "0",
                "imfFunction": None,
                "markPrice": None,
                "mmf": "0",
                "mmfFunction": None,
                "netExposureNotional": "0",
                "netExposureQuantity": "0",  # lends carry no exposure
                "netQuantity": format_atoms(net, asset.decimals),
                "symbol": asset.symbol,
            }
        )
    return out


# ---------------------------------------------------------------------------- prices


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
    from rucksack.exchange.core.engine import mark_price

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


# ---------------------------------------------------------------------------- collateral


def _haircut_json(h: Any) -> Any:
    if h is None:
        return {"weight": "0", "kind": {"type": "identity"}}
    kind: dict[str, Any] = {"type": h.kind}
    if h.kind == "inverseSqrt":
        kind.update(base=_wad(h.base), positiveCurvePenalty=_wad(h.penalty))
    return {"weight": _wad(h.weight), "kind": kind}


async def collateral_functions(service: ExchangeService, params: dict[str, str]) -> Any:
    """Per-asset haircuts (IMF/MMF functions for borrows arrive with borrowing)."""
    return [
        {"symbol": a.symbol, "imfFunction": None, "mmfFunction": None, "haircutFunction": _haircut_json(a.collateral)}
        for a in service.spec.assets
    ]


async def capital_collateral(service: ExchangeService, account: int, params: Any) -> Any:
    from rucksack.exchange.core.risk.collateral import account_risk

    if params.get("subaccountId") not in (None, "0"):
        raise ApiError(404, "RESOURCE_NOT_FOUND", "Subaccount not found")
    risk = account_risk(service.engine, account)
    settle = service.wire.assets[service.spec.settlement_asset]
    money = lambda atoms: format_atoms(atoms, settle.decimals)  # noqa: E731
    rows = []
    for r in risk.assets:
        asset = service.wire.assets[r.symbol]
        if r.price_market is None:
            mark: str | None = "1"
        elif r.price_ticks:
            mark = service.wire.markets[r.price_market].price(r.price_ticks)
        else:
            mark = None
        rows.append(
            {
                "symbol": r.symbol,
                "assetMarkPrice": mark,
                "totalQuantity": format_atoms(r.total, asset.decimals),
                "balanceNotional": money(r.notional),
                "collateralWeight": _wad(r.weight),
                "collateralValue": money(r.collateral_value),
                "openOrderQuantity": format_atoms(r.locked, asset.decimals),
                "lendQuantity": format_atoms(r.lent, asset.decimals),
                "availableQuantity": format_atoms(r.available, asset.decimals),
            }
        )
    return {
        "assetsValue": money(risk.assets_value),
        "borrowLiability": money(risk.liabilities_value),
        "liabilitiesValue": money(risk.liabilities_value),
        "imf": "0",
        "mmf": "0",
        "marginFraction": None,
        "netEquity": money(risk.net_equity),
        "netEquityAvailable": money(risk.net_equity),
        "netEquityLocked": "0",
        "netExposureFutures": "0",
        "pnlUnrealized": "0",
        "unsettledEquity": "0",
        "collateral": rows,
    }
