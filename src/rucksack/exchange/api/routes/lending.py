"""Borrow/lend: markets (public), netted execution and positions (private)."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import bad_request, from_reason
from rucksack.exchange.api.routes.common import (
    apy,
    wad,
)
from rucksack.exchange.api.wire import format_atoms, iso_ms, parse_amount
from rucksack.exchange.core import queries
from rucksack.exchange.service import ExchangeService


async def borrow_lend_markets(service: ExchangeService, params: dict[str, str]) -> Any:
    from rucksack.exchange.core.lending.curve import lend_apr

    out = []
    settle = service.wire.assets[service.spec.settlement_asset]
    for index, (asset, pool) in enumerate(zip(service.spec.assets, queries.pools(service.engine), strict=True)):
        if pool is None:
            continue
        mark = queries.asset_value(service.engine, index, 10**asset.decimals, round_up=False)
        u = pool.utilization()
        curve = pool.curve
        out.append(
            {
                "state": "Open",  # Rucksack's pools have no closed or repay-only state
                "assetMarkPrice": format_atoms(mark, settle.decimals) if mark else None,
                "borrowInterestRate": wad(apy(pool.borrow_apr())),
                "borrowedQuantity": format_atoms(pool.borrowed(), asset.decimals),
                "fee": wad(curve.fee),
                "lendInterestRate": wad(apy(lend_apr(curve, u))),
                "lentQuantity": format_atoms(pool.lent(), asset.decimals),
                "maxUtilization": wad(curve.max_utilization),
                "openBorrowLendLimit": None,
                "optimalUtilization": wad(curve.optimal_utilization),
                "symbol": asset.symbol,
                "timestamp": iso_ms(queries.last_ts_us(service.engine) or service.clock()),
                "throttleUtilizationThreshold": wad(curve.throttle_threshold),
                "throttleUtilizationBound": wad(min(curve.throttle_bound, curve.max_utilization)),
                "throttleUpdateFraction": wad(curve.throttle_update_fraction),
                "utilization": wad(u),
                "stepSize": format_atoms(1, asset.decimals),
                # Rucksack extension (Backpack publishes only optimalUtilization): the two-slope
                # APR curve, so clients can draw it. Borrow APR at U: baseApr + slope1Apr * U / U*
                # up to U*, then + slope2Apr * (U - U*) / (1 - U*); lend APR = borrow APR * U * (1 - fee).
                "rateCurve": {
                    "baseApr": wad(curve.base_apr),
                    "slope1Apr": wad(curve.slope1_apr),
                    "slope2Apr": wad(curve.slope2_apr),
                    "optimalUtilization": wad(curve.optimal_utilization),
                    "maxUtilization": wad(curve.max_utilization),
                    "fee": wad(curve.fee),
                },
            }
        )
    return out


async def borrow_lend_apy(service: ExchangeService, params: dict[str, str]) -> Any:
    """``GET /api/v1/borrowLend/apy`` (ccxt's implicit API, typed as an object; Backpack documents
    no shape): each pool's current APY fractions, keyed by asset, the same values
    ``borrowLend/markets`` reports (docs/api.md)."""
    return {
        m["symbol"]: {"lendInterestRate": m["lendInterestRate"], "borrowInterestRate": m["borrowInterestRate"]}
        for m in await borrow_lend_markets(service, params)
    }


async def borrow_lend_execute(service: ExchangeService, account: int, params: Any) -> Any:
    from rucksack.exchange.core.commands import BorrowLend
    from rucksack.exchange.core.events import BorrowLendRejected

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
    """Net borrow/lend position per asset (``cumulativeInterest``: earned by a lend, > 0; paid by
    a borrow, < 0). A borrow's exposure is its gross debt valued at the index
    (as the margin engine counts it), with the asset's borrow IMF/MMF at that size; lends carry none."""
    from rucksack.exchange.api.routes.positions import margin_floor
    from rucksack.exchange.api.routes.subaccounts import target_account
    from rucksack.exchange.api.wire import function_json
    from rucksack.exchange.core.risk.margin_fn import fraction

    account = target_account(service, account, params)
    engine = service.engine
    acct = queries.account(engine, account)
    out: list[dict[str, Any]] = []
    if acct is None:
        return out
    settle = service.wire.assets[service.spec.settlement_asset]
    floor = margin_floor(service, acct)
    # a borrow's interest so far: its open position's interest rows in the read model (paid: < 0)
    open_rows = await service.store.borrow_lend_positions(account, state="Open", limit=1000)
    borrow_interest = {r["asset"]: r["cumulative_interest"] for r in open_rows if r["side"] == "Borrow"}
    for index, (asset, pool, bal) in enumerate(
        zip(service.spec.assets, queries.pools(engine), acct.assets, strict=True)
    ):
        if pool is None or not (bal.lend_shares or bal.borrow_shares):
            continue
        lent = pool.claim(bal.lend_shares)
        debt = pool.debt(bal.borrow_shares)
        net = lent - debt
        exposure = queries.asset_value(engine, index, debt, round_up=True) if debt else 0
        one = 10**asset.decimals
        mark = (
            queries.asset_value(engine, index, one, round_up=False)
            if index != queries.settle_asset(engine)
            else 10**settle.decimals
        )
        imf = fraction(asset.borrow_imf, exposure, settle.decimals, floor) if asset.borrow_imf and debt else 0
        mmf = fraction(asset.borrow_mmf, exposure, settle.decimals, 0) if asset.borrow_mmf and debt else 0
        out.append(
            {
                # a lend's: what its claim gained over the principal lent (exact, from the engine)
                "cumulativeInterest": format_atoms(
                    max(0, lent - bal.lent_principal) if lent else borrow_interest.get(asset.symbol, 0),
                    asset.decimals,
                ),
                "id": asset.symbol,
                "imf": wad(imf),
                "imfFunction": function_json(asset.borrow_imf),
                "markPrice": format_atoms(mark, settle.decimals) if mark else None,
                "mmf": wad(mmf),
                "mmfFunction": function_json(asset.borrow_mmf),
                "netExposureNotional": format_atoms(exposure, settle.decimals),
                "netExposureQuantity": format_atoms(debt, asset.decimals),  # lends carry no exposure
                "netQuantity": format_atoms(net, asset.decimals),
                "symbol": asset.symbol,
            }
        )
    return out
