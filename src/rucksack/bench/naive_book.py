"""The naive reference book: the yardstick the engine's speed is measured against.

This is the "naive book, heapq, CPython" of shared/spec/performance-anchors.md, fed the very
command list the engine replays, so the ratio engine / naive is taken in one process on one
workload and host noise largely cancels out. Per market and side: a dict price -> ``Level`` (a
FIFO ``deque`` of orders, live count and volume), a heap of prices with lazy deletion for the
best price, a dict order id -> order; cancel is O(1) (the order is marked dead and skipped when
it reaches the front of its level); each fill appends an event tuple, drained periodically.

It keeps no balances, holds, fees, self-trade rules or events objects: that is the point of
the yardstick. Order ids are assigned per ``PlaceOrder`` in order, like the engine's when every
placement is accepted; cancels of unknown ids and every other command are ignored. Always runs as
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


class NaiveBook:
    """Every market's two sides; ``apply`` takes the engine's commands."""

    def __init__(self) -> None:
        self.sides: dict[tuple[str, str], BookSide] = {}
        self.orders: dict[int, list[Any]] = {}  # id -> [id, side key, price, lots left, alive]
        self.next_id = 1
        self.events: list[tuple[int, int, int, int]] = []
        self.fills = 0

    def _side(self, market: str, side: str) -> BookSide:
        key = (market, side)
        book = self.sides.get(key)
        if book is None:
            book = self.sides[key] = BookSide(-1 if side == "Bid" else 1)
        return book

    def apply(self, cmd: Command) -> None:
        if type(cmd) is PlaceOrder:
            self.place(cmd)
        elif type(cmd) is CancelOrder:
            order = self.orders.pop(cmd.order_id, None)
            if order is not None and order[4]:
                order[4] = False
                level = self.sides[order[1]].levels[order[2]]
                level.live -= 1
                level.volume -= order[3]

    def place(self, cmd: PlaceOrder) -> None:
        oid = self.next_id
        self.next_id += 1
        bid = cmd.side == "Bid"
        limit = cmd.price if cmd.order_type == "Limit" else 0
        lots = cmd.lots
        quote = cmd.quote_atoms if not lots else 0
        opposite = self._side(cmd.market, "Ask" if bid else "Bid")
        events = self.events
        while lots > 0 or quote > 0:
            level = opposite.best()
            if level is None:
                break
            price = level.orders[0][2]
            if limit and (price > limit if bid else price < limit):
                break
            orders = level.orders
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
                self.fills += 1
                if not maker[3]:
                    maker[4] = False
                    level.live -= 1
                    orders.popleft()
                    del self.orders[maker[0]]
        if len(events) >= DRAIN_EVERY:
            events.clear()
        if lots > 0 and limit and cmd.tif == "GTC":
            order = [oid, (cmd.market, cmd.side), limit, lots, True]
            self.orders[oid] = order
            self._side(cmd.market, cmd.side).add(order)
