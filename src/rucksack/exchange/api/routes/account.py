"""Account, balances, deposits and withdrawals, and the margin account summary (private)."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request
from rucksack.exchange.api.routes.common import (
    int_param,
    page_params,
    wad,
)
from rucksack.exchange.api.service import ExchangeService
from rucksack.exchange.api.wire import format_atoms, iso_ms


async def account(service: ExchangeService, account: int, params: Any) -> Any:
    acct = service.engine.ledger.accounts.get(account)
    tier = service.spec.fee_tiers[acct.tier if acct else 0]
    open_orders = len(service.open_orders(account))
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


async def deposits(service: ExchangeService, account: int, params: Any) -> Any:
    limit, offset, _ = page_params(params)
    from_ms = int_param(params, "from", -1)
    to_ms = int_param(params, "to", int_param(params, "endTime", -1))
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
    limit, offset, _ = page_params(params)
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
                "collateralWeight": wad(r.weight),
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


def _flag(params: Any, key: str) -> bool | None:
    value = params.get(key)
    if value is None:
        return None
    if value in ("true", "True", True):
        return True
    if value in ("false", "False", False):
        return False
    raise bad_request(f"{key} must be true or false")


async def max_order_quantity(service: ExchangeService, account: int, params: Any) -> Any:
    """Spot: an ask can sell the available base; a bid can buy available quote / price, priced at
    ``price`` if given, else the best ask, else the last trade (0 when no price is known)."""
    mw = service.wire.market(params.get("symbol"))
    side = params.get("side")
    if side not in ("Bid", "Ask"):
        raise bad_request("side must be Bid or Ask")
    flags = {k: _flag(params, k) for k in ("reduceOnly", "autoBorrow", "autoBorrowRepay", "autoLendRedeem")}
    state = service.engine.market_by_symbol[mw.symbol]
    ledger = service.engine.ledger
    price = mw.parse_price(params["price"]) if params.get("price") is not None else 0
    if side == "Ask":
        lots = ledger.available(account, state.base) // mw.spec.lot_atoms
    else:
        price_used = price or state.asks.best_price() or state.last_price
        quote = ledger.available(account, state.quote)
        lots = quote // (price_used * mw.spec.lot_tick_atoms) if price_used else 0
    if mw.spec.max_lots:
        lots = min(lots, mw.spec.max_lots)
    out: dict[str, Any] = {
        "maxOrderQuantity": mw.qty(lots),
        "side": side,
        "symbol": mw.symbol,
        "price": mw.price(price) if price else None,
    }
    out.update({k: v for k, v in flags.items() if v is not None})
    return out


async def max_withdrawal_quantity(service: ExchangeService, account: int, params: Any) -> Any:
    """The available balance (lent funds are not redeemed automatically yet; nothing is borrowed)."""
    asset = service.wire.asset(params.get("symbol"))
    flags = {k: _flag(params, k) for k in ("autoBorrow", "autoLendRedeem")}
    index = service.engine.asset_index[asset.symbol]
    out: dict[str, Any] = {
        "maxWithdrawalQuantity": format_atoms(service.engine.ledger.available(account, index), asset.decimals),
        "symbol": asset.symbol,
    }
    out.update({k: v for k, v in flags.items() if v is not None})
    return out


async def max_borrow_quantity(service: ExchangeService, account: int, params: Any) -> Any:
    """Borrowing needs the risk engine: the account's borrow limit is 0 until it exists."""
    asset = service.wire.asset(params.get("symbol"))
    return {"maxBorrowQuantity": "0", "symbol": asset.symbol}
