"""Order payloads in and Backpack ``Order`` objects out."""

from __future__ import annotations

from typing import Any, cast

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.routes.common import bool_param
from rucksack.exchange.api.wire import MarketWire, Wire, iso_ms
from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.enums import STP_NAMES, TIF_NAMES, OrderStatus
from rucksack.exchange.core.events import (
    BorrowLendExecuted,
    Event,
    InterestPaid,
    OrderAccepted,
    OrderClosed,
    OrderRejected,
    TradeExecuted,
    TriggerAccepted,
    TriggerFired,
)
from rucksack.exchange.core.orders.triggers import Trigger

SIDES = ("Bid", "Ask")
ORDER_TYPES = ("Limit", "Market")
TIFS = ("GTC", "IOC", "FOK")
STPS = ("RejectTaker", "RejectMaker", "RejectBoth", "Allow")
UNSUPPORTED_YET = ("autoLend",)
TRIGGER_BY = ("MarkPrice", "LastPrice", "IndexPrice")


def _trigger_by(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if value is None:
        return ""
    if value not in TRIGGER_BY:
        raise bad_request(f"{key} must be MarkPrice, LastPrice or IndexPrice", "INVALID_ORDER")
    return str(value)


def _opt_price(mw: MarketWire, params: dict[str, Any], key: str) -> int:
    value = params.get(key)
    return mw.parse_price(value) if value is not None else 0


def parse_client_id(value: Any, field: str = "clientId") -> int:
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise bad_request(f"{field} must be an unsigned 32-bit integer")
    number = int(value) if len(value) <= 12 else 1 << 40
    if number >= 1 << 32:
        raise bad_request(f"{field} must be an unsigned 32-bit integer")
    return number


def parse_order_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise bad_request("orderId must be a numeric string")
    if len(value) > 18:
        raise ApiError(404, "RESOURCE_NOT_FOUND", "Order not found")
    return int(value)


def parse_place(wire: Wire, account: int, params: Any) -> PlaceOrder:
    """Validate one ``OrderExecutePayload`` into a core command (shape errors only; rules are the core's)."""
    if not isinstance(params, dict):
        raise bad_request("an order must be a JSON object")
    mw = wire.market(params.get("symbol"))
    side = params.get("side")
    if side not in SIDES:
        raise bad_request("side must be Bid or Ask")
    order_type = params.get("orderType")
    if order_type not in ORDER_TYPES:
        raise bad_request("orderType must be Limit or Market", "INVALID_ORDER")
    for key in UNSUPPORTED_YET:
        if params.get(key) not in (None, False):
            raise ApiError(400, "INVALID_ORDER", f"{key} is not supported yet")
    is_perp = mw.spec.market_type == "PERP"
    reduce_only = bool_param(params, "reduceOnly")
    if reduce_only and not is_perp:
        raise ApiError(400, "INVALID_ORDER", "reduceOnly applies to futures markets only")
    tif = params.get("timeInForce", "GTC" if order_type == "Limit" else "IOC")
    if tif not in TIFS:
        raise bad_request("timeInForce must be GTC, IOC or FOK")
    stp = params.get("selfTradePrevention", "RejectTaker")
    if stp not in STPS:
        raise bad_request("selfTradePrevention must be RejectTaker, RejectMaker or RejectBoth")
    post_only = bool_param(params, "postOnly")
    quantity, quote_qty, price = params.get("quantity"), params.get("quoteQuantity"), params.get("price")
    trigger_price = _opt_price(mw, params, "triggerPrice")
    trigger_qty = params.get("triggerQuantity")
    if trigger_price:
        # ccxt sends triggerQuantity instead of quantity; the sdk may send both (equal)
        if trigger_qty is None and quantity is None:
            raise ApiError(
                400, "INVALID_CLIENT_REQUEST", "Must specify both `triggerPrice` and `triggerQuantity` or neither"
            )
        if trigger_qty is not None:
            if quantity is not None and mw.parse_qty(quantity) != mw.parse_qty(trigger_qty):
                raise ApiError(400, "INVALID_ORDER", "quantity and triggerQuantity differ")
            quantity = trigger_qty
        if quote_qty is not None:
            raise ApiError(400, "INVALID_ORDER", "Trigger orders are sized in quantity")
    elif trigger_qty is not None:
        raise ApiError(
            400, "INVALID_CLIENT_REQUEST", "Must specify both `triggerPrice` and `triggerQuantity` or neither"
        )
    trigger_by = _trigger_by(params, "triggerBy" if params.get("triggerBy") is not None else "triggeredBy")
    tp, tp_limit = _opt_price(mw, params, "takeProfitTriggerPrice"), _opt_price(mw, params, "takeProfitLimitPrice")
    sl, sl_limit = _opt_price(mw, params, "stopLossTriggerPrice"), _opt_price(mw, params, "stopLossLimitPrice")
    tp_by, sl_by = _trigger_by(params, "takeProfitTriggerBy"), _trigger_by(params, "stopLossTriggerBy")
    if ((tp_limit or tp_by) and not tp) or ((sl_limit or sl_by) and not sl):
        raise ApiError(400, "INVALID_ORDER", "a take-profit/stop-loss limit or trigger-by needs its trigger price")
    if (tp or sl) and not is_perp:
        raise ApiError(400, "INVALID_ORDER", "take-profit and stop-loss apply to futures markets only")
    # spot margin flags; futures orders are margined anyway, so Backpack ignores them there
    auto_borrow = bool_param(params, "autoBorrow") and not is_perp
    auto_borrow_repay = bool_param(params, "autoBorrowRepay") and not is_perp
    auto_lend_redeem = bool_param(params, "autoLendRedeem") and not is_perp
    lots = mw.parse_qty(quantity) if quantity is not None else 0
    if order_type == "Limit":
        if price is None or quantity is None:
            raise ApiError(400, "INVALID_ORDER", "Limit orders need price and quantity")
        if quote_qty is not None:
            raise ApiError(400, "INVALID_ORDER", "quoteQuantity applies to market orders only")
        ticks = mw.parse_price(price)
        quote_atoms = 0
    else:
        if price is not None:
            raise ApiError(400, "INVALID_ORDER", "Market orders take no price")
        if (quantity is None) == (quote_qty is None):
            raise ApiError(400, "INVALID_ORDER", "Market orders need exactly one of quantity or quoteQuantity")
        if is_perp and quote_qty is not None:
            raise ApiError(400, "INVALID_ORDER", "Perpetual orders are sized in quantity, not quoteQuantity")
        ticks = 0
        quote_atoms = mw.parse_quote(quote_qty) if quote_qty is not None else 0
        if tif == "GTC":
            tif = "IOC"
    return PlaceOrder(
        account,
        mw.symbol,
        side,
        order_type,
        lots=lots,
        price=ticks,
        quote_atoms=quote_atoms,
        tif=tif,
        post_only=post_only,
        stp=stp,
        client_id=parse_client_id(params.get("clientId")),
        reduce_only=reduce_only,
        auto_borrow=auto_borrow,
        auto_borrow_repay=auto_borrow_repay,
        auto_lend_redeem=auto_lend_redeem,
        trigger_price=trigger_price,
        trigger_by=trigger_by,
        take_profit_price=tp,
        take_profit_limit=tp_limit,
        take_profit_by=tp_by,
        stop_loss_price=sl,
        stop_loss_limit=sl_limit,
        stop_loss_by=sl_by,
    )


def _default_by(mw: MarketWire, by: str) -> str:
    return by or ("MarkPrice" if mw.spec.market_type == "PERP" else "LastPrice")


def trigger_fields(mw: MarketWire, c: PlaceOrder | None, triggered_us: int = 0) -> dict[str, Any]:
    """The Order object's trigger and TP/SL fields for command ``c`` (all null without one)."""
    if c is None or not (c.trigger_price or c.take_profit_price or c.stop_loss_price or triggered_us):
        return dict(_NO_TRIGGER_FIELDS)  # the common case: nothing to render
    return _trigger_fields(mw, c, triggered_us)


def _trigger_fields(mw: MarketWire, c: PlaceOrder, triggered_us: int) -> dict[str, Any]:
    tp, sl = c.take_profit_price, c.stop_loss_price
    return {
        "stopLossLimitPrice": mw.price(c.stop_loss_limit) if sl and c.stop_loss_limit else None,
        "stopLossTriggerBy": _default_by(mw, c.stop_loss_by) if sl else None,
        "stopLossTriggerPrice": mw.price(sl) if sl else None,
        "takeProfitLimitPrice": mw.price(c.take_profit_limit) if tp and c.take_profit_limit else None,
        "takeProfitTriggerBy": _default_by(mw, c.take_profit_by) if tp else None,
        "takeProfitTriggerPrice": mw.price(tp) if tp else None,
        "triggerBy": _default_by(mw, c.trigger_by) if c.trigger_price else None,
        "triggerPrice": mw.price(c.trigger_price) if c.trigger_price else None,
        "triggerQuantity": mw.qty(c.lots) if c.trigger_price else None,
        "triggeredAt": triggered_us // 1000 if triggered_us else None,
    }


# every field null, in order (a command with no trigger, TP or SL renders no price: no market needed)
_NO_TRIGGER_FIELDS = _trigger_fields(cast(MarketWire, None), PlaceOrder(0, "", "Bid", "Limit"), 0)


def order_json(
    mw: MarketWire,
    *,
    order_id: int,
    order_type: str,
    side: str,
    price: int,
    lots: int,
    quote_atoms: int,
    tif: str,
    post_only: bool,
    stp: str,
    client_id: int,
    created_us: int,
    status: str,
    filled_lots: int,
    filled_quote: int,
    reduce_only: bool = False,
    command: PlaceOrder | None = None,
    triggered_us: int = 0,
    related_order_id: int = -1,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "orderType": order_type,
        "id": str(order_id),
        "clientId": client_id if client_id >= 0 else None,
        "createdAt": created_us // 1000,
        "executedQuantity": mw.qty(filled_lots),
        "executedQuoteQuantity": mw.quote_amount(filled_quote),
    }
    if order_type == "Limit":
        out["postOnly"] = post_only
        out["price"] = mw.price(price)
        out["quantity"] = mw.qty(lots)
    else:
        out["quantity"] = mw.qty(lots) if lots else None
        out["quoteQuantity"] = mw.quote_amount(quote_atoms) if quote_atoms else None
        out["slippageTolerance"] = None
        out["slippageToleranceType"] = None
    out.update(
        {
            "reduceOnly": reduce_only if mw.spec.market_type == "PERP" else None,
            "relatedOrderId": str(related_order_id) if related_order_id >= 0 else None,
            "selfTradePrevention": stp,
            "side": side,
            "status": status,
            "strategyId": None,
            "symbol": mw.symbol,
            "timeInForce": tif,
        }
    )
    out.update(trigger_fields(mw, command, triggered_us))
    return out


def resting_order_json(wire: Wire, symbol: str, o: Order, command: PlaceOrder | None = None) -> dict[str, Any]:
    return order_json(
        wire.markets[symbol],
        order_id=o.id,
        order_type="Limit",
        side=SIDES[o.side],
        price=o.price,
        lots=o.orig_lots,
        quote_atoms=0,
        tif=TIF_NAMES[o.tif],
        post_only=o.post_only,
        stp=STP_NAMES[o.stp],
        client_id=o.client_id,
        created_us=o.ts_us,
        status=OrderStatus.PARTIALLY_FILLED if o.filled_lots else OrderStatus.NEW,
        filled_lots=o.filled_lots,
        filled_quote=o.filled_quote,
        reduce_only=o.reduce_only,
        command=command,
    )


def trigger_order_json(wire: Wire, t: Trigger) -> dict[str, Any]:
    """A pending trigger order (``TriggerPending``); a TP/SL names its parent in ``relatedOrderId``."""
    c = t.order
    return command_order_json(
        wire.markets[c.market],
        c,
        order_id=t.id,
        quote_atoms=0,
        created_us=t.ts_us,
        status=OrderStatus.TRIGGER_PENDING,
        filled_lots=0,
        filled_quote=0,
        related_order_id=t.parent_id,
    )


def command_order_json(
    mw: MarketWire,
    c: PlaceOrder,
    *,
    order_id: int,
    quote_atoms: int,
    created_us: int,
    status: str,
    filled_lots: int,
    filled_quote: int,
    related_order_id: int = -1,
) -> dict[str, Any]:
    """:func:`order_json` of an order as its ``PlaceOrder`` command placed it."""
    return order_json(
        mw,
        order_id=order_id,
        order_type=c.order_type,
        side=c.side,
        price=c.price,
        lots=c.lots,
        quote_atoms=quote_atoms,
        tif=c.tif,
        post_only=c.post_only,
        stp=c.stp,
        client_id=c.client_id,
        created_us=created_us,
        status=status,
        filled_lots=filled_lots,
        filled_quote=filled_quote,
        reduce_only=c.reduce_only,
        command=c,
        related_order_id=related_order_id,
    )


def placed_order_json(wire: Wire, events: list[Event], start: int = 0) -> tuple[dict[str, Any], int]:
    """The taker's ``Order`` from the events of one placement beginning at ``events[start]``.

    Returns the JSON and the index just past this placement's events. Raises the mapped
    :class:`ApiError` when the order was rejected.
    """
    while isinstance(events[start], (BorrowLendExecuted, InterestPaid)):  # spot margin funds the hold first
        start += 1
    first = events[start]
    if isinstance(first, OrderRejected):
        raise from_reason(first.reason)
    assert isinstance(first, (OrderAccepted, TriggerAccepted))
    c = first.order
    mw = wire.markets[c.market]
    filled_lots = filled_quote = 0
    status = OrderStatus.NEW if isinstance(first, OrderAccepted) else OrderStatus.TRIGGER_PENDING
    end = start + 1
    while end < len(events) and not _starts_placement(events[end]):
        ev = events[end]
        if isinstance(ev, OrderClosed) and ev.order_id == first.order_id:
            status, filled_lots, filled_quote = ev.status, ev.filled_lots, ev.filled_quote_atoms
        elif isinstance(ev, TradeExecuted) and ev.taker_order_id == first.order_id and status == OrderStatus.NEW:
            filled_lots += ev.lots
            filled_quote += ev.lots * ev.price * mw.spec.lot_tick_atoms
        end += 1
    if status == OrderStatus.NEW and filled_lots:
        status = OrderStatus.PARTIALLY_FILLED
    return command_order_json(
        mw,
        c,
        order_id=first.order_id,
        quote_atoms=c.quote_atoms,
        created_us=first.ts_us,
        status=status,
        filled_lots=filled_lots,
        filled_quote=filled_quote,
    ), end


def _starts_placement(ev: Event) -> bool:
    """The first event of a placement: TP/SL triggers created inside one do not start one."""
    if isinstance(ev, TriggerAccepted):
        return ev.parent_id < 0
    return isinstance(ev, (OrderAccepted, OrderRejected, TriggerFired))


def history_order_json(wire: Wire, row: dict[str, Any]) -> dict[str, Any]:
    mw = wire.markets[row["market"]]
    limit = row["order_type"] == "Limit"
    return {
        "id": str(row["id"]),
        "createdAt": iso_ms(row["created_us"]),
        "executedQuantity": mw.qty(row["filled_lots"]),
        "executedQuoteQuantity": mw.quote_amount(row["filled_quote"]),
        # Backpack's OrderExpiryReason belongs to expired orders only (a cancel has none)
        "expiryReason": (row["expiry_reason"] or None) if row["status"] == OrderStatus.EXPIRED else None,
        "orderType": row["order_type"],
        "postOnly": bool(row["post_only"]) if limit else None,
        "price": mw.price(row["price"]) if limit else None,
        "quantity": mw.qty(row["lots"]) if row["lots"] else None,
        "quoteQuantity": mw.quote_amount(row["quote_atoms"]) if row["quote_atoms"] else None,
        "selfTradePrevention": row["stp"],
        "status": row["status"],
        "side": row["side"],
        "stopLossTriggerPrice": None,
        "stopLossLimitPrice": None,
        "stopLossTriggerBy": None,
        "symbol": row["market"],
        "takeProfitTriggerPrice": None,
        "takeProfitLimitPrice": None,
        "takeProfitTriggerBy": None,
        "timeInForce": row["tif"],
        "triggerBy": None,
        "triggerPrice": None,
        "triggerQuantity": None,
        "clientId": row["client_id"] if row["client_id"] >= 0 else None,
        "systemOrderType": None,
        "strategyId": None,
        "slippageTolerance": None,
        "slippageToleranceType": None,
    }
