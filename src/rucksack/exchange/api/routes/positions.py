"""Perpetual positions and the margin account summary, read from the engine's margin state.

``GET /api/v1/position`` answers Backpack's ``FuturePosition`` (§6.5) for every open position:

- ``entryPrice`` = average entry (``Position.entry_cost / quantity``), ``breakEvenPrice`` = the
  entry moved by the trading fees paid on the position (a long must sell higher, a short buy lower);
- ``netCost`` = the signed notional at entry (its sign is the side, which ccxt reads);
- ``netExposureQuantity``/``Notional`` = ``max(|q + open buys|, |q - open sells|)`` (x mark);
- ``imf``/``mmf`` = the market's sqrt functions at that exposure, never below 1/leverage limit;
- ``pnlUnrealized`` = ``q x mark - cost`` since the last settlement, ``pnlRealized`` = what
  settlement has moved into the wallet, ``cumulativeFundingPayment`` = funding received (negative:
  paid); ``estLiquidationPrice`` from ``risk.limits`` (``"0"`` when there is none);
- ``positionId`` = ``account x 1000 + market index`` (stable while the account holds the market).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from rucksack.exchange.api.errors import bad_request
from rucksack.exchange.api.routes.common import wad
from rucksack.exchange.api.routes.subaccounts import subaccount_id, target_account, user_id
from rucksack.exchange.api.wire import MarketWire, format_atoms, function_json
from rucksack.exchange.core import queries
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.numeric import WAD, ceil_div
from rucksack.exchange.core.perps.position import Position
from rucksack.exchange.core.risk.margin_fn import fraction
from rucksack.exchange.service import ExchangeService

EXTRA_PLACES = 4  # average prices carry this many digits beyond the tick


def account_of(service: ExchangeService, account: int) -> Account:
    """The account, or an empty one (never inserted) for an account that holds nothing yet."""
    return queries.account_or_empty(service.engine, account)


def avg_price(mw: MarketWire, notional_atoms: int, lots: int) -> str:
    """``notional / quantity`` as a decimal price with a few digits beyond the tick."""
    if not lots:
        return "0"
    quote_units = Decimal(abs(notional_atoms)) / (10**mw.quote.decimals)
    base_units = Decimal(abs(lots) * mw.spec.lot_atoms) / (10**mw.base.decimals)
    places = mw.tick_places + EXTRA_PLACES
    value = (quote_units / base_units).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
        whole, _, frac = text.partition(".")
        text = whole + "." + frac.ljust(mw.tick_places, "0") if mw.tick_places else text
    return text


def margin_floor(service: ExchangeService, acct: Account) -> int:
    return ceil_div(WAD, acct.leverage_limit or service.spec.risk.max_leverage)


def position_json(
    service: ExchangeService, acct: Account, m: MarketState, pos: Position | None, *, liquidation: bool = True
) -> dict[str, Any]:
    mw = service.wire.markets[m.symbol]
    settle_decimals = mw.quote.decimals

    def money(atoms: int) -> str:
        return format_atoms(atoms, settle_decimals)

    mark = m.valuation_price()
    lta = m.lot_tick_atoms
    lots = pos.lots if pos is not None else 0
    exposure = pos.exposure_lots(0, 0) if pos is not None else 0
    notional = exposure * mark * lta
    floor = margin_floor(service, acct)
    imf = fraction(m.spec.imf, notional, settle_decimals, floor) if m.spec.imf else WAD
    mmf = fraction(m.spec.mmf, notional, settle_decimals, 0) if m.spec.mmf else WAD
    entry_cost = pos.entry_cost if pos is not None else 0
    fees = pos.fees if pos is not None else 0
    breakeven_cost = entry_cost + fees if lots > 0 else entry_cost - fees
    liq = queries.estimated_liquidation_price(service.engine, acct, m) if lots and liquidation else 0
    upnl = lots * mark * lta - pos.cost if pos is not None else 0
    return {
        "breakEvenPrice": avg_price(mw, breakeven_cost, lots),
        "cumulativeFundingPayment": money(pos.funding if pos is not None else 0),
        "cumulativeInterest": "0",
        "entryPrice": avg_price(mw, entry_cost, lots),
        "estLiquidationPrice": mw.price(liq) if liq else "0",
        "imf": wad(imf),
        "imfFunction": function_json(m.spec.imf),
        "markPrice": mw.price(mark),
        "mmf": wad(mmf),
        "mmfFunction": function_json(m.spec.mmf),
        "netCost": money(entry_cost),
        "netExposureNotional": money(notional),
        "netExposureQuantity": mw.qty(exposure),
        "netQuantity": mw.qty(lots),
        "pnlRealized": money(pos.realized if pos is not None else 0),
        "pnlUnrealized": money(upnl),
        "positionId": position_id(acct.account, m.index),
        "subaccountId": subaccount_id(service, acct.account),
        "symbol": m.symbol,
        "userId": user_id(service, acct.account),
    }


def position_id(account: int, market: int) -> str:
    return str(account * 1000 + market)


def open_positions(service: ExchangeService, acct: Account) -> list[tuple[MarketState, Position]]:
    markets = queries.markets(service.engine)
    return [(markets[mi], acct.positions[mi]) for mi in sorted(acct.positions) if acct.positions[mi].lots]


async def positions(service: ExchangeService, account: int, params: Any) -> Any:
    account = target_account(service, account, params)
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    market_type = params.get("marketType")
    if market_type not in (None, "PERP", "SPOT"):
        raise bad_request("marketType must be PERP or SPOT")
    acct = account_of(service, account)
    return [
        position_json(service, acct, m, pos)
        for m, pos in open_positions(service, acct)
        if symbol in (None, m.symbol) and market_type in (None, "PERP")
    ]


def futures_exposure(service: ExchangeService, acct: Account) -> int:
    total = 0
    markets = queries.markets(service.engine)
    for m, pos in ((markets[mi], p) for mi, p in acct.positions.items()):
        total += pos.exposure_lots(0, 0) * m.valuation_price() * m.lot_tick_atoms
    return total


def margin_summary(service: ExchangeService, account: int) -> dict[str, Any]:
    """``MarginAccountSummary`` (§6.2): account figures from the engine's ``MarginCalc``, per-asset rows
    from the collateral valuation."""
    engine = service.engine
    acct = account_of(service, account)
    r = queries.margin(engine, acct)
    risk = queries.collateral(engine, account)
    settle = service.wire.assets[service.spec.settlement_asset]

    def money(atoms: int) -> str:
        return format_atoms(atoms, settle.decimals)

    rows = []
    for row in risk.assets:
        asset = service.wire.assets[row.symbol]
        if row.price_market is None:
            asset_mark: str | None = "1"
        elif row.price_ticks:
            asset_mark = service.wire.markets[row.price_market].price(row.price_ticks)
        else:
            asset_mark = None
        rows.append(
            {
                "symbol": row.symbol,
                "assetMarkPrice": asset_mark,
                "totalQuantity": format_atoms(row.total, asset.decimals),
                "balanceNotional": money(row.notional),
                "collateralWeight": wad(row.weight),
                "collateralValue": money(row.collateral_value),
                "openOrderQuantity": format_atoms(row.locked, asset.decimals),
                "lendQuantity": format_atoms(row.lent, asset.decimals),
                "availableQuantity": format_atoms(row.available, asset.decimals),
            }
        )
    x = r.exposure
    return {
        "assetsValue": money(risk.assets_value),
        "borrowLiability": money(risk.liabilities_value),
        "liabilitiesValue": money(r.liabilities),
        "imf": wad(r.im * WAD // x) if x else "0",
        "mmf": wad(r.mm * WAD // x) if x else "0",
        "marginFraction": wad(r.equity * WAD // x) if x else None,
        "netEquity": money(r.equity),
        "netEquityAvailable": money(r.equity - r.im),
        "netEquityLocked": money(r.im),
        "netExposureFutures": money(futures_exposure(service, acct)),
        "pnlUnrealized": money(r.upnl),
        "unsettledEquity": money(acct.unsettled),
        "collateral": rows,
    }


async def capital_collateral(service: ExchangeService, account: int, params: Any) -> Any:
    return margin_summary(service, target_account(service, account, params))
