"""Orders on the book: the fill bookkeeping shared by spot and perps, closing a taker, and a
resting order's end (filled, cancelled or expired) with the release of what it held.

Invariant: an order is in ``orders`` (and, with a client id, in ``client_orders``) exactly while
it rests on its book; its ``hold`` is what its remaining lots need (spot: atoms locked; perps:
lots counted as the position's open orders), released when it leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.enums import ASK, BID, OrderStatus, Reason
from rucksack.exchange.core.events import OrderClosed, OrderModified, TradeExecuted
from rucksack.exchange.core.exchange_state import client_key
from rucksack.exchange.core.ledger.balances import Account, Balance, apply_release
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.perps.position import Position

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

NO_CLIENT_ID: Final = -1  # Final: a constant when compiled, not a globals-dict lookup per use

# The event classes are msgspec structs (not compiled); as Final names mypyc keeps them in C
# statics instead of looking them up in this module's globals dict on every event (about 130
# instructions per event, 3% of a spot command; docs/performance.md).
TRADE_EXECUTED: Final = TradeExecuted
ORDER_CLOSED: Final = OrderClosed


def record_fill(
    s: ExchangeState,
    symbol: str,
    taker: Order,
    maker: Order,
    *,
    n: int,
    price: int,
    quote_atoms: int,
    taker_side: str,
    taker_fee: int,
    maker_fee: int,
    ts_box: Any,
    liquidation_fee: int = 0,
) -> bool:
    """The bookkeeping every fill shares (spot and perp): filled totals on both orders, the
    TradeExecuted event, and the maker's close when it is done. Returns whether it closed.
    ``ts_box`` is the command's time as one Python int for every event of the placement."""
    taker.lots -= n
    taker.filled_lots += n
    taker.filled_quote += quote_atoms
    maker.filled_lots += n
    maker.filled_quote += quote_atoms
    trade_id = s.next_trade_id
    s.next_trade_id = trade_id + 1
    events = s.events
    maker_acct = order_account(s, maker)
    # positional: msgspec matches keyword names one by one; the ids are the boxes made once
    events.append(
        TRADE_EXECUTED(
            trade_id,
            symbol,
            price,
            n,
            taker.id_box,
            maker.id_box,
            order_account(s, taker).id_box,
            maker_acct.id_box,
            taker_side,
            taker_fee,
            maker_fee,
            ts_box,
            liquidation_fee,
        )
    )
    if maker.lots:
        return False
    forget(s, maker)
    events.append(
        ORDER_CLOSED(
            maker.id_box, maker_acct.id_box, symbol, OrderStatus.FILLED, "", maker.filled_lots, maker.filled_quote
        )
    )
    return True


def close_taker(s: ExchangeState, held: Balance | None, taker: Order, status: str, reason: str) -> None:
    if taker.hold and held is not None:
        apply_release(held, taker.hold)
        taker.hold = 0
    s.events.append(
        ORDER_CLOSED(
            taker.id_box,
            order_account(s, taker).id_box,
            s.markets[taker.market].symbol,
            status,
            reason,
            taker.filled_lots,
            taker.filled_quote,
        )
    )


def forget(s: ExchangeState, order: Order) -> None:
    """Drop a no-longer-resting order from the indexes (the book already unlinked it)."""
    del s.orders[order.id_box]
    if order.client_id != NO_CLIENT_ID:
        s.client_orders.pop(client_key(order.account, order.client_id), None)


def release(s: ExchangeState, order: Order) -> None:
    m = s.markets[order.market]
    if m.is_perp:
        pos = order_account(s, order).positions[order.market]
        if order.side == BID:
            pos.open_buys -= order.hold
        else:
            pos.open_sells -= order.hold
        order.hold = 0
        if order.reduce_only:
            pos.reduce_only.remove(order.id)
    elif order.hold:
        asset = m.quote if order.side == BID else m.base
        apply_release(order_account(s, order).assets[asset], order.hold)
        order.hold = 0


def remove_resting(s: ExchangeState, order: Order, status: str, reason: str) -> None:
    m = s.markets[order.market]
    (m.bids if order.side == BID else m.asks).remove(order)
    forget(s, order)
    release(s, order)
    owner = order_account(s, order).id_box
    s.events.append(ORDER_CLOSED(order.id_box, owner, m.symbol, status, reason, order.filled_lots, order.filled_quote))


def order_account(s: ExchangeState, order: Order) -> Account:
    """The order's account: the object it carries (orders built outside placement and restore,
    as in the book's unit tests, may carry none)."""
    acct = order.acct
    return acct if acct is not None else s.ledger.accounts[order.account]


def trim_reduce_only(s: ExchangeState, m: MarketState, pos: Position) -> None:
    """Resting reduce-only orders may not exceed the position, as Backpack trims them: in the order
    they were placed, each on the closing side keeps what the position still leaves room for, cut
    to it when it would flip the position (``OrderModified``) and expired when no room is left; one
    on the opening side (the position flipped under it) is expired."""
    room = abs(pos.lots)
    closing_side = ASK if pos.lots > 0 else BID
    for order_id in list(pos.reduce_only):
        order = s.orders[order_id]
        if order.side != closing_side or room == 0:
            remove_resting(s, order, OrderStatus.EXPIRED, Reason.REDUCE_ONLY_NOT_REDUCED)
        elif order.lots > room:
            cut_resting(s, m, order, pos, order.lots - room)
            room = 0
        else:
            room -= order.lots


def cut_resting(s: ExchangeState, m: MarketState, order: Order, pos: Position, lots: int) -> None:
    """Take ``lots`` off a resting perp order: its remaining and total quantity, its level, its
    hold and its position's open orders all shrink by them; it keeps its place in the queue."""
    order.lots -= lots
    order.orig_lots -= lots
    order.hold -= lots
    level = order.level
    assert level is not None
    level.lots -= lots
    if order.side == BID:
        pos.open_buys -= lots
    else:
        pos.open_sells -= lots
    owner = order_account(s, order).id_box
    s.events.append(OrderModified(order.id_box, owner, m.symbol, order.orig_lots))
