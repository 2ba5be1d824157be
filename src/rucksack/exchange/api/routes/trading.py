"""Orders: execute (single and batch), query, cancel, open orders, order and fill history (private)."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason, not_found
from rucksack.exchange.api.orders import (
    history_order_json,
    parse_client_id,
    parse_order_id,
    parse_place,
    placed_order_json,
    resting_order_json,
    trigger_order_json,
)
from rucksack.exchange.api.routes.common import (
    TIME_MS_MAX,
    int_param,
    page_params,
)
from rucksack.exchange.api.routes.strategies import parse_strategy_id
from rucksack.exchange.api.wire import format_atoms, iso_ms
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    CancelAllOrders,
    CancelOrder,
    PlaceOrders,
)
from rucksack.exchange.core.events import CancelRejected, OrderClosed
from rucksack.exchange.core.markets import MAX_BATCH
from rucksack.exchange.service import ExchangeService
from rucksack.exchange.store.fill_types import ADL, BACKSTOP, FILL_TYPE_QUERIES, SYSTEM_ORDER_TYPES


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
        found: int | None = parse_order_id(order_id)
    else:
        found = queries.order_id_for_client(engine, account, parse_client_id(client_id))
    order = queries.open_order(engine, found) if found is not None else None
    trigger = queries.pending_trigger(engine, found) if order is None and found is not None else None
    if trigger is not None and trigger.account == account and trigger.order.market == mw.symbol:
        return trigger.id, trigger_order_json(service.wire, trigger)
    if order is None or order.account != account or queries.market_at(engine, order.market).symbol != mw.symbol:
        raise not_found("Order not found")
    return order.id, resting_order_json(service.wire, mw.symbol, order, queries.attached_tpsl(engine, order.id))


async def order_query(service: ExchangeService, account: int, params: Any) -> Any:
    return _find_open(service, account, params)[1]


async def order_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    order_id, snapshot = _find_open(service, account, params)
    events = await service.submit(CancelOrder(account, snapshot["symbol"], order_id=order_id))
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
    engine = service.engine
    for order in service.open_orders(account):  # oldest first, stable across restarts
        m = queries.market_at(engine, order.market)
        if (symbol is None or m.symbol == symbol) and market_type in (None, m.spec.market_type):
            out.append(resting_order_json(service.wire, m.symbol, order, queries.attached_tpsl(engine, order.id)))
    for trigger in queries.pending_triggers(engine, account):  # then pending trigger orders, by id
        m = queries.market_at(engine, trigger.market)
        if symbol in (None, m.symbol) and market_type in (None, m.spec.market_type):
            out.append(trigger_order_json(service.wire, trigger))
    return out


async def orders_cancel(service: ExchangeService, account: int, params: Any) -> Any:
    mw = service.wire.market(params.get("symbol"))
    kind = params.get("orderType")
    if kind not in (None, "RestingLimitOrder", "ConditionalOrder"):
        raise bad_request("orderType must be RestingLimitOrder or ConditionalOrder")
    engine = service.engine
    state = queries.market(engine, mw.symbol)
    triggers = {
        t.id: trigger_order_json(service.wire, t)
        for t in queries.pending_triggers(engine, account)
        if t.market == state.index
    }
    if kind is not None:
        # one kind only: cancel those orders one by one (CancelAllOrders takes both)
        chosen = (
            triggers
            if kind == "ConditionalOrder"
            else {o.id: None for o in service.open_orders(account) if o.market == state.index}
        )
        out = []
        for order_id in chosen:
            try:
                _, snapshot = _find_open(service, account, {"symbol": mw.symbol, "orderId": str(order_id)})
            except ApiError:
                continue
            events = await service.submit(CancelOrder(account, mw.symbol, order_id=order_id))
            for ev in events:
                if isinstance(ev, OrderClosed) and ev.order_id == order_id:
                    snapshot["status"] = ev.status
                    out.append(snapshot)
        return out
    before = {
        o.id: resting_order_json(service.wire, mw.symbol, o, queries.attached_tpsl(engine, o.id))
        for o in service.open_orders(account)
        if o.market == state.index
    }
    before.update(triggers)
    events = await service.submit(CancelAllOrders(account, mw.symbol))
    out = []
    for ev in events:
        if isinstance(ev, OrderClosed) and ev.order_id in before:
            order = before[ev.order_id]
            order["status"] = ev.status
            out.append(order)
    return out


async def order_history(service: ExchangeService, account: int, params: Any) -> Any:
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    order_id = parse_order_id(params["orderId"]) if params.get("orderId") is not None else None
    limit, offset, ascending = page_params(params)
    rows = await service.store.order_history(
        account,
        symbol=symbol,
        order_id=order_id,
        limit=limit,
        offset=offset,
        ascending=ascending,
        order_ids=strategy_orders(service, params),
    )
    out = []
    for r in rows:
        order = history_order_json(service.wire, r)
        strategy_id = queries.strategy_of_order(service.engine, r["id"])
        order["strategyId"] = str(strategy_id) if strategy_id >= 0 else None
        out.append(order)
    return out


def strategy_orders(service: ExchangeService, params: Any) -> list[int] | None:
    """The order ids of the ``strategyId`` filter (its slices, ascending), None without one."""
    if params.get("strategyId") is None:
        return None
    strategy_id = parse_strategy_id(params["strategyId"])
    return sorted(
        oid for oid, sid in queries.strategy_book(service.engine).order_strategy.items() if sid == strategy_id
    )


async def fill_history(service: ExchangeService, account: int, params: Any) -> Any:
    symbol = params.get("symbol")
    if symbol is not None:
        service.wire.market(symbol)
    fill_type = params.get("fillType")
    if fill_type is not None and fill_type not in FILL_TYPE_QUERIES:
        raise bad_request("unknown fillType")
    order_id = parse_order_id(params["orderId"]) if params.get("orderId") is not None else None
    limit, offset, ascending = page_params(params)
    from_ms = int_param(params, "from", -1, hi=TIME_MS_MAX)
    to_ms = int_param(params, "to", -1, hi=TIME_MS_MAX)
    rows = await service.store.fills(
        account,
        symbol=symbol,
        order_id=order_id,
        from_us=from_ms * 1000 if from_ms >= 0 else None,
        to_us=to_ms * 1000 if to_ms >= 0 else None,
        limit=limit,
        offset=offset,
        ascending=ascending,
        order_ids=strategy_orders(service, params),
        fill_type=fill_type,
    )
    out = []
    for r in rows:
        mw = service.wire.markets[r["market"]]
        transfer = r["fill_type"] in (BACKSTOP, ADL)  # a position transfer: no order
        strategy_id = queries.strategy_of_order(service.engine, r["order_id"])
        fee_asset = service.wire.assets[r["fee_asset"]]
        out.append(
            {
                "clientId": str(r["client_id"]) if r["client_id"] >= 0 else None,
                "fee": format_atoms(r["fee"], fee_asset.decimals),
                "feeSymbol": r["fee_asset"],
                "isMaker": bool(r["is_maker"]),
                "orderId": None if transfer else str(r["order_id"]),
                "price": mw.price(r["price"]),
                "quantity": mw.qty(r["lots"]),
                "side": r["side"],
                "strategyId": str(strategy_id) if strategy_id >= 0 else None,  # Rucksack: the slice's strategy
                "symbol": r["market"],
                "systemOrderType": SYSTEM_ORDER_TYPES[r["fill_type"]],
                "timestamp": iso_ms(r["ts_us"]),
                "tradeId": r["trade_id"],
            }
        )
    return out
