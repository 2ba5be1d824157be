"""Borrow/lend: markets (public), netted execution and positions (private)."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import bad_request, from_reason
from rucksack.exchange.api.routes.common import (
    apy,
    wad,
)
from rucksack.exchange.api.service import ExchangeService
from rucksack.exchange.api.wire import format_atoms, iso_ms, parse_amount


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
                "borrowInterestRate": wad(apy(pool.borrow_apr())),
                "borrowedQuantity": format_atoms(pool.borrowed(), asset.decimals),
                "fee": wad(curve.fee),
                "lendInterestRate": wad(apy(lend_apr(curve, u))),
                "lentQuantity": format_atoms(pool.lent(), asset.decimals),
                "maxUtilization": wad(curve.max_utilization),
                "openBorrowLendLimit": None,
                "optimalUtilization": wad(curve.optimal_utilization),
                "symbol": asset.symbol,
                "timestamp": iso_ms(service.engine.last_ts_us or service.clock()),
                "throttleUtilizationThreshold": None,
                "throttleUtilizationBound": None,
                "throttleUpdateFraction": None,
                "utilization": wad(u),
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
