"""Cancels: one order (by id or client id; a pending trigger order too) or all of an account's
orders in a market. A cancel of an unknown or foreign order is a ``CancelRejected`` and changes
nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from msgspec.structs import astuple

from rucksack.exchange.core.commands import CancelAllOrders, CancelOrder
from rucksack.exchange.core.enums import OrderStatus, Reason
from rucksack.exchange.core.events import CancelRejected
from rucksack.exchange.core.exchange_state import client_key
from rucksack.exchange.core.orders.resting import remove_resting
from rucksack.exchange.core.orders.triggers import cancel as cancel_trigger
from rucksack.exchange.core.orders.triggers import cancel_all as cancel_all_triggers

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

CLIENT_ID_LIMIT: Final = 1 << 32
AS_TUPLE: Final = astuple

# ``cancel`` unpacks CancelOrder positionally; refuse to run if its fields are ever reordered.
if CancelOrder.__struct_fields__ != ("account", "market", "order_id", "client_id"):  # pragma: no cover
    raise ImportError("CancelOrder's fields changed; update orders.cancel.cancel")


def cancel(s: ExchangeState, c: CancelOrder) -> None:
    fields = AS_TUPLE(c)  # one C call instead of a generic getattr per field (compiled)
    account: int = fields[0]
    market: str = fields[1]
    key: Any = fields[2]  # the order id as given: a dict key without boxing it again
    order_id: int = key
    if order_id < 0:
        client_id: int = fields[3]
        if 0 <= client_id < CLIENT_ID_LIMIT:
            order_id = s.client_orders.get(client_key(account, client_id), -1)
            key = order_id
    order = s.orders.get(key)
    if order is None and s.triggers and cancel_trigger(s, c, order_id):
        return
    if order is None or order.account != account or s.markets[order.market].symbol != market:
        s.events.append(CancelRejected(c.account, c.market, c.order_id, c.client_id, Reason.ORDER_NOT_FOUND))
        return
    remove_resting(s, order, OrderStatus.CANCELLED, Reason.USER_CANCELLED)


def cancel_all(s: ExchangeState, c: CancelAllOrders) -> None:
    m = s.market_by_symbol.get(c.market)
    if m is None:
        s.events.append(CancelRejected(c.account, c.market, -1, -1, Reason.UNKNOWN_MARKET))
        return
    mine = [o for side in (m.bids, m.asks) for o in side.orders() if o.account == c.account]
    mine.sort(key=lambda o: o.id)
    for order in mine:
        remove_resting(s, order, OrderStatus.CANCELLED, Reason.USER_CANCELLED)
    if s.triggers:
        cancel_all_triggers(s, c.account, m.index)
