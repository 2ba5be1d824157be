"""Price-time matching of one taker against one side of the book.

The book knows orders, never balances: the caller passes the taker's limits (``max_lots``,
an optional quote budget ``max_quote``, a limit price and an impact price) and gets back the
fills and the makers removed by self-trade prevention. Fills happen at the maker's price.

Rounding: none. A fill is ``n`` whole lots; with a budget, ``n`` is the largest whole number
of lots the budget pays for at that price (``budget // (price * lot_tick_atoms)``), so the
taker never spends more than the budget.

Stop reasons tell the engine why matching ended; see the ``STOP_*`` constants.
"""

from __future__ import annotations

from typing import Final

from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.book.side import BookSide
from rucksack.exchange.core.enums import STP_ALLOW, STP_REJECT_BOTH, STP_REJECT_TAKER

STOP_FILLED: Final = 0  # max_lots reached
STOP_LIMIT: Final = 1  # next maker is beyond the taker's limit price (or the side is empty)
STOP_IMPACT: Final = 2  # next maker is beyond the impact band
STOP_BUDGET: Final = 3  # the quote budget cannot pay for one more lot
STOP_STP: Final = 4  # self-trade prevention ended the taker
STOP_EMPTY: Final = 5  # no makers left on the opposite side

NO_BUDGET: Final = -1


def match(
    book: BookSide,
    account: int,
    is_buy: bool,
    limit_price: int,
    impact_price: int,
    max_lots: int,
    max_quote: int,
    lot_tick_atoms: int,
    stp: int,
    fills: list[Order],
    stp_expired: list[Order],
) -> int:
    """Match against ``book`` (the side opposite the taker), mutating it; return a STOP_* code.

    ``limit_price``/``impact_price`` are inclusive bounds on maker prices (buyers: maximum,
    sellers: minimum). ``max_quote`` is a quote-atom budget or ``NO_BUDGET``. Appends each
    maker filled, with the lots taken from it in ``maker.fill_lots`` (a maker is filled at most
    once per match); fully filled makers are removed from the book.
    """
    stop, _ = _walk(
        book=book,
        account=account,
        is_buy=is_buy,
        limit_price=limit_price,
        impact_price=impact_price,
        max_lots=max_lots,
        max_quote=max_quote,
        lot_tick_atoms=lot_tick_atoms,
        stp=stp,
        fills=fills,
        stp_expired=stp_expired,
    )
    return stop


def fillable_lots(
    book: BookSide,
    account: int,
    is_buy: bool,
    limit_price: int,
    impact_price: int,
    max_lots: int,
    max_quote: int,
    lot_tick_atoms: int,
    stp: int,
) -> int:
    """Dry run of :func:`match`: how many lots it would fill, changing nothing (for FOK). The
    same loop as the real match, so the two cannot disagree."""
    _, filled = _walk(
        book=book,
        account=account,
        is_buy=is_buy,
        limit_price=limit_price,
        impact_price=impact_price,
        max_lots=max_lots,
        max_quote=max_quote,
        lot_tick_atoms=lot_tick_atoms,
        stp=stp,
        fills=None,
        stp_expired=None,
    )
    return filled


def _walk(
    book: BookSide,
    account: int,
    is_buy: bool,
    limit_price: int,
    impact_price: int,
    max_lots: int,
    max_quote: int,
    lot_tick_atoms: int,
    stp: int,
    fills: list[Order] | None,
    stp_expired: list[Order] | None,
) -> tuple[int, int]:
    """The matching loop: (STOP_* code, lots filled). With ``fills`` None it is a dry run that
    reads the book without touching it: levels are visited by depth instead of being consumed,
    and makers keep their lots."""
    remaining = max_lots
    budget = max_quote
    depth = 0  # levels walked past without removing them (dry run only)
    while remaining > 0:
        level = book.best() if fills is not None else book.level_at(depth)
        if level is None:
            return STOP_EMPTY, max_lots - remaining
        price = level.price
        if is_buy:
            if price > limit_price:
                return STOP_LIMIT, max_lots - remaining
            if price > impact_price:
                return STOP_IMPACT, max_lots - remaining
        else:
            if price < limit_price:
                return STOP_LIMIT, max_lots - remaining
            if price < impact_price:
                return STOP_IMPACT, max_lots - remaining
        lot_cost = price * lot_tick_atoms
        maker = level.head
        while maker is not None and remaining > 0:
            nxt = maker.next
            if maker.account == account and stp != STP_ALLOW:
                if stp == STP_REJECT_TAKER:
                    return STOP_STP, max_lots - remaining
                if stp_expired is not None:
                    book.remove(maker)
                    stp_expired.append(maker)
                if stp == STP_REJECT_BOTH:
                    return STOP_STP, max_lots - remaining
                maker = nxt
                continue
            n = maker.lots if maker.lots < remaining else remaining
            short = False
            if budget != NO_BUDGET:
                affordable = budget // lot_cost
                if affordable < n:
                    n = affordable
                    if n == 0:
                        return STOP_BUDGET, max_lots - remaining
                    short = True
                budget -= n * lot_cost
            remaining -= n
            if fills is not None:
                if n == maker.lots:
                    book.remove(maker)
                    maker.lots = 0
                else:
                    maker.lots -= n
                    level.lots -= n
                maker.fill_lots = n
                fills.append(maker)
            if short:
                return STOP_BUDGET, max_lots - remaining  # the budget ran out inside this maker
            maker = nxt
        depth += 1  # a live match removed the level it emptied; a dry run steps over it
    return STOP_FILLED, max_lots
