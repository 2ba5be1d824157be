"""One side of an order book: price levels in priority order, FIFO within a level.

Invariants:
- ``keys`` is ascending and holds one key per non-empty level; the best level's key is last,
  so taking the best level off is ``list.pop()``. Bids use ``price`` as key, asks ``-price``.
- ``levels[price].lots`` is the sum of remaining lots of the orders linked in that level and
  ``count`` their number; an emptied level is removed at once.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from rucksack.exchange.core.book.order import Level, Order


class BookSide:
    __slots__ = ("is_bid", "keys", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.keys: list[int] = []

    def best(self) -> Level | None:
        keys = self.keys
        if not keys:
            return None
        key = keys[-1]
        return self.levels[key if self.is_bid else -key]

    def best_price(self) -> int:
        """Best price in ticks, or 0 when the side is empty."""
        keys = self.keys
        if not keys:
            return 0
        key = keys[-1]
        return key if self.is_bid else -key

    def add(self, order: Order) -> None:
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = Level(price)
            self.levels[price] = level
            insort(self.keys, price if self.is_bid else -price)
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
            self._drop_level(level.price)

    def _drop_level(self, price: int) -> None:
        del self.levels[price]
        key = price if self.is_bid else -price
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

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
