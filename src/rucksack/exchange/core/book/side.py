"""One side of an order book: price levels in priority order, FIFO within a level.

Invariants:
- ``keys`` is ascending and holds one key per non-empty level; the best level's key is last,
  so taking the best level off is ``list.pop()``. Bids use ``price`` as key, asks ``-price``.
- ``best_level`` is the level whose key is last (None when the side is empty).
- ``levels[price].lots`` is the sum of remaining lots of the orders linked in that level and
  ``count`` their number; an emptied level is removed at once.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Final

from rucksack.exchange.core.book.order import Level, Order

# bisect's C function as a Final name: a C static when compiled, not a globals-dict lookup each
# time a level far from the best is added or dropped.
BISECT_LEFT: Final = bisect_left


class BookSide:
    __slots__ = ("best_level", "is_bid", "keys", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []
        self.best_level: Level | None = None

    def best(self) -> Level | None:
        return self.best_level

    def best_price(self) -> int:
        """Best price in ticks, or 0 when the side is empty."""
        best = self.best_level
        return 0 if best is None else best.price

    def add(self, order: Order) -> None:
        price = order.price
        box: Any = price  # boxed once for the lookup and, for a new level, its dict key
        level = self.levels.get(box)
        if level is None:
            level = Level(price, box)
            self.levels[box] = level
            self._insert_key(price if self.is_bid else -price)
            best = self.best_level
            if best is None or (price > best.price if self.is_bid else price < best.price):
                self.best_level = level
        tail = level.tail
        if tail is None:
            level.head = order
        else:
            tail.next = order
            order.prev = tail
        level.tail = order
        level.lots += order.lots
        level.count += 1
        order.level = level

    def remove(self, order: Order) -> None:
        """Unlink ``order`` (its remaining ``lots`` leave the level total)."""
        level = order.level
        assert level is not None
        prev, nxt = order.prev, order.next
        if prev is None:
            level.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            level.tail = prev
        else:
            nxt.prev = prev
        order.prev = None
        order.next = None
        order.level = None
        level.lots -= order.lots
        level.count -= 1
        if level.count == 0:
            self._drop_level(level)

    def _insert_key(self, key: int) -> None:
        """Insert ``key`` into the ascending ``keys``. New levels open near the best price (the
        end of the list), so the place is found by stepping down from the end, comparing
        machine integers; far from it, by bisection."""
        keys = self.keys
        i = len(keys)
        stop = i - 8 if i > 8 else 0
        while i > stop and keys[i - 1] > key:
            i -= 1
        if i == stop and i > 0 and keys[i - 1] > key:
            i = BISECT_LEFT(keys, key, 0, i)
        keys.insert(i, key)

    def _drop_level(self, level: Level) -> None:
        del self.levels[level.key]
        price = level.price
        key = price if self.is_bid else -price
        keys = self.keys
        i = len(keys) - 1
        if keys[i] == key:
            keys.pop()
            if keys:
                top = keys[-1]
                self.best_level = self.levels[top if self.is_bid else -top]
            else:
                self.best_level = None
            return
        stop = i - 8 if i > 8 else 0
        while i > stop and keys[i] != key:
            i -= 1
        if keys[i] != key:
            i = BISECT_LEFT(keys, key, 0, i)
        del keys[i]

    def sweep_price(self, lots: int, limit: int) -> int:
        """The worst price a taker of ``lots`` would reach, walking levels from the best and
        stopping at ``limit``; ``limit`` when the book cannot fill it all before that."""
        levels = self.levels
        for key in reversed(self.keys):
            price = key if self.is_bid else -key
            if (self.is_bid and price < limit) or (not self.is_bid and price > limit):
                return limit
            lots -= levels[price].lots
            if lots <= 0:
                return price
        return limit

    def level_at(self, depth: int) -> Level | None:
        """The ``depth``-th best level (0: the best), None past the last."""
        keys = self.keys
        if depth >= len(keys):
            return None
        key = keys[len(keys) - 1 - depth]
        return self.levels[key if self.is_bid else -key]

    def iter_levels(self) -> list[Level]:
        """Levels from best to worst."""
        levels = self.levels
        if self.is_bid:
            return [levels[k] for k in reversed(self.keys)]
        return [levels[-k] for k in reversed(self.keys)]

    def orders(self) -> list[Order]:
        """Every resting order in priority order (best level first, FIFO within a level)."""
        out: list[Order] = []
        for level in self.iter_levels():
            order = level.head
            while order is not None:
                out.append(order)
                order = order.next
        return out
