"""Trigger orders: standalone conditional orders and attached take-profit / stop-loss (§9).

- **Standalone**: a ``PlaceOrder`` with ``trigger_price`` > 0 waits as ``TriggerPending`` (no
  hold, no margin reserved) until its reference price (``trigger_by``: ``MarkPrice``,
  ``LastPrice`` or ``IndexPrice``; by default the mark on perps and the last trade on spot)
  reaches the trigger price. The direction is fixed at placement: a trigger price at or above
  the reference fires when the reference rises to it, one below when it falls to it. When it
  fires, the order (market, or limit at ``price``) goes through the normal placement path
  under the same order id, so every margin and validity check applies; a placement the engine
  refuses closes the order as ``TriggerFailed`` with the refusal's reason.
- **Attached TP/SL** (perps): an order with ``take_profit_price`` and/or ``stop_loss_price``;
  whenever it fills (as taker at placement or later as a maker), a reduce-only trigger order
  for the filled lots is created on the opposite side for each: limit at ``*_limit`` when set,
  else market. For a long (a filled bid) the take-profit fires when the price rises to it and
  the stop-loss when it falls to it; for a short the other way round. A child whose reference
  has already reached its trigger price when it is created (the parent filled beyond its own
  stop, e.g. a bid with a stop-loss above the ask it took) is not armed: it closes at once as
  ``TriggerFailed`` with ``TriggerAlreadyCrossed``. Firing it would place an order inside the
  parent's command that no pre-trade check covered: a reduce-only market order walking a thin
  book can realise a loss that leaves the account below its initial margin, or bankrupt, in
  one command of its own (the margin rule: an accepted order leaves available equity >= 0
  unless it did not raise exposure).
- A pending reduce-only trigger whose position is gone (or has flipped) expires with
  ``StopWithoutPosition``; a liquidating account's triggers are cancelled (``Liquidation``).
- Cancel with ``CancelOrder`` (by id or client id) or ``CancelAllOrders``.

Checks run after every command while any trigger or TP/SL parent exists (orders without
triggers cost nothing else): process the command's fills of TP/SL parents, drop stale
triggers, then fire the due trigger with the lowest (market index, trigger price, order id),
repeatedly, re-reading prices after each firing since its trades may move the last price.
All iteration is over sorted ids, so replay is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rucksack.exchange.core.commands import CancelOrder, PlaceOrder
from rucksack.exchange.core.enums import OrderStatus, Reason, Side
from rucksack.exchange.core.events import (
    OrderAccepted,
    OrderClosed,
    OrderRejected,
    TradeExecuted,
    TriggerAccepted,
    TriggerFired,
)
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.orders import placement

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

BY_MARK: Final = 0
BY_LAST: Final = 1
BY_INDEX: Final = 2
BY_NAMES: Final = ("MarkPrice", "LastPrice", "IndexPrice")
STOP_WITHOUT_POSITION: Final = "StopWithoutPosition"
ALREADY_CROSSED: Final = "TriggerAlreadyCrossed"  # an attached TP/SL due when created
_MAX_TICKS: Final = (1 << 60) - 1


class Trigger:
    """One pending trigger order; ``order`` is placed (under ``id``) when it fires."""

    __slots__ = ("above", "account", "by", "client_id", "id", "market", "order", "parent_id", "price", "ts_us")

    def __init__(
        self, order_id: int, order: PlaceOrder, market: int, by: int, above: bool, ts_us: int, parent_id: int
    ) -> None:
        self.id = order_id
        self.order = order
        self.account = order.account
        self.client_id = order.client_id
        self.market = market
        self.price = order.trigger_price
        self.by = by
        self.above = above  # fires when the reference >= price (else <= price)
        self.ts_us = ts_us
        self.parent_id = parent_id  # the order a TP/SL belongs to, -1 for a standalone trigger


def by_code(name: str, is_perp: bool) -> int:
    if name == "":
        return BY_MARK if is_perp else BY_LAST
    if name == "MarkPrice":
        return BY_MARK
    if name == "LastPrice":
        return BY_LAST
    if name == "IndexPrice":
        return BY_INDEX
    return -1


def reference(m: MarketState, by: int) -> int:
    """The current reference price (ticks) of ``by`` in ``m``; 0 while unknown."""
    if by == BY_MARK:
        return m.mark
    if by == BY_INDEX:
        return m.index_price
    return m.last_price


def count_for(engine: ExchangeState, account: int) -> int:
    """Pending trigger orders of ``account`` (Backpack's ``triggerOrders``)."""
    return sum(1 for t in engine.triggers.values() if t.account == account)


# ---------------------------------------------------------------------- placement


def place(engine: ExchangeState, c: PlaceOrder, ts_us: int) -> None:
    """Place an order carrying trigger or TP/SL fields (the engine routes only those here)."""
    m = engine.market_by_symbol.get(c.market)
    reason = ""
    if m is None:
        reason = Reason.UNKNOWN_MARKET
    elif not m.trading:
        reason = Reason.MARKET_CLOSED
    elif c.take_profit_price or c.stop_loss_price:
        reason = _check_tpsl(m, c)
    if reason or m is None:
        engine.events.append(OrderRejected(c.account, c.market, c.client_id, reason))
        return
    if c.trigger_price:
        _place_trigger(engine, m, c, ts_us)
        return
    start = len(engine.events)
    placement.place(engine, c, ts_us)
    _after_parent(engine, c, start, ts_us)


def _check_tpsl(m: MarketState, c: PlaceOrder) -> str:
    if not m.is_perp:
        return Reason.INVALID_ORDER  # take-profit / stop-loss attach to futures orders
    ref = c.price if c.order_type == "Limit" else (c.trigger_price or m.mark)
    buy = c.side == "Bid"
    for price, limit, by in (
        (c.take_profit_price, c.take_profit_limit, c.take_profit_by),
        (c.stop_loss_price, c.stop_loss_limit, c.stop_loss_by),
    ):
        if not price and (limit or by):
            return Reason.INVALID_ORDER
        if price and by_code(by, True) < 0:
            return Reason.INVALID_ORDER
        top = m.max_price or _MAX_TICKS  # the market's bound (core.markets, "Representable bounds")
        if price < 0 or price > top or limit < 0 or limit > top:
            return Reason.INVALID_PRICE
    tp, sl = c.take_profit_price, c.stop_loss_price
    if ref > 0:
        # a long's take-profit is above its entry and its stop-loss below; a short's the reverse
        if tp and (tp <= ref if buy else tp >= ref):
            return Reason.INVALID_PRICE
        if sl and (sl >= ref if buy else sl <= ref):
            return Reason.INVALID_PRICE
    return ""


def _place_trigger(engine: ExchangeState, m: MarketState, c: PlaceOrder, ts_us: int) -> None:
    events = engine.events
    by = by_code(c.trigger_by, m.is_perp)
    reason = ""
    if by < 0 or c.side not in ("Bid", "Ask") or c.order_type not in ("Limit", "Market"):
        reason = Reason.INVALID_ORDER
    elif c.trigger_price < 0 or c.trigger_price > (m.max_price or _MAX_TICKS):
        reason = Reason.INVALID_PRICE
    elif c.lots <= 0 or c.quote_atoms or (m.max_lots and c.lots > m.max_lots):
        reason = Reason.INVALID_QUANTITY  # trigger orders are sized in base quantity, within the market's bound
    elif (c.order_type == "Limit") != (c.price > 0):
        reason = Reason.INVALID_PRICE if c.order_type == "Limit" else Reason.INVALID_ORDER
    elif c.reduce_only and not m.is_perp:
        reason = Reason.INVALID_ORDER
    ref = reference(m, by)
    acct = engine.ledger.accounts.get(c.account)
    if not reason:
        if not ref:
            reason = Reason.NO_MARK_PRICE
        elif acct is None or engine.owner(c.account) < 0:
            reason = Reason.UNKNOWN_ACCOUNT
        elif acct.liquidating:
            reason = Reason.ACCOUNT_LIQUIDATING
    key = -1
    if not reason and c.client_id != -1:
        if c.client_id < 0 or c.client_id >= 1 << 32:
            reason = Reason.INVALID_ORDER
        else:
            key = (c.account << 32) | c.client_id
            if key in engine.client_orders:
                reason = Reason.DUPLICATE_CLIENT_ID
    if reason:
        events.append(OrderRejected(c.account, c.market, c.client_id, reason))
        return
    order_id = engine.next_order_id
    engine.next_order_id = order_id + 1
    if key >= 0:
        engine.client_orders[key] = order_id
    engine.triggers[order_id] = Trigger(
        order_id=order_id, order=c, market=m.index, by=by, above=c.trigger_price >= ref, ts_us=ts_us, parent_id=-1
    )
    events.append(TriggerAccepted(order_id, ts_us, c))


def _after_parent(engine: ExchangeState, c: PlaceOrder, start: int, ts_us: int) -> None:
    """After placing TP/SL parent ``c`` (its events begin at ``start``): attach TP/SL for what it
    filled as taker, and remember it while it rests."""
    events = engine.events
    if start >= len(events):
        return
    first = events[start]
    if not isinstance(first, OrderAccepted):
        return
    order_id = first.order_id
    filled = 0
    closed = False
    for ev in events[start + 1 :]:
        if isinstance(ev, TradeExecuted) and ev.taker_order_id == order_id:
            filled += ev.lots
        elif isinstance(ev, OrderClosed) and ev.order_id == order_id:
            closed = True
    if filled:
        _attach(engine, order_id, c, filled, ts_us)
    if not closed:
        engine.tpsl[order_id] = c


def _attach(engine: ExchangeState, parent_id: int, c: PlaceOrder, lots: int, ts_us: int) -> None:
    m = engine.market_by_symbol[c.market]
    long = c.side == "Bid"
    side: Side = "Ask" if long else "Bid"
    for price, limit, by_name, take_profit in (
        (c.take_profit_price, c.take_profit_limit, c.take_profit_by, True),
        (c.stop_loss_price, c.stop_loss_limit, c.stop_loss_by, False),
    ):
        if not price:
            continue
        by = by_code(by_name, True)
        order = PlaceOrder(
            c.account,
            c.market,
            side,
            "Limit" if limit else "Market",
            lots=lots,
            price=limit,
            tif="GTC" if limit else "IOC",
            stp=c.stp,
            reduce_only=True,
            trigger_price=price,
            trigger_by=BY_NAMES[by],
        )
        order_id = engine.next_order_id
        engine.next_order_id = order_id + 1
        t = Trigger(
            order_id=order_id,
            order=order,
            market=m.index,
            by=by,
            above=take_profit == long,
            ts_us=ts_us,
            parent_id=parent_id,
        )
        engine.events.append(TriggerAccepted(order_id, ts_us, order, parent_id))
        if _is_due(m, t):
            engine.events.append(
                OrderClosed(order_id, c.account, m.symbol, OrderStatus.TRIGGER_FAILED, ALREADY_CROSSED, 0, 0)
            )
        else:
            engine.triggers[order_id] = t


# ---------------------------------------------------------------------- cancel


def _close(engine: ExchangeState, t: Trigger, status: str, reason: str) -> None:
    del engine.triggers[t.id]
    if t.client_id != -1:
        engine.client_orders.pop((t.account << 32) | t.client_id, None)
    engine.events.append(OrderClosed(t.id, t.account, engine.markets[t.market].symbol, status, reason, 0, 0))


def cancel(engine: ExchangeState, c: CancelOrder, order_id: int) -> bool:
    """Cancel pending trigger ``order_id`` for ``c``; False when it is not one of c's."""
    t = engine.triggers.get(order_id)
    if t is None or t.account != c.account or engine.markets[t.market].symbol != c.market:
        return False
    _close(engine, t, OrderStatus.CANCELLED, Reason.USER_CANCELLED)
    return True


def cancel_all(engine: ExchangeState, account: int, market: int) -> None:
    for order_id in sorted(engine.triggers):
        t = engine.triggers[order_id]
        if t.account == account and t.market == market:
            _close(engine, t, OrderStatus.CANCELLED, Reason.USER_CANCELLED)


def cancel_market_triggers(engine: ExchangeState, market: int, reason: str) -> int:
    """Cancel every pending trigger of ``market`` (a delisting or a halt that cancels); how many."""
    mine = [order_id for order_id in sorted(engine.triggers) if engine.triggers[order_id].market == market]
    for order_id in mine:
        _close(engine, engine.triggers[order_id], OrderStatus.CANCELLED, reason)
    return len(mine)


# ---------------------------------------------------------------------- checks


def after_command(engine: ExchangeState, ts_us: int) -> None:
    """Run after every command while triggers or TP/SL parents exist (see the module docstring)."""
    scanned = 0
    while True:
        if engine.tpsl:
            scanned = _scan_parents(engine, scanned, ts_us)
        if not engine.triggers:
            return
        _drop_stale(engine)
        due = _next_due(engine)
        if due is None:
            return
        _fire(engine, due, ts_us)


def _scan_parents(engine: ExchangeState, start: int, ts_us: int) -> int:
    """Attach TP/SL for maker fills of resting parents in ``events[start:]``; forget closed ones."""
    events = engine.events
    end = len(events)
    parents = engine.tpsl
    filled: dict[int, int] = {}
    closed: list[int] = []
    for i in range(start, end):
        ev = events[i]
        if isinstance(ev, TradeExecuted):
            if ev.maker_order_id in parents and ev.maker_order_id != ev.taker_order_id:
                filled[ev.maker_order_id] = filled.get(ev.maker_order_id, 0) + ev.lots
        elif isinstance(ev, OrderClosed) and ev.order_id in parents:
            closed.append(ev.order_id)
    for parent_id, lots in filled.items():
        _attach(engine, parent_id, parents[parent_id], lots, ts_us)
    for parent_id in closed:
        del parents[parent_id]
    return end


def _drop_stale(engine: ExchangeState) -> None:
    accounts = engine.ledger.accounts
    for order_id in sorted(engine.triggers):
        t = engine.triggers[order_id]
        acct = accounts[t.account]
        if acct.liquidating:
            _close(engine, t, OrderStatus.CANCELLED, Reason.LIQUIDATION)
        elif t.order.reduce_only:
            pos = acct.positions.get(t.market)
            lots = pos.lots if pos is not None else 0
            if lots == 0 or (lots > 0) == (t.order.side == "Bid"):
                _close(engine, t, OrderStatus.EXPIRED, STOP_WITHOUT_POSITION)


def _next_due(engine: ExchangeState) -> Trigger | None:
    best: Trigger | None = None
    markets = engine.markets
    status = engine.market_status.status
    for t in engine.triggers.values():
        if status[t.market] != "Open" or not _is_due(markets[t.market], t):  # a halt holds triggers
            continue
        if best is None or (t.market, t.price, t.id) < (best.market, best.price, best.id):
            best = t
    return best


def _is_due(m: MarketState, t: Trigger) -> bool:
    """Whether ``t``'s reference price is known and has reached its trigger price."""
    ref = reference(m, t.by)
    return ref > 0 and (ref >= t.price if t.above else ref <= t.price)


def _fire(engine: ExchangeState, t: Trigger, ts_us: int) -> None:
    m = engine.markets[t.market]
    del engine.triggers[t.id]
    if t.client_id != -1:
        engine.client_orders.pop((t.account << 32) | t.client_id, None)
    events = engine.events
    events.append(TriggerFired(t.id, t.account, m.symbol, reference(m, t.by), ts_us))
    start = len(events)
    placement.place(engine, t.order, ts_us, reuse_id=t.id)
    first = events[start]
    if isinstance(first, OrderRejected):
        events.append(OrderClosed(t.id, t.account, m.symbol, OrderStatus.TRIGGER_FAILED, first.reason, 0, 0))
    elif t.order.take_profit_price or t.order.stop_loss_price:
        _after_parent(engine, t.order, start, ts_us)
