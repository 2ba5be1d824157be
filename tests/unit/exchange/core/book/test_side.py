from __future__ import annotations

import random

from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.book.side import BookSide


def order(oid: int, price: int, lots: int = 1, side: int = 0) -> Order:
    return Order(oid, 1000, 0, side, price, lots, -1, 0, 0, False, True, 0, 0)


def test_bids_best_is_highest_and_fifo_within_level() -> None:
    side = BookSide(True)
    for oid, price in [(1, 100), (2, 102), (3, 101), (4, 102)]:
        side.add(order(oid, price))
    assert side.best_price() == 102
    assert [o.id for o in side.orders()] == [2, 4, 3, 1]
    level = side.best()
    assert level is not None and (level.lots, level.count) == (2, 2)


def test_asks_best_is_lowest_and_levels_vanish_when_empty() -> None:
    side = BookSide(False)
    a, b, c = order(1, 105, side=1), order(2, 103, side=1), order(3, 104, side=1)
    for o in (a, b, c):
        side.add(o)
    assert side.best_price() == 103
    side.remove(c)  # middle level
    assert side.keys == [-105, -103] and 104 not in side.levels
    side.remove(b)  # best level
    assert side.best_price() == 105
    side.remove(a)
    assert side.best() is None and side.best_price() == 0 and not side.levels


def test_remove_from_middle_of_level_keeps_links() -> None:
    side = BookSide(True)
    orders = [order(i, 100, lots=i) for i in range(1, 5)]
    for o in orders:
        side.add(o)
    side.remove(orders[1])
    side.remove(orders[3])
    assert [o.id for o in side.orders()] == [1, 3]
    level = side.best()
    assert level is not None and level.lots == 4 and level.tail is orders[2] and orders[2].next is None


def test_levels_stay_sorted_when_added_and_dropped_far_from_the_best() -> None:
    """Keys are placed by stepping down from the best and, past a few levels, by bisection:
    either way the side keeps one sorted key per level and the right best level."""
    rng = random.Random(7)
    for is_bid in (True, False):
        side = BookSide(is_bid)
        resting: list[Order] = []
        for oid in range(1, 3000):
            if resting and rng.random() < 0.45:
                side.remove(resting.pop(rng.randrange(len(resting))))
            else:
                o = order(oid, rng.randint(1, 60), side=0 if is_bid else 1)
                side.add(o)
                resting.append(o)
            prices = sorted({o.price for o in resting}, reverse=is_bid)
            assert side.keys == sorted(p if is_bid else -p for p in prices)
            assert sorted(side.levels) == sorted(prices)
            assert side.best_price() == (prices[0] if prices else 0)
