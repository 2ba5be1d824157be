from __future__ import annotations

from rucksack.exchange.core.book.matching import (
    NO_BUDGET,
    STOP_BUDGET,
    STOP_EMPTY,
    STOP_FILLED,
    STOP_IMPACT,
    STOP_LIMIT,
    fillable_lots,
    match,
)
from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.book.side import BookSide
from rucksack.exchange.core.enums import STP_REJECT_TAKER

BIG = 1 << 62


def asks(*levels: tuple[int, int]) -> BookSide:
    side = BookSide(False)
    for i, (price, lots) in enumerate(levels, 1):
        side.add(Order(i, 2000, 0, 1, price, lots, -1, 0, 0, False, True, 0, 0))
    return side


def run(book: BookSide, **kw: int) -> tuple[int, list[tuple[int, int]]]:
    fills: list[Order] = []
    args = {"limit_price": BIG, "impact_price": BIG, "max_lots": BIG, "max_quote": NO_BUDGET, **kw}
    stop = match(
        book,
        1000,
        True,
        args["limit_price"],
        args["impact_price"],
        args["max_lots"],
        args["max_quote"],
        1,
        STP_REJECT_TAKER,
        fills,
        [],
    )
    return stop, [(m.id, m.fill_lots) for m in fills]


def test_sweeps_levels_until_filled() -> None:
    book = asks((10, 2), (11, 3), (12, 5))
    assert run(book, max_lots=4) == (STOP_FILLED, [(1, 2), (2, 2)])
    assert book.best_price() == 11 and book.best() is not None and book.best().lots == 1  # type: ignore[union-attr]


def test_stops_at_limit_impact_and_empty() -> None:
    assert run(asks((10, 2), (12, 5)), limit_price=11)[0] == STOP_LIMIT
    assert run(asks((10, 2), (12, 5)), impact_price=11) == (STOP_IMPACT, [(1, 2)])
    assert run(asks((10, 2)), max_lots=5) == (STOP_EMPTY, [(1, 2)])


def test_budget_buys_whole_lots_only() -> None:
    # 25 atoms at price 10 (1 atom per lot-tick) buys 2 lots, leaving 5 < one lot
    assert run(asks((10, 5)), max_quote=25) == (STOP_BUDGET, [(1, 2)])


def test_fillable_lots_is_a_dry_run() -> None:
    book = asks((10, 2), (11, 3))
    assert fillable_lots(book, 1000, True, 11, BIG, 10, NO_BUDGET, 1, STP_REJECT_TAKER) == 5
    assert fillable_lots(book, 1000, True, 10, BIG, 10, NO_BUDGET, 1, STP_REJECT_TAKER) == 2
    assert fillable_lots(book, 1000, True, BIG, BIG, 10, 41, 1, STP_REJECT_TAKER) == 3
    assert [o.lots for o in book.orders()] == [2, 3]


def test_the_fok_dry_run_fills_exactly_what_the_match_fills() -> None:
    """``fillable_lots`` walks the same loop as ``match``: on random books (own orders mixed
    in, every STP mode, budgets and limits) it predicts the lots the real match fills."""
    import random

    from rucksack.exchange.core.enums import STP_ALLOW, STP_REJECT_BOTH, STP_REJECT_MAKER

    rng = random.Random(14)
    for _ in range(400):
        is_buy = rng.random() < 0.5
        book = BookSide(not is_buy)
        for i in range(rng.randint(0, 12)):
            account = 1000 if rng.random() < 0.2 else 2000 + i
            price = rng.randint(95, 105)
            book.add(
                Order(i + 1, account, 0, 0 if not is_buy else 1, price, rng.randint(1, 5), -1, 0, 0, False, True, 0, 0)
            )
        limits = {
            "limit_price": rng.randint(94, 106) if rng.random() < 0.7 else (BIG if is_buy else 0),
            "impact_price": rng.randint(94, 106) if rng.random() < 0.3 else (BIG if is_buy else 0),
            "max_lots": rng.randint(1, 40),
            "max_quote": rng.randint(0, 3000) if rng.random() < 0.4 else NO_BUDGET,
            "lot_tick_atoms": rng.choice((1, 3)),
            "stp": rng.choice((STP_REJECT_TAKER, STP_REJECT_MAKER, STP_REJECT_BOTH, STP_ALLOW)),
        }
        before = [(o.id, o.lots) for o in book.orders()]
        predicted = fillable_lots(book, 1000, is_buy, **limits)
        assert [(o.id, o.lots) for o in book.orders()] == before  # the dry run changed nothing
        fills: list[Order] = []
        match(book, 1000, is_buy, **limits, fills=fills, stp_expired=[])
        assert predicted == sum(o.fill_lots for o in fills)
