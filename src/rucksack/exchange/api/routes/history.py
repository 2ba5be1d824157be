"""Private margin history from the read model: funding payments, settlements, positions."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import bad_request
from rucksack.exchange.api.routes.common import page_params, wad
from rucksack.exchange.api.routes.market import hour_iso
from rucksack.exchange.api.routes.positions import avg_price, position_id
from rucksack.exchange.api.routes.subaccounts import subaccount_id, target_account, user_id
from rucksack.exchange.api.wire import format_atoms, iso_ms
from rucksack.exchange.core import queries
from rucksack.exchange.service import ExchangeService
from rucksack.exchange.store.settlement_sources import FILTERS


def _money(service: ExchangeService, atoms: int) -> str:
    return format_atoms(atoms, service.wire.assets[service.spec.settlement_asset].decimals)


async def funding_history(service: ExchangeService, account: int, params: Any) -> Any:
    """The account's funding payments, one row per position and hour (signed: negative = paid)."""
    account = target_account(service, account, params)
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    limit, offset, ascending = page_params(params)
    rows = await service.store.funding_payments(account, symbol=symbol, limit=limit, offset=offset, ascending=ascending)
    sub = subaccount_id(service, account)
    uid = user_id(service, account)
    return [
        {
            "userId": uid,
            "subaccountId": sub,
            "symbol": r["market"],
            "quantity": _money(service, r["quantity"]),
            "intervalEndTimestamp": hour_iso(r["hour"]),
            "fundingRate": wad(r["rate_wad"]),
        }
        for r in rows
    ]


async def settlement_history(service: ExchangeService, account: int, params: Any) -> Any:
    """Settlements of unsettled USDC against the wallet, one row per source (``store.
    settlement_sources``: trading fees, funding, realized PnL, ...; a settlement's rows sum to the
    amount it moved). ``source`` is Backpack's SettlementSourceFilter."""
    account = target_account(service, account, params)
    source = params.get("source")
    if source is not None and source not in FILTERS:
        raise bad_request(f"source must be one of {', '.join(FILTERS)}")
    limit, offset, ascending = page_params(params)
    wanted = FILTERS[source] if source is not None else None
    rows = await service.store.settlements(account, sources=wanted, limit=limit, offset=offset, ascending=ascending)
    sub = subaccount_id(service, account)
    uid = user_id(service, account)
    return [
        {
            "quantity": _money(service, r["quantity"]),
            "source": r["source"],
            "subaccountId": sub,
            "timestamp": iso_ms(r["ts_us"]),
            "userId": uid,
        }
        for r in rows
    ]


async def position_history(service: ExchangeService, account: int, params: Any) -> Any:
    """Positions open and closed, rebuilt from fills and transfers in the read model.

    ``cumulativePnlRealized`` is the trading PnL of the closed parts (exit minus entry notional),
    ``fees`` the trading (and liquidation) fees, ``fundingQuantity`` the funding received.
    """

    account = target_account(service, account, params)
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    state = params.get("state")
    if state not in (None, "Open", "Closed"):
        raise bad_request("state must be Open or Closed")
    market_type = params.get("marketType")
    if market_type not in (None, "PERP", "SPOT"):
        raise bad_request("marketType must be PERP or SPOT")
    limit, offset, ascending = page_params(params)
    if market_type == "SPOT":
        return []
    rows = await service.store.position_history(
        account, symbol=symbol, state=state, limit=limit, offset=offset, ascending=ascending
    )
    out = []
    engine = service.engine
    for r in rows:
        mw = service.wire.markets[r["market"]]
        m = queries.market(engine, r["market"])
        mark = m.valuation_price()
        lots = r["lots"]
        lta = mw.spec.lot_tick_atoms
        acct = queries.account(engine, account)
        pos = acct.positions.get(m.index) if acct is not None and r["state"] == "Open" else None
        exposure = pos.exposure_lots(0, 0) if pos is not None else abs(lots)
        out.append(
            {
                "id": position_id(account, m.index) + f"-{r['id']}",
                "symbol": r["market"],
                "netQuantity": mw.qty(lots),
                "netExposureQuantity": mw.qty(exposure),
                "netExposureNotional": _money(service, exposure * mark * lta),
                "netCost": _money(service, r["entry_cost"]),
                "markPrice": mw.price(mark),
                "entryPrice": avg_price(mw, r["entry_cost"], lots),
                "cumulativePnlRealized": _money(service, r["realized"]),
                "unrealizedPnl": _money(service, lots * mark * lta - r["entry_cost"]),
                "fundingQuantity": _money(service, r["funding"]),
                "interest": "0",
                "liquidated": bool(r["liquidated"]),
                "imf": wad(mw.spec.imf.base) if mw.spec.imf else None,
                "fees": _money(service, r["fees"]),
                "state": r["state"],
                "closedVolume": mw.qty(r["closed_lots"]),
                "liquidationFees": _money(service, r["liquidation_fees"]),
                "closingPrice": mw.price(r["closing_price"]) if r["closing_price"] else None,
                "accountLeverage": None,
                "openedAt": iso_ms(r["opened_us"]),
                "closedAt": iso_ms(r["closed_us"]) if r["state"] == "Closed" else None,
            }
        )
    return out
