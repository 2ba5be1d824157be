"""Scheduled (TWAP) strategies: create, query, cancel, cancel all, open strategies and history
(backpack-api.md §2.3; the core's ``core.strategies``).

Every create or cancel is one journaled command; a refusal is a Backpack error and changes
nothing. The create command carries the seed of the randomized slice sizes (drawn here, once),
so replaying the journal sends the same slices. The slices are sent by the scheduler's
``CrankStrategies`` (every second; ``POST /api/v1/sandbox/tick {"tick": "strategies"}`` in the
sandbox). Reads come from the engine (``queries.strategy_book``).

Where Backpack's docs are silent (docs/api.md): ``duration`` and ``interval`` are milliseconds
(defaults 600000 and 60000; at most 10000 slices); ``quantity`` is required; each slice is an
IOC order (``timeInForce`` IOC, the default, or FOK; GTC and ``postOnly`` are refused); a
``Percent`` slippage tolerance is a percentage (``"0.5"`` = 0.5%, four decimals at most), a
``TickSize`` one a whole number of ticks; GET ``/api/v1/strategy`` and ``/api/v1/strategies``
show running strategies only (ended ones are in the history).
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason, not_found
from rucksack.exchange.api.orders import STPS
from rucksack.exchange.api.routes.common import bool_param, page_params, uint_param
from rucksack.exchange.api.routes.subaccounts import target_account
from rucksack.exchange.api.wire import MarketWire
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import Command
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.numeric import PPM
from rucksack.exchange.core.strategies.book import Strategy
from rucksack.exchange.core.strategies.commands import CancelStrategies, CancelStrategy, CreateStrategy
from rucksack.exchange.core.strategies.events import StrategyRejected, StrategyUpdated
from rucksack.exchange.service import ExchangeService

MS = 1000
DEFAULT_DURATION_MS = 600_000
DEFAULT_INTERVAL_MS = 60_000
MARKET_TYPES = ("SPOT", "PERP", "IPERP", "DATED", "PREDICTION", "RFQ")
STRATEGY_REASONS: dict[str, tuple[int, str, str]] = {
    "StrategyNotFound": (404, "RESOURCE_NOT_FOUND", "Strategy not found (or no longer running)"),
    "DuplicateClientId": (400, "INVALID_ORDER", "A running strategy on this market already uses this clientStrategyId"),
    "InvalidOrder": (
        400,
        "INVALID_ORDER",
        "Invalid strategy: interval must be positive and at most duration (at most 10000 slices), "
        "timeInForce IOC or FOK, reduceOnly only on perps",
    ),
}


def strategy_error(reason: str) -> ApiError:
    return from_reason(reason, STRATEGY_REASONS)


def parse_strategy_id(value: Any) -> int:
    """A strategy id as Backpack sends it (a numeric string; a JSON number is accepted too)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        raise bad_request("strategyId must be a numeric string")
    if len(text) > 18:
        raise not_found("Strategy not found")
    return int(text)


def _market(service: ExchangeService, symbol: Any) -> MarketWire:
    mw = service.wire.market(symbol)
    if mw.spec.market_type not in ("SPOT", "PERP"):
        raise ApiError(400, "INVALID_MARKET", "Strategies trade on spot and perp order books only")
    return mw


def _slippage(mw: MarketWire, params: dict[str, Any]) -> tuple[int, str]:
    """(tolerance, type) in the core's units: ticks for TickSize, parts per million for Percent."""
    value, kind = params.get("slippageTolerance"), params.get("slippageToleranceType")
    if value is None:
        if kind is not None and kind not in ("TickSize", "Percent"):
            raise bad_request("slippageToleranceType must be TickSize or Percent")
        return 0, ""
    if kind not in ("TickSize", "Percent"):
        raise bad_request("slippageToleranceType (TickSize or Percent) is required with slippageTolerance")
    try:
        number = Decimal(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0:
        raise bad_request("slippageTolerance must be a non-negative decimal string")
    scaled = number * (PPM // 100) if kind == "Percent" else number
    if scaled != int(scaled) or scaled > (PPM if kind == "Percent" else mw.spec.max_price_ticks):
        what = "a percentage with at most 4 decimals, at most 100" if kind == "Percent" else "a whole number of ticks"
        raise bad_request(f"slippageTolerance must be {what}")
    return int(scaled), kind


def strategy_json(service: ExchangeService, s: Strategy) -> dict[str, Any]:
    """Backpack's ``Strategy``."""
    mw = service.wire.markets[s.market]
    return {
        "id": str(s.id),
        "createdAt": s.created_us // MS,
        "executedQuantity": mw.qty(s.executed_lots),
        "executedQuoteQuantity": mw.quote_amount(s.executed_quote),
        "cancelReason": s.cancel_reason or None,
        "strategyType": "Scheduled",
        "quantity": mw.qty(s.lots),
        "selfTradePrevention": s.stp,
        "status": s.status,
        "side": s.side,
        "symbol": s.market,
        "timeInForce": s.tif,
        "clientStrategyId": s.client_id if s.client_id >= 0 else None,
        "duration": s.duration_us // MS,
        "interval": s.interval_us // MS,
        "randomizedIntervalQuantity": s.randomized,
        "slippageTolerance": _tolerance(mw, s),
        "slippageToleranceType": s.slippage_type or None,
    }


def _tolerance(mw: MarketWire, s: Strategy) -> str | None:
    if not s.slippage_type:
        return None
    if s.slippage_type == "TickSize":
        return str(s.slippage)
    return format(Decimal(s.slippage) / (PPM // 100), "f").rstrip("0").rstrip(".") or "0"


async def _submit(service: ExchangeService, command: Command) -> list[Event]:
    events = await service.submit(command)
    for ev in events:
        if isinstance(ev, StrategyRejected):
            raise strategy_error(ev.reason)
    return events


def _strategy_type(params: dict[str, Any], *, required: bool) -> None:
    kind = params.get("strategyType")
    if (kind is None and required) or kind not in (None, "Scheduled"):
        raise bad_request("strategyType must be Scheduled")


# ---------------------------------------------------------------------- commands


async def strategy_create(service: ExchangeService, account: int, params: Any) -> Any:
    if not isinstance(params, dict):
        raise bad_request("the body must be a JSON object")
    mw = _market(service, params.get("symbol"))
    side = params.get("side")
    if side not in ("Bid", "Ask"):
        raise bad_request("side must be Bid or Ask")
    _strategy_type(params, required=True)
    if params.get("quantity") is None:
        raise ApiError(400, "INVALID_QUANTITY", "quantity is required for a Scheduled strategy")
    tif = params.get("timeInForce", "IOC")
    if tif not in ("IOC", "FOK"):
        raise bad_request("timeInForce must be IOC or FOK: every slice is an immediate order", "INVALID_ORDER")
    if bool_param(params, "postOnly"):
        raise bad_request("postOnly cannot be used: every slice takes liquidity", "INVALID_ORDER")
    stp = params.get("selfTradePrevention", "RejectTaker")
    if stp not in STPS:
        raise bad_request("selfTradePrevention must be RejectTaker, RejectMaker, RejectBoth or Allow")
    slippage, slippage_type = _slippage(mw, params)
    price = params.get("price")
    command = CreateStrategy(
        account,
        mw.symbol,
        side,
        mw.parse_qty(params["quantity"]),
        duration_us=uint_param(params, "duration", DEFAULT_DURATION_MS, bits=40) * MS,
        interval_us=uint_param(params, "interval", DEFAULT_INTERVAL_MS, bits=40) * MS,
        seed=secrets.randbits(63),
        price=mw.parse_price(price) if price is not None else 0,
        randomized=bool_param(params, "randomizedIntervalQuantity"),
        client_id=uint_param(params, "clientStrategyId", -1, bits=32),
        slippage=slippage,
        slippage_type=slippage_type,
        tif=tif,
        stp=stp,
        reduce_only=bool_param(params, "reduceOnly"),
        auto_borrow=bool_param(params, "autoBorrow"),
        auto_borrow_repay=bool_param(params, "autoBorrowRepay"),
        auto_lend_redeem=bool_param(params, "autoLendRedeem"),
    )
    bool_param(params, "autoLend")  # checked; proceeds follow the account's auto-lend setting
    events = await _submit(service, command)
    created = next(ev.strategy for ev in events if isinstance(ev, StrategyUpdated))
    return strategy_json(service, created)


def _running(service: ExchangeService, account: int, params: dict[str, Any], mw: MarketWire) -> Strategy:
    book = queries.strategy_book(service.engine)
    if params.get("strategyId") is not None:
        s = book.strategies.get(parse_strategy_id(params["strategyId"]))
        found = s if s is not None and s.account == account and s.market == mw.symbol else None
    elif params.get("clientStrategyId") is not None:
        found = book.running_by_client(account, mw.symbol, uint_param(params, "clientStrategyId", -1, bits=32))
    else:
        raise bad_request("strategyId or clientStrategyId is required")
    if found is None or found.status != "Running":
        raise strategy_error("StrategyNotFound")
    return found


async def strategy_query(service: ExchangeService, account: int, params: Any) -> Any:
    account = target_account(service, account, params)
    mw = _market(service, params.get("symbol"))
    return strategy_json(service, _running(service, account, params, mw))


async def strategy_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    if not isinstance(params, dict):
        raise bad_request("the body must be a JSON object")
    mw = _market(service, params.get("symbol"))
    s = _running(service, account, params, mw)
    events = await _submit(service, CancelStrategy(account, mw.symbol, strategy_id=s.id))
    return strategy_json(service, next(ev.strategy for ev in events if isinstance(ev, StrategyUpdated)))


async def strategies_cancel_all(service: ExchangeService, account: int, params: Any) -> Any:
    if not isinstance(params, dict):
        raise bad_request("the body must be a JSON object")
    mw = _market(service, params.get("symbol"))
    _strategy_type(params, required=False)
    events = await _submit(service, CancelStrategies(account, mw.symbol))
    return [strategy_json(service, ev.strategy) for ev in events if isinstance(ev, StrategyUpdated)]


def _filters(service: ExchangeService, params: Any) -> tuple[str | None, str | None]:
    symbol, market_type = params.get("symbol"), params.get("marketType")
    if symbol is not None:
        service.wire.market(symbol)
    if market_type is not None and market_type not in MARKET_TYPES:
        raise bad_request("unknown marketType")
    return symbol, market_type


def _matches(service: ExchangeService, s: Strategy, symbol: str | None, market_type: str | None) -> bool:
    return symbol in (None, s.market) and market_type in (None, service.wire.markets[s.market].spec.market_type)


async def strategies_query(service: ExchangeService, account: int, params: Any) -> Any:
    account = target_account(service, account, params)
    symbol, market_type = _filters(service, params)
    _strategy_type(params, required=False)
    book = queries.strategy_book(service.engine)
    running = (book.strategies[i] for i in book.running)
    return [
        strategy_json(service, s) for s in running if s.account == account and _matches(service, s, symbol, market_type)
    ]


async def strategy_history(service: ExchangeService, account: int, params: Any) -> Any:
    account = target_account(service, account, params)
    symbol, market_type = _filters(service, params)
    wanted = parse_strategy_id(params["strategyId"]) if params.get("strategyId") is not None else -1
    limit, offset, ascending = page_params(params)
    book = queries.strategy_book(service.engine)
    rows = [
        s
        for _, s in sorted(book.strategies.items())
        if s.account == account and wanted in (-1, s.id) and _matches(service, s, symbol, market_type)
    ]
    if not ascending:
        rows.reverse()
    return [strategy_json(service, s) for s in rows[offset : offset + limit]]


PRIVATE = {
    ("POST", "/api/v1/strategy"): ("strategyCreate", strategy_create),
    ("GET", "/api/v1/strategy"): ("strategyQuery", strategy_query),
    ("DELETE", "/api/v1/strategy"): ("strategyCancel", strategy_cancel),
    ("GET", "/api/v1/strategies"): ("strategyQueryAll", strategies_query),
    ("DELETE", "/api/v1/strategies"): ("strategyCancelAll", strategies_cancel_all),
    ("GET", "/wapi/v1/history/strategies"): ("strategyHistoryQueryAll", strategy_history),
}
