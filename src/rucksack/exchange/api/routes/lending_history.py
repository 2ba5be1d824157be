"""Borrow/lend histories (private, from the read model ``store.lending``), the pools' rate history
(public) and a borrow's liquidation price (private, from the engine's read view).

Quantities are in the row's asset; interest is signed (> 0 earned by a lender, < 0 paid by a
borrower); rates are WAD fractions printed as decimals: ``interestRate`` and ``avgInterestRate``
the APR applied, the market history's rates APYs like ``GET /api/v1/borrowLend/markets``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request
from rucksack.exchange.api.routes.common import apy, page_params, wad
from rucksack.exchange.api.routes.market import hour_iso
from rucksack.exchange.api.routes.subaccounts import target_account
from rucksack.exchange.api.wire import format_atoms, iso_ms, parse_amount
from rucksack.exchange.core import queries
from rucksack.exchange.core.markets import MAX_AMOUNT_ATOMS
from rucksack.exchange.service import ExchangeService

EVENT_TYPES = ("Borrow", "BorrowRepay", "Lend", "LendRedeem")
SOURCES = (
    "AdlProvider",
    "AutoBorrowRepay",
    "AutoLend",
    "BackstopProvider",
    "DustConversion",
    "Interest",
    "Liquidation",
    "LiquidationAdl",
    "LiquidationBackstop",
    "Manual",
    "Reconciliation",
    "Rfq",
    "SpotMargin",
    "Withdrawal",
)
HOUR_MS = 3_600_000
# the window of each market-history interval (hours) and its sampling (every n-th hour)
INTERVALS = {"1d": (24, 1), "1w": (24 * 7, 1), "1month": (24 * 30, 6), "1year": (24 * 365, 24)}


def _asset_param(service: ExchangeService, params: Any, *names: str) -> str | None:
    for name in names:
        value = params.get(name)
        if value is not None:
            return service.wire.asset(value).symbol
    return None


def _position_param(params: Any) -> int | None:
    value = params.get("positionId")
    if value is None:
        return None
    if not str(value).isdigit() or len(str(value)) > 18:
        raise ApiError(400, "INVALID_POSITION_ID", "positionId must be a position id")
    return int(value)


def _qty(service: ExchangeService, asset: str, atoms: int) -> str:
    return format_atoms(atoms, service.wire.assets[asset].decimals)


async def borrow_lend_history(service: ExchangeService, account: int, params: Any) -> Any:
    """``GET /wapi/v1/history/borrowLend``: every movement of the account's pool positions."""
    account = target_account(service, account, params)
    kind = params.get("type")
    if kind is not None and kind not in EVENT_TYPES:
        raise bad_request(f"type must be one of {', '.join(EVENT_TYPES)}")
    sources = tuple(s for s in str(params.get("sources") or "").split(",") if s)
    if any(s not in SOURCES for s in sources):
        raise bad_request(f"sources must be a comma list of {', '.join(SOURCES)}")
    limit, offset, ascending = page_params(params)
    rows = await service.store.borrow_lend_history(
        account,
        kind=kind,
        sources=sources,
        position_id=_position_param(params),
        asset=_asset_param(service, params, "symbol"),
        limit=limit,
        offset=offset,
        ascending=ascending,
    )
    return [
        {
            "eventType": r["kind"],
            "positionId": str(r["position_id"]),
            "positionQuantity": _qty(service, r["asset"], r["position_quantity"]),
            "quantity": _qty(service, r["asset"], r["quantity"]),
            "source": r["source"],
            "symbol": r["asset"],
            "timestamp": iso_ms(r["ts_us"]),
            "spotMarginOrderId": None,
        }
        for r in rows
    ]


async def interest_history(service: ExchangeService, account: int, params: Any) -> Any:
    """``GET /wapi/v1/history/interest``: every hourly accrual of every position (``Lend`` or
    ``Borrow``) and each borrow's ``EntryFee``. Unrealized-PnL interest does not exist here (perp
    PnL settles every tick), so ``source=UnrealizedPnl`` answers an empty list."""
    account = target_account(service, account, params)
    source = params.get("source")
    if source not in (None, "UnrealizedPnl", "BorrowLend"):
        raise bad_request("source must be UnrealizedPnl or BorrowLend")
    limit, offset, ascending = page_params(params)
    if source == "UnrealizedPnl" or params.get("symbol") in service.wire.markets:
        return []  # a market's symbol: interest on unrealized PnL, which Rucksack does not charge
    rows = await service.store.interest_history(
        account,
        asset=_asset_param(service, params, "asset", "symbol"),
        position_id=_position_param(params),
        limit=limit,
        offset=offset,
        ascending=ascending,
    )
    out = []
    for r in rows:
        entry = r["payment_type"] == "EntryFee"
        out.append(
            {
                "paymentType": r["payment_type"],
                "interestRate": wad(r["rate_wad"]),
                # an accrual covers its hour; an entry fee the rest of the hour it was charged in
                "interval": (r["hour"] + 1) * HOUR_MS - r["ts_us"] // 1000 if entry else HOUR_MS,
                "marketSymbol": r["asset"],
                "positionId": str(r["position_id"]),
                "quantity": _qty(service, r["asset"], r["quantity"]),
                "symbol": r["asset"],
                "timestamp": iso_ms(r["ts_us"]) if entry else hour_iso(r["hour"]),
            }
        )
    return out


async def borrow_lend_position_history(service: ExchangeService, account: int, params: Any) -> Any:
    """``GET /wapi/v1/history/borrowLend/positions``: each position's life, open or closed."""
    account = target_account(service, account, params)
    side = params.get("side")
    if side not in (None, "Borrow", "Lend"):
        raise bad_request("side must be Borrow or Lend")
    state = params.get("state")
    if state not in (None, "Open", "Closed"):
        raise bad_request("state must be Open or Closed")
    limit, offset, ascending = page_params(params)
    rows = await service.store.borrow_lend_positions(
        account,
        asset=_asset_param(service, params, "symbol"),
        side=side,
        state=state,
        limit=limit,
        offset=offset,
        ascending=ascending,
    )
    return [
        {
            "positionId": str(r["id"]),
            "quantity": _qty(service, r["asset"], abs(r["quantity"])),
            "symbol": r["asset"],
            "source": r["source"],
            "cumulativeInterest": _qty(service, r["asset"], r["cumulative_interest"]),
            "avgInterestRate": format_atoms(r["rate_sum_ppb"] // r["payments"], 9) if r["payments"] else "0",
            "side": r["side"],
            "state": r["state"],  # Rucksack: the filter's value, in the row
            "createdAt": iso_ms(r["created_us"]),
        }
        for r in rows
    ]


async def markets_history(service: ExchangeService, params: dict[str, str]) -> Any:
    """``GET /api/v1/borrowLend/markets/history``: each pool's totals and rates as each hour closed
    over the ``interval`` (hourly for 1d and 1w, every 6 hours for 1month, daily for 1year)."""
    interval = params.get("interval")
    if interval not in INTERVALS:
        raise bad_request(f"interval must be one of {', '.join(INTERVALS)}")
    symbol = _asset_param(service, params, "symbol")
    hours, every = INTERVALS[interval]
    now_hour = (queries.last_ts_us(service.engine) or service.clock()) // (HOUR_MS * 1000)
    rows = await service.store.pool_rates(symbol, now_hour - hours, every)
    return [
        {
            "borrowInterestRate": wad(apy(r["borrow_apr"])),
            "borrowedQuantity": _qty(service, r["asset"], r["borrowed"]),
            "lendInterestRate": wad(apy(r["lend_apr"])),
            "lentQuantity": _qty(service, r["asset"], r["lent"]),
            "symbol": r["asset"],
            "timestamp": hour_iso(r["hour"]),
            "utilization": wad(r["utilization"]),
        }
        for r in rows
    ]


async def liquidation_price(service: ExchangeService, account: int, params: Any) -> Any:
    """``GET /api/v1/borrowLend/position/liquidationPrice``: ``borrow`` is the standard base64 of
    ``{"quantity","side","symbol"}``; the answer is the price of that asset (in its pricing market,
    against USDC) at which the account would be liquidated once the borrow (a ``Lend`` changes no
    equity) is done, everything else unchanged, and the asset's mark. ``liquidationPrice`` is null
    when no price within 100x the mark would liquidate it, or the asset is the settlement asset."""
    account = target_account(service, account, params)
    raw = params.get("borrow")
    if not isinstance(raw, str) or not raw:
        raise bad_request("borrow is required: base64 of {quantity, side, symbol}")
    try:
        borrow = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise bad_request("borrow must be base64 of a JSON object") from exc
    if not isinstance(borrow, dict) or borrow.get("side") not in ("Borrow", "Lend"):
        raise bad_request("borrow must be {quantity, side: Borrow | Lend, symbol}")
    asset = service.wire.asset(borrow.get("symbol"))
    amount = parse_amount(borrow.get("quantity"), asset, "borrow.quantity")
    if amount > MAX_AMOUNT_ATOMS:
        raise ApiError(400, "INVALID_QUANTITY", "borrow.quantity is too large")
    engine = service.engine
    index = queries.asset_index(engine, asset.symbol)
    m = queries.price_market(engine, index)
    settle = service.wire.assets[service.spec.settlement_asset]
    if m is None:
        return {"liquidationPrice": None, "markPrice": format_atoms(10**settle.decimals, settle.decimals)}
    mw = service.wire.markets[m.symbol]
    acct = queries.account(engine, account)
    price = 0
    if acct is not None:
        price = queries.borrow_liquidation_price(engine, acct, index, amount if borrow["side"] == "Borrow" else 0)
    mark = m.valuation_price()
    return {"liquidationPrice": mw.price(price) if price else None, "markPrice": mw.price(mark) if mark else None}
