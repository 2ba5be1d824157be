"""The naive reference book: the yardstick the engine's speed is measured against.

This is the "naive book, heapq, CPython" of shared/spec/performance-anchors.md, fed the very
command list the engine replays, so the ratio engine / naive is taken in one process on one
workload and host noise largely cancels out. Per market and side: a dict price -> ``Level`` (a
FIFO ``deque`` of orders, live count and volume), a heap of prices with lazy deletion for the
best price, a dict order id -> order; cancel is O(1) (the order is marked dead and skipped when
it reaches the front of its level); each fill appends an event tuple, drained periodically.

It keeps no balances, holds, fees, self-trade rules or events objects: that is the point of
the yardstick. Order ids are assigned per ``PlaceOrder`` in order, like the engine's when every
placement is accepted; cancels of unknown ids and every other command are ignored. Quantities
are the command's lots and quote atoms as they stand (a fill of ``q`` lots at ``price`` spends
``q * price`` of the budget), which is all a yardstick needs. Always runs as
plain CPython (it is not in tools/build_native.py's list).
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from rucksack.exchange.core.commands import CancelOrder, Command, PlaceOrder

DRAIN_EVERY = 4096


class Level:
    __slots__ = ("live", "orders", "volume")

    def __init__(self) -> None:
        self.orders: deque[list[Any]] = deque()
        self.live = 0
        self.volume = 0


class BookSide:
    """One side of one market; ``sign`` is -1 for bids so the heap's minimum is the best price."""

    __slots__ = ("heap", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[int, Level] = {}
        self.heap: list[int] = []

    def best(self) -> Level | None:
        heap = self.heap
        while heap:
            level = self.levels.get(heap[0] * self.sign)
            if level is not None and level.live:
                return level
            price = heapq.heappop(heap) * self.sign
            if level is not None:
                del self.levels[price]
        return None

    def add(self, order: list[Any]) -> None:
        price = order[2]
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level()
            heapq.heappush(self.heap, price * self.sign)
        level.orders.append(order)
        level.live += 1
        level.volume += order[3]


PLACE, CANCEL = 0, 1


def decode(cmds: list[Command]) -> list[tuple[int, ...]]:
    """The commands as the naive book's plain tuples, decoded before timing (as the anchors'
    harness pre-decodes its workload): (PLACE, side index, opposite index, is_bid, limit (0:
    market), lots, quote budget, rests) or (CANCEL, order id); other commands are dropped."""
    markets: dict[str, int] = {}
    out: list[tuple[int, ...]] = []
    for cmd in cmds:
        if type(cmd) is PlaceOrder:
            mi = markets.setdefault(cmd.market, len(markets))
            bid = cmd.side == "Bid"
            limit = cmd.price if cmd.order_type == "Limit" else 0
            own, other = (2 * mi, 2 * mi + 1) if bid else (2 * mi + 1, 2 * mi)
            rests = int(bool(limit) and cmd.tif == "GTC")
            out.append((PLACE, own, other, int(bid), limit, cmd.lots, 0 if cmd.lots else cmd.quote_atoms, rests))
        elif type(cmd) is CancelOrder:
            out.append((CANCEL, cmd.order_id))
    return out


class NaiveBook:
    """Every market's two sides (index ``2 * market + (0 bid, 1 ask)``); ``run`` takes
    :func:`decode`'s tuples."""

    def __init__(self) -> None:
        self.sides: list[BookSide] = [BookSide(-1 if i % 2 == 0 else 1) for i in range(64)]
        self.orders: dict[int, list[Any]] = {}  # id -> [id, side index, price, lots left, alive]
        self.next_id = 1
        self.events: list[tuple[int, int, int, int]] = []
        self.fills = 0

    def run(self, decoded: list[tuple[int, ...]]) -> None:
        place, orders, sides = self.place, self.orders, self.sides
        for item in decoded:
            if item[0] == PLACE:
                place(item)
                continue
            order = orders.pop(item[1], None)
            if order is not None and order[4]:
                order[4] = False
                level = sides[order[1]].levels[order[2]]
                level.live -= 1
                level.volume -= order[3]

    def place(self, item: tuple[int, ...]) -> None:
        _, own, other, bid, limit, lots, quote, rests = item
        oid = self.next_id
        self.next_id = oid + 1
        opposite = self.sides[other]
        events = self.events
        while lots > 0 or quote > 0:
            level = opposite.best()
            if level is None:
                break
            orders = level.orders
            price = orders[0][2]
            if limit and (price > limit if bid else price < limit):
                break
            while orders and (lots > 0 or quote > 0):
                maker = orders[0]
                if not maker[4]:
                    orders.popleft()
                    continue
                want = lots if lots else quote // price
                if want <= 0:
                    quote = 0
                    break
                qty = maker[3] if maker[3] < want else want
                maker[3] -= qty
                level.volume -= qty
                if lots:
                    lots -= qty
                else:
                    quote -= qty * price
                events.append((oid, maker[0], price, qty))
                if not maker[3]:
                    maker[4] = False
                    level.live -= 1
                    orders.popleft()
                    del self.orders[maker[0]]
        if len(events) >= DRAIN_EVERY:
            self.fills += len(events)
            events.clear()
        if lots > 0 and rests:
            order = [oid, own, limit, lots, True]
            self.orders[oid] = order
            self.sides[own].add(order)
