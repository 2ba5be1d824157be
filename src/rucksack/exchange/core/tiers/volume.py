"""The fills' side of fee-tier volume: the hot path (compiled with the core, tools/build_native.py).

Each side of a fill adds its settlement-asset notional to its own account's counters of the
current UTC day (``Account.vol_*`` slots); a counter of an earlier day is first moved into the tier
book under the account's owner (``flush``: once per account and day). ``RecomputeFeeTiers`` and
the snapshot see book and counters together (``TierBook.record``, ``handlers.recompute``), so
where a day's volume sits changes neither the tiers nor the state hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from rucksack.exchange.core.ledger.balances import Account
    from rucksack.exchange.core.tiers.book import TierBook

DAY_US: Final = 86_400_000_000


def count_trade(
    book: TierBook, taker: Account, maker: Account, ts_us: int, atoms: int, futures: bool, excluded: set[int]
) -> None:
    """A fill of ``atoms`` notional at ``ts_us`` counts for both sides, unless one owner holds both
    (a tier cannot be bought with trades between one's own accounts); a side in ``excluded`` (an
    exchange-run vault's account) counts for nothing."""
    if (taker.parent or taker.account) == (maker.parent or maker.account):
        return
    day = ts_us // DAY_US
    if taker.account not in excluded:
        count_side(book, taker, day, atoms, futures)
    if maker.account not in excluded:
        count_side(book, maker, day, atoms, futures)


def count_side(book: TierBook, acct: Account, day: int, atoms: int, futures: bool) -> None:
    if acct.vol_day != day:
        flush(book, acct)
        acct.vol_day = day
    if futures:
        acct.vol_futures += atoms
    else:
        acct.vol_spot += atoms


def flush(book: TierBook, acct: Account) -> None:
    """Move the account's counters into its owner's bucket of their day."""
    if acct.vol_spot or acct.vol_futures:
        book.add(acct.parent or acct.account, acct.vol_day, acct.vol_spot, acct.vol_futures)
        acct.vol_spot = 0
        acct.vol_futures = 0
