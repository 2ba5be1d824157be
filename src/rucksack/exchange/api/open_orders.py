"""Open orders as the API reads them: one read model, fed from released (durable) events.

The service seeds it from engine state at start-up (resting orders and pending trigger orders)
and then feeds it each released command's events exactly once, before any listener runs. The
REST routes read it through ``ExchangeService.open_orders``; the WebSocket hub reads the
per-event steps that ``apply`` returns.

Invariants, over the released prefix of the journal:

- ``orders`` holds an id exactly when its ``OrderAccepted`` or ``TriggerAccepted`` was released
  and no ``OrderClosed`` for it was; each entry keeps the command as placed (rebuilt from the
  book for orders resting at start-up) and the sums of its released fills.
- ``limit_ids[account]`` holds exactly the ids of that account's accepted (not pending) Limit
  orders in ``orders``, the ones that may rest; an account with none has no entry.

Released events trail the engine by at most one group commit, so readers that need the live
truth (the REST routes) confirm each id against ``queries.resting_orders``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import msgspec

from rucksack.exchange.core import queries
from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.enums import SIDE_NAMES, STP_NAMES, TIF_NAMES
from rucksack.exchange.core.events import (
    Event,
    OrderAccepted,
    OrderClosed,
    OrderModified,
    TradeExecuted,
    TriggerAccepted,
)


@dataclass(slots=True)
class OpenOrder:
    """One open order: what was placed, and how much of it the released fills have filled."""

    id: int
    placed: PlaceOrder
    pending: bool = False  # a trigger order that has not fired (TriggerPending)
    fired: bool = False  # a trigger order that fired: accepted under its trigger's id
    filled_lots: int = 0
    filled_quote: int = 0


class OrderStep(NamedTuple):
    """One order as of one event (fill totals copied then, since later events change them)."""

    order: OpenOrder
    filled_lots: int
    filled_quote: int


# per event: () when it touches no open order; (step,) for an acceptance or a close; (taker, maker)
# for a trade, None where the read model does not know that order
Steps = tuple[OrderStep | None, ...]
NO_STEPS: Steps = ()


def placed_from_book(order: Order, symbol: str) -> PlaceOrder:
    """The placement of an order resting at start-up, as far as the book remembers it."""
    return PlaceOrder(
        order.account,
        symbol,
        SIDE_NAMES[order.side],
        "Limit",
        lots=order.orig_lots,
        price=order.price,
        tif=TIF_NAMES[order.tif],
        post_only=order.post_only,
        stp=STP_NAMES[order.stp],
        client_id=order.client_id,
        reduce_only=order.reduce_only,
    )


class OpenOrders:
    def __init__(self, engine: Engine) -> None:
        self.orders: dict[int, OpenOrder] = {}
        self.limit_ids: dict[int, set[int]] = {}
        markets = queries.markets(engine)
        self.lot_tick_atoms = {m.symbol: m.lot_tick_atoms for m in markets}
        for o in queries.resting_orders(engine).values():
            entry = OpenOrder(o.id, placed_from_book(o, markets[o.market].symbol))
            entry.filled_lots, entry.filled_quote = o.filled_lots, o.filled_quote
            self.orders[o.id] = entry
            self.limit_ids.setdefault(o.account, set()).add(o.id)
        for t in queries.pending_triggers(engine):
            self.orders[t.id] = OpenOrder(t.id, t.order, pending=True)

    def apply(self, events: list[Event]) -> list[Steps]:
        """Apply one released command's events; return, per event, the orders it touched."""
        orders = self.orders
        out: list[Steps] = []
        for ev in events:
            if isinstance(ev, OrderAccepted):
                o = ev.order
                entry = OpenOrder(ev.order_id, o, fired=ev.order_id in orders)
                orders[ev.order_id] = entry
                if o.order_type == "Limit":
                    self.limit_ids.setdefault(o.account, set()).add(ev.order_id)
                out.append((OrderStep(entry, 0, 0),))
            elif isinstance(ev, TradeExecuted):
                quote = ev.lots * ev.price * self.lot_tick_atoms[ev.market]
                out.append(
                    (self._fill(ev.taker_order_id, ev.lots, quote), self._fill(ev.maker_order_id, ev.lots, quote))
                )
            elif isinstance(ev, OrderClosed):
                closed = orders.pop(ev.order_id, None)
                if closed is None:
                    out.append((None,))
                    continue
                closed.filled_lots, closed.filled_quote = ev.filled_lots, ev.filled_quote_atoms
                ids = self.limit_ids.get(ev.account)
                if ids is not None:
                    ids.discard(ev.order_id)
                    if not ids:
                        del self.limit_ids[ev.account]
                out.append((OrderStep(closed, ev.filled_lots, ev.filled_quote_atoms),))
            elif isinstance(ev, OrderModified):  # a resting reduce-only order cut: its quantity is the new one
                cut = orders.get(ev.order_id)
                if cut is None:
                    out.append((None,))
                    continue
                cut.placed = msgspec.structs.replace(cut.placed, lots=ev.lots)
                out.append((OrderStep(cut, cut.filled_lots, cut.filled_quote),))
            elif isinstance(ev, TriggerAccepted):
                entry = OpenOrder(ev.order_id, ev.order, pending=True)
                orders[ev.order_id] = entry
                out.append((OrderStep(entry, 0, 0),))
            else:
                out.append(NO_STEPS)
        return out

    def _fill(self, order_id: int, lots: int, quote: int) -> OrderStep | None:
        entry = self.orders.get(order_id)
        if entry is None:
            return None
        entry.filled_lots += lots
        entry.filled_quote += quote
        return OrderStep(entry, entry.filled_lots, entry.filled_quote)

    def resting(self, account: int, live: Mapping[int, Order]) -> list[Order]:
        """The account's resting orders, oldest first, each confirmed in ``live`` (the engine's
        orders: commands applied but not yet durable may have closed some)."""
        found = [live[i] for i in self.limit_ids.get(account, ()) if i in live and live[i].account == account]
        found.sort(key=lambda o: o.id)
        return found
