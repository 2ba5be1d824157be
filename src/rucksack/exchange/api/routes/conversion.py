"""Conversions (private): Backpack's dust conversion and its history, and collateral conversion
(a Rucksack extension: Backpack converts collateral through RFQ and publishes no endpoint).

- ``POST /api/v1/account/convertDust`` (``convertDust``; ``symbol?``): sells one asset's dust, or
  every asset's, to the exchange for USDC (``core.conversion``); 200 with an empty body.
- ``GET /wapi/v1/history/dust`` (``dustHistoryQueryAll``): the conversions, from the read model.
- ``POST /api/v1/account/convertCollateral`` (``collateralConvert``; ``fromSymbol``, ``toSymbol``,
  ``quantity`` of ``fromSymbol``): swaps one collateral asset for another on the spot book that
  trades the pair (a market order, IOC, that redeems lent funds as needed), through the same
  ledger, fees and margin checks as any order; perp positions stay open, and a swap that would
  leave the account below its initial margin is refused (``INSUFFICIENT_MARGIN``). Answers what
  was spent and received (net of the fee, charged in the asset received).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.orders import placed_order_json
from rucksack.exchange.api.routes.common import page_params
from rucksack.exchange.api.routes.subaccounts import target_account
from rucksack.exchange.api.wire import format_atoms, iso_ms, parse_amount
from rucksack.exchange.service import ExchangeService


async def convert_dust(service: ExchangeService, account: int, params: Any) -> Any:
    from rucksack.exchange.core.commands import ConvertDust
    from rucksack.exchange.core.events import ConvertDustRejected

    account = target_account(service, account, params)
    symbol = params.get("symbol")
    asset = service.wire.asset(symbol).symbol if symbol not in (None, "") else ""
    for ev in await service.submit(ConvertDust(account, asset)):
        if isinstance(ev, ConvertDustRejected):
            raise from_reason(ev.reason)
    return None


async def dust_history(service: ExchangeService, account: int, params: Any) -> Any:
    account = target_account(service, account, params)
    row_id = params.get("id")
    if row_id is not None and (not str(row_id).isdigit() or len(str(row_id)) > 18):
        raise bad_request("id must be a dust conversion id")
    symbol = params.get("symbol")
    asset = service.wire.asset(symbol).symbol if symbol is not None else None
    limit, offset, ascending = page_params(params)
    rows = await service.store.dust_history(
        account,
        row_id=int(row_id) if row_id is not None else None,
        asset=asset,
        limit=limit,
        offset=offset,
        ascending=ascending,
    )
    settle = service.wire.assets[service.spec.settlement_asset]
    return [
        {
            "id": r["id"],
            "quantity": format_atoms(r["quantity"], service.wire.assets[r["asset"]].decimals),
            "symbol": r["asset"],
            "usdcReceived": format_atoms(r["usdc"], settle.decimals),
            "timestamp": iso_ms(r["ts_us"]),
        }
        for r in rows
    ]


async def convert_collateral(service: ExchangeService, account: int, params: Any) -> Any:
    from rucksack.exchange.core.commands import PlaceOrder
    from rucksack.exchange.core.events import TradeExecuted

    account = target_account(service, account, params)
    source = service.wire.asset(params.get("fromSymbol"))
    target = service.wire.asset(params.get("toSymbol"))
    amount = parse_amount(params.get("quantity"), source)
    market = next(
        (
            m
            for m in service.spec.markets
            if m.market_type == "SPOT" and {m.base, m.quote} == {source.symbol, target.symbol} and m.trading
        ),
        None,
    )
    if market is None or source.symbol == target.symbol:
        raise ApiError(400, "INVALID_MARKET", f"No spot market trades {source.symbol} against {target.symbol}")
    mw = service.wire.markets[market.symbol]
    if market.base == source.symbol:  # sell the base for the quote
        if amount % market.lot_atoms:
            raise ApiError(400, "INVALID_QUANTITY", f"quantity must be a multiple of {mw.qty(1)} {source.symbol}")
        order = PlaceOrder(
            account, market.symbol, "Ask", "Market", lots=amount // market.lot_atoms, tif="IOC", auto_lend_redeem=True
        )
    else:  # spend the quote on the base
        order = PlaceOrder(
            account, market.symbol, "Bid", "Market", quote_atoms=amount, tif="IOC", auto_lend_redeem=True
        )
    events = await service.submit(order)
    placed, _ = placed_order_json(service.wire, events)
    order_id = int(placed["id"])
    lots = quote = fee = 0
    for ev in events:
        if isinstance(ev, TradeExecuted) and ev.taker_order_id == order_id:
            lots += ev.lots
            quote += ev.lots * ev.price * market.lot_tick_atoms
            fee += ev.taker_fee
    if not lots:
        raise ApiError(400, "INVALID_ORDER", f"Nothing on the {market.symbol} book to convert against")
    base_atoms = lots * market.lot_atoms
    spent, received = (base_atoms, quote) if market.base == source.symbol else (quote, base_atoms)
    return {
        "fromSymbol": source.symbol,
        "toSymbol": target.symbol,
        "fromQuantity": format_atoms(spent, source.decimals),
        "toQuantity": format_atoms(received - fee, target.decimals),
        "fee": format_atoms(fee, target.decimals),
        "feeSymbol": target.symbol,
        "symbol": market.symbol,
        "orderId": placed["id"],
    }
