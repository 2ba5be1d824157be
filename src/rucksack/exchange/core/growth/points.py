"""Points: volume, lending and holdings in weeks, distributed into seasons, ranked by percentile.

The formula (docs/points.md; units in ``GrowthSpec``, the default config's in brackets):

- **volume**: each side of a book trade adds the trade's notional (``lots x price x
  lot_tick_atoms``, settlement atoms; markets quoted in the settlement asset) to its owner's
  week; points = ``floor(week volume / volume_unit_atoms)`` [1 point per 1 USDC]. A trade whose
  two sides have one owner (an account and its subaccounts) or owners linked by surveillance
  (``LinkAccounts``) adds nothing; a trade surveillance flags (``FlagTrades``) is deducted from
  both owners' open week (a week's volume may go negative: the deduction carries into the next
  week, so a flag after the snapshot still costs what the trade earned). System accounts earn
  nothing.
- **lending and holding**: every hour (``SamplePoints``) each owner's value at the index prices
  (all its accounts) is added for one hour: ``hold = value(available + locked) - value(debts)``,
  debts beyond holdings then taken off ``lend = value(lend claims)``, both floored at 0; points
  = ``floor(lend atom-hours / lend_unit) + floor(hold atom-hours / hold_unit)`` [1 point per
  100 USDC lent a day, per 1,000 USDC held a day]. Borrowing to hold earns nothing.
- **weeks**: ``SnapshotPoints`` at Thursday 00:00 UTC closes the week (remainders below a point
  are dropped, never rounded up) into the season running just before that instant (none: the
  week earns nothing); ``DistributePoints`` at Friday 02:00 UTC adds it to the season and ranks.
- **ranks** within a season, among owners with points: with ``n`` owners and ``p`` owners
  strictly ahead, Challenger when ``p < n/1000``, Diamond ``p < n/100``, Platinum ``p < 5n/100``,
  Gold ``p < 15n/100``, Silver ``p < 40n/100``, else Bronze (top 0.1%, 1%, 5%, 15%, 40%, the rest;
  ties share a rank). A new season starts with nobody ranked: ranks reset at each season start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rucksack.exchange.core.growth.book import Standing, WeekPoints
from rucksack.exchange.core.growth.commands import (
    DistributePoints,
    FlagTrades,
    LinkAccounts,
    SamplePoints,
    SnapshotPoints,
)
from rucksack.exchange.core.growth.events import (
    AccountsLinked,
    GrowthRejected,
    PointsDistributed,
    PointsSampled,
    PointsSnapshotTaken,
    TradesFlagged,
)
from rucksack.exchange.core.growth.spec import DISTRIBUTION_DELAY_US, WEEK_US, season_at
from rucksack.exchange.core.markets import MAX_AMOUNT_ATOMS

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

RANKS: Final = ("Bronze", "Silver", "Gold", "Platinum", "Diamond", "Challenger")
# (rank index, numerator, denominator): rank when p * denominator < n * numerator, best first
RANK_BOUNDARIES: Final = ((5, 1, 1000), (4, 1, 100), (3, 5, 100), (2, 15, 100), (1, 40, 100))
NOT_DUE: Final = "PointsNotDue"
ALREADY_DONE: Final = "PointsAlreadyDone"
TOO_MANY: Final = "TooManyEntries"
UNKNOWN_ACCOUNT: Final = "UnknownAccount"
MAX_ENTRIES: Final = 1000


def rank_for(ahead: int, n: int) -> int:
    """The rank index of an owner with ``ahead`` owners strictly ahead of it among ``n``."""
    for rank, num, den in RANK_BOUNDARIES:
        if ahead * den < n * num:
            return rank
    return 0


def add_volume(s: ExchangeState, owner: int, notional: int) -> None:
    book = s.growth
    book.week_volume[owner] = book.week_volume.get(owner, 0) + notional


def sample(s: ExchangeState, c: SamplePoints) -> None:
    book = s.growth
    if c.hour <= book.last_sample_hour:
        s.events.append(GrowthRejected("SamplePoints", 0, ALREADY_DONE))
        return
    book.last_sample_hour = c.hour
    held: dict[int, list[int]] = {}  # owner -> [held value, lent value, debt value]
    value = s.margin.value
    for account, acct in s.ledger.accounts.items():
        owner = s.owner(account)
        if owner < 0:
            continue
        sums = held.setdefault(owner, [0, 0, 0])
        for i, bal in enumerate(acct.assets):
            pool = s.pools[i]
            if bal.available or bal.locked:
                sums[0] += value(i, bal.available + bal.locked, False)
            if pool is not None and bal.lend_shares:
                sums[1] += value(i, pool.claim(bal.lend_shares), False)
            if pool is not None and bal.borrow_shares:
                sums[2] += value(i, pool.debt(bal.borrow_shares), True)
    for owner, (hold, lend, debt) in sorted(held.items()):
        hold_value = max(hold - debt, 0)
        lend_value = max(lend - max(debt - hold, 0), 0)
        if hold_value:
            book.week_hold[owner] = book.week_hold.get(owner, 0) + hold_value
        if lend_value:
            book.week_lend[owner] = book.week_lend.get(owner, 0) + lend_value
    s.events.append(PointsSampled(c.hour, len(held)))


def snapshot(s: ExchangeState, c: SnapshotPoints) -> None:
    book, spec = s.growth, s.spec.growth
    week_end = c.week_end_us
    if week_end % WEEK_US or s.last_ts_us < week_end:
        s.events.append(GrowthRejected("SnapshotPoints", 0, NOT_DUE))
        return
    if week_end <= book.last_snapshot_us:
        s.events.append(GrowthRejected("SnapshotPoints", 0, ALREADY_DONE))
        return
    if book.last_distributed_us < book.last_snapshot_us:  # a missed distribution goes first
        _distribute(s, book.last_snapshot_us)
    season = season_at(spec, week_end - 1)
    owners = sorted(set(book.week_volume) | set(book.week_lend) | set(book.week_hold))
    pending: dict[int, WeekPoints] = {}
    carried: dict[int, int] = {}
    for owner in owners:
        volume = book.week_volume.get(owner, 0)
        if volume < 0:
            carried[owner] = volume
        week = WeekPoints(
            week_end,
            max(volume, 0) // spec.volume_unit_atoms,
            book.week_lend.get(owner, 0) // spec.lend_unit,
            book.week_hold.get(owner, 0) // spec.hold_unit,
        )
        if week.total and season >= 0:
            pending[owner] = week
    book.week_volume, book.week_lend, book.week_hold = carried, {}, {}
    book.pending, book.pending_season, book.last_snapshot_us = pending, season, week_end
    name = spec.seasons[season].name if season >= 0 else ""
    s.events.append(PointsSnapshotTaken(week_end, name, len(pending), sum(w.total for w in pending.values())))


def distribute(s: ExchangeState, c: DistributePoints) -> None:
    book = s.growth
    if c.week_end_us != book.last_snapshot_us or s.last_ts_us < c.week_end_us + DISTRIBUTION_DELAY_US:
        s.events.append(GrowthRejected("DistributePoints", 0, NOT_DUE))
        return
    if c.week_end_us <= book.last_distributed_us:
        s.events.append(GrowthRejected("DistributePoints", 0, ALREADY_DONE))
        return
    _distribute(s, c.week_end_us)


def _distribute(s: ExchangeState, week_end: int) -> None:
    book = s.growth
    season = book.pending_season
    total = 0
    if season >= 0:
        standings = book.standings.setdefault(season, {})
        for owner, week in sorted(book.pending.items()):
            st = standings.setdefault(owner, Standing())
            st.points += week.total
            st.weeks.append(week)
            total += week.total
        rank_season(standings)
    name = s.spec.growth.seasons[season].name if season >= 0 else ""
    s.events.append(PointsDistributed(week_end, name, len(book.pending), total))
    book.pending, book.pending_season, book.last_distributed_us = {}, -1, week_end


def rank_season(standings: dict[int, Standing]) -> None:
    """Rank every owner with points by its percentile (module docstring); ties share a rank."""
    ranked = sorted((st.points for st in standings.values() if st.points > 0), reverse=True)
    n = len(ranked)
    first_at: dict[int, int] = {}
    for i, points in enumerate(ranked):
        first_at.setdefault(points, i)
    for st in standings.values():
        st.rank = rank_for(first_at[st.points], n) if st.points > 0 else -1


def flag(s: ExchangeState, c: FlagTrades) -> None:
    book = s.growth
    if len(c.trades) > MAX_ENTRIES or not 0 < len(c.alert_id) <= 64:
        s.events.append(GrowthRejected("FlagTrades", 0, TOO_MANY))
        return
    if any(not 0 <= t.notional <= MAX_AMOUNT_ATOMS for t in c.trades):
        s.events.append(GrowthRejected("FlagTrades", 0, "InvalidAmount"))
        return
    deducted = 0
    for t in c.trades:
        buyer, seller = s.owner(t.buyer), s.owner(t.seller)
        if t.trade_id in book.flagged or buyer < 0 or seller < 0:
            continue
        book.flagged.add(t.trade_id)
        if book.linked_at(buyer, seller, t.ts_us):  # it earned nothing when it was made
            continue
        add_volume(s, buyer, -t.notional)
        add_volume(s, seller, -t.notional)
        deducted += 2 * t.notional
    s.events.append(TradesFlagged(c.alert_id, len(c.trades), deducted))


def link(s: ExchangeState, c: LinkAccounts) -> None:
    owners = sorted({s.owner(a) for a in c.accounts})
    if len(c.accounts) > MAX_ENTRIES or len(c.reason) > 200 or len(owners) < 2:
        s.events.append(GrowthRejected("LinkAccounts", 0, TOO_MANY if len(c.accounts) > MAX_ENTRIES else "InvalidLink"))
        return
    if owners[0] < 0:
        s.events.append(GrowthRejected("LinkAccounts", 0, UNKNOWN_ACCOUNT))
        return
    for other in owners[1:]:
        s.growth.link(owners[0], other, s.last_ts_us)
    s.events.append(AccountsLinked(owners, c.reason, s.last_ts_us))


def current_season(s: ExchangeState) -> int:
    return season_at(s.spec.growth, s.last_ts_us)
