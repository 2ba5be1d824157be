"""The fee-tier state: 30-day volume per owner, the tier it earns, VIP levels, NFT holdings.

Volume is settlement-asset atoms of notional (quote atoms of a fill, USDC), bucketed by the UTC
day of the command that filled (days since the epoch; an account's latest day waits in its own
counters first, ``tiers.volume``), per *owner*: a subaccount's fills count
towards its top-level account (vaults-growth.md §3.1), and every account of an owner pays the
owner's tier. Only markets quoted in the settlement asset count. Both sides of a fill count.

``RecomputeFeeTiers(D)`` sums each owner's buckets of days ``D-30 .. D-1`` (the window), drops
older buckets, and sets the volume tier: the highest tier whose spot threshold *or* futures
threshold the window's spot or futures volume reaches (a 0 threshold on a tier above the first
means that kind of volume does not reach it: VIP only). An account's fee tier is always
``max(volume tier, operator VIP level, NFT VIP level while the proof holds)``.

Invariants: every owner key is a top-level account; every bucket is non-negative; levels are
valid tier indexes; ``day`` (the last recomputed day) only grows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from rucksack.exchange.core.ledger.balances import Account

WINDOW_DAYS = 30
DAY_US = 86_400_000_000


class NftHolding(msgspec.Struct, array_like=True, frozen=True):
    """The proof that earned an owner its NFT perk: ``address`` held ``token_id``."""

    address: str
    token_id: int


class TierRecord(msgspec.Struct, array_like=True, frozen=True):
    """The snapshot's picture of a :class:`TierBook` (every list sorted)."""

    day: int
    volume: list[tuple[int, int, int, int]]  # (owner, day, spot atoms, futures atoms)
    volume_tier: list[tuple[int, int]]
    vip: list[tuple[int, int]]
    nft: list[tuple[int, NftHolding]]


class TierBook:
    def __init__(self) -> None:
        self.day = -1  # the last day recomputed; -1: never
        self.volume: dict[int, dict[int, list[int]]] = {}  # owner -> day -> [spot, futures]
        self.volume_tier: dict[int, int] = {}  # owner -> tier its window earned (absent: 0)
        self.vip: dict[int, int] = {}  # owner -> operator VIP level (absent: 0)
        self.nft: dict[int, NftHolding] = {}  # owner -> the NFT proof in force

    def add(self, owner: int, day: int, spot_atoms: int, futures_atoms: int) -> None:
        """Count one fill's notional for ``owner`` on ``day`` (hot path: called per fill side)."""
        days = self.volume.get(owner)
        if days is None:
            days = self.volume[owner] = {}
        bucket = days.get(day)
        if bucket is None:
            days[day] = [spot_atoms, futures_atoms]
        else:
            bucket[0] += spot_atoms
            bucket[1] += futures_atoms

    def window(self, owner: int, end_day: int) -> tuple[int, int]:
        """(spot, futures) volume of ``owner`` over the 30 days before ``end_day``."""
        spot = futures = 0
        for day, (s, f) in self.volume.get(owner, {}).items():
            if end_day - WINDOW_DAYS <= day < end_day:
                spot += s
                futures += f
        return spot, futures

    def prune(self, day: int) -> None:
        """Drop buckets older than the window ending before ``day``."""
        for owner in sorted(self.volume):
            days = self.volume[owner]
            for d in [d for d in days if d < day - WINDOW_DAYS]:
                del days[d]
            if not days:
                del self.volume[owner]

    def record(self, accounts: Iterable[Account]) -> TierRecord | None:
        """The snapshot's picture, the fills' day counters still on ``accounts`` merged into the
        buckets (a restored engine holds them there: same volume, same hash); None while there is
        nothing at all (older snapshots and hashes stay the same)."""
        volume = {o: {d: list(b) for d, b in days.items()} for o, days in self.volume.items()}
        for a in accounts:
            if a.vol_spot or a.vol_futures:
                bucket = volume.setdefault(a.parent or a.account, {}).setdefault(a.vol_day, [0, 0])
                bucket[0] += a.vol_spot
                bucket[1] += a.vol_futures
        if self.day < 0 and not volume and not self.vip and not self.nft:
            return None
        return TierRecord(
            day=self.day,
            volume=[(o, d, b[0], b[1]) for o in sorted(volume) for d, b in sorted(volume[o].items())],
            volume_tier=sorted(self.volume_tier.items()),
            vip=sorted(self.vip.items()),
            nft=sorted(self.nft.items()),
        )

    @classmethod
    def from_record(cls, rec: TierRecord) -> TierBook:
        book = cls()
        book.day = rec.day
        for owner, day, spot, futures in rec.volume:
            book.volume.setdefault(owner, {})[day] = [spot, futures]
        book.volume_tier = dict(rec.volume_tier)
        book.vip = dict(rec.vip)
        book.nft = dict(rec.nft)
        return book


def check(book: TierBook, n_tiers: int, accounts: Iterable[Account] = ()) -> list[str]:
    """The invariants of the module docstring (``core.invariants`` runs them)."""
    problems = [
        f"tiers: negative day volume of account {a.account}" for a in accounts if a.vol_spot < 0 or a.vol_futures < 0
    ]
    for owner, days in book.volume.items():
        if any(s < 0 or f < 0 for s, f in days.values()):
            problems.append(f"tiers: negative volume of owner {owner}")
    for name, levels in (("volume tier", book.volume_tier), ("VIP level", book.vip)):
        for owner, level in levels.items():
            if not 0 <= level < n_tiers:
                problems.append(f"tiers: {name} {level} of owner {owner} is not a tier")
    return problems
