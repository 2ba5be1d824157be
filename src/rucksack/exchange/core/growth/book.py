"""The growth programmes' state: the points weeks and seasons, surveillance's links and flags,
referral codes, ties, rates, and what each referrer is owed and was paid.

Invariants: an owner is a top-level account; ``link_root`` is derived from ``link_edges`` (each
linked group maps to its smallest owner); ``code_owner`` and ``code_of`` are inverse; a tie in
``referrer_of`` is never removed or changed; ``owed`` is in micro-atoms (settlement atoms x 10**6)
and ``paid`` in atoms. Records are mutable msgspec structs, so the snapshot carries copies.
"""

from __future__ import annotations

import msgspec


class WeekPoints(msgspec.Struct, array_like=True, frozen=True):
    """One owner's points for one week, by source."""

    week_end_us: int
    volume: int
    lend: int
    hold: int

    @property
    def total(self) -> int:
        return self.volume + self.lend + self.hold


class Standing(msgspec.Struct, array_like=True):
    """One owner in one season: points so far, rank index (-1 none yet), the weeks distributed."""

    points: int = 0
    rank: int = -1
    weeks: list[WeekPoints] = []


class Referral(msgspec.Struct, array_like=True):
    """A referred account's record: its referrer, qualifying volume, fees counted (settlement
    atoms) and what its referrer earned from them (micro-atoms)."""

    referrer: int
    since_us: int
    volume: int = 0
    fees: int = 0
    earned_micro: int = 0


class GrowthRecord(msgspec.Struct, array_like=True, frozen=True):
    """The snapshot's picture of a :class:`GrowthBook` (every map as a sorted list)."""

    week_volume: list[tuple[int, int]]
    week_lend: list[tuple[int, int]]
    week_hold: list[tuple[int, int]]
    last_sample_hour: int
    last_snapshot_us: int
    pending_season: int
    pending: list[tuple[int, WeekPoints]]
    last_distributed_us: int
    standings: list[tuple[int, list[tuple[int, Standing]]]]
    flagged: list[int]
    link_edges: list[tuple[int, int, int]]
    codes: list[tuple[str, int]]
    referrals: list[tuple[int, Referral]]
    rates: list[tuple[int, int]]
    owed: list[tuple[int, int]]
    paid: list[tuple[int, int]]
    last_payout_us: int


class GrowthBook:
    def __init__(self) -> None:
        # points: the open week's accumulators per owner (volume may go negative: a deduction carried)
        self.week_volume: dict[int, int] = {}
        self.week_lend: dict[int, int] = {}  # settlement atom-hours
        self.week_hold: dict[int, int] = {}
        self.last_sample_hour = -1
        self.last_snapshot_us = 0
        self.pending_season = -1  # season of the pending (snapshotted, undistributed) week; -1 none
        self.pending: dict[int, WeekPoints] = {}
        self.last_distributed_us = 0
        self.standings: dict[int, dict[int, Standing]] = {}  # season index -> owner -> standing
        self.flagged: set[int] = set()  # trade ids already deducted
        self.link_edges: list[tuple[int, int, int]] = []  # (owner, owner, since_us), in order made
        self.link_root: dict[int, int] = {}
        # affiliates
        self.code_owner: dict[str, int] = {}
        self.code_of: dict[int, str] = {}
        self.referrals: dict[int, Referral] = {}  # referred top-level account -> its record
        self.rates: dict[int, int] = {}  # approved rates (ppm) by referrer
        self.owed: dict[int, int] = {}  # micro-atoms by referrer
        self.paid: dict[int, int] = {}  # atoms by referrer
        self.last_payout_us = 0
        self.active = False  # trades are observed (a season is configured or a referral exists)

    def empty(self) -> bool:
        """Nothing has happened yet (the snapshot then carries no growth record)."""
        return not (
            self.week_volume
            or self.week_lend
            or self.week_hold
            or self.last_sample_hour >= 0
            or self.last_snapshot_us
            or self.standings
            or self.link_edges
            or self.flagged
            or self.code_owner
            or self.referrals
            or self.rates
            or self.last_payout_us
        )

    def root(self, owner: int) -> int:
        return self.link_root.get(owner, owner)

    def link(self, a: int, b: int, since_us: int) -> None:
        """Owners ``a`` and ``b`` are one from ``since_us`` (nothing new when they already are)."""
        if self.root(a) == self.root(b):
            return
        self.link_edges.append((a, b, since_us))
        self._merge(a, b)

    def _merge(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return
        keep, gone = min(ra, rb), max(ra, rb)
        for owner, r in list(self.link_root.items()):
            if r == gone:
                self.link_root[owner] = keep
        self.link_root[a] = self.link_root[b] = keep
        self.link_root[gone] = keep

    def linked_at(self, a: int, b: int, ts_us: int) -> bool:
        """Whether owners ``a`` and ``b`` were one linked group at ``ts_us`` (links made by then)."""
        if a == b:
            return True
        reach, frontier = {a}, [a]
        while frontier:
            x = frontier.pop()
            for p, q, since in self.link_edges:
                if since <= ts_us and x in (p, q):
                    y = q if x == p else p
                    if y not in reach:
                        reach.add(y)
                        frontier.append(y)
        return b in reach

    def record(self) -> GrowthRecord:
        def copy(s: Standing) -> Standing:
            return Standing(s.points, s.rank, list(s.weeks))

        return GrowthRecord(
            week_volume=sorted(self.week_volume.items()),
            week_lend=sorted(self.week_lend.items()),
            week_hold=sorted(self.week_hold.items()),
            last_sample_hour=self.last_sample_hour,
            last_snapshot_us=self.last_snapshot_us,
            pending_season=self.pending_season,
            pending=sorted(self.pending.items()),
            last_distributed_us=self.last_distributed_us,
            standings=[
                (season, [(o, copy(s)) for o, s in sorted(by_owner.items())])
                for season, by_owner in sorted(self.standings.items())
            ],
            flagged=sorted(self.flagged),
            link_edges=list(self.link_edges),
            codes=sorted(self.code_owner.items()),
            referrals=[(a, msgspec.structs.replace(r)) for a, r in sorted(self.referrals.items())],
            rates=sorted(self.rates.items()),
            owed=sorted(self.owed.items()),
            paid=sorted(self.paid.items()),
            last_payout_us=self.last_payout_us,
        )

    @classmethod
    def from_record(cls, rec: GrowthRecord) -> GrowthBook:
        book = cls()
        book.week_volume, book.week_lend, book.week_hold = (
            dict(rec.week_volume),
            dict(rec.week_lend),
            dict(rec.week_hold),
        )
        book.last_sample_hour, book.last_snapshot_us = rec.last_sample_hour, rec.last_snapshot_us
        book.pending_season, book.pending = rec.pending_season, dict(rec.pending)
        book.last_distributed_us = rec.last_distributed_us
        book.standings = {
            season: {o: Standing(s.points, s.rank, list(s.weeks)) for o, s in owners}
            for season, owners in rec.standings
        }
        book.flagged = set(rec.flagged)
        for a, b, since in rec.link_edges:
            book.link(a, b, since)
        book.code_owner = dict(rec.codes)
        book.code_of = {a: c for c, a in rec.codes}
        book.referrals = {a: msgspec.structs.replace(r) for a, r in rec.referrals}
        book.rates, book.owed, book.paid = dict(rec.rates), dict(rec.owed), dict(rec.paid)
        book.last_payout_us = rec.last_payout_us
        book.active = bool(book.referrals)
        return book
