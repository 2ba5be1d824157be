"""The pre-market state: each pre-market's phase and its listing's running average.

Phases: ``Trading`` (the banded mark follows the book) -> ``Listing`` (the spot market is open;
the contract still trades; each crank adds ``spot price x elapsed µs`` to ``weighted_sum`` and
the µs to ``weighted_us``) -> ``Settled`` (every position closed at ``settle_price``; the perp is
delisted). Invariants: ``0 <= weighted_us <= end_us - start_us``; a ``Settled`` market has
``settle_price > 0``; phases only move forward. Nothing here holds funds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from rucksack.exchange.core.market_status import DELISTED

if TYPE_CHECKING:
    from rucksack.exchange.core.market_state import MarketState
    from rucksack.exchange.core.market_status import MarketStatusBook

TRADING: Final = "Trading"
LISTING: Final = "Listing"
SETTLED: Final = "Settled"
NOT_LISTED_REASON: Final = "NotListedYet"


class PreMarket(msgspec.Struct, array_like=True):
    market: str
    phase: str = TRADING
    start_us: int = 0  # listing time
    end_us: int = 0  # start_us + the reference window
    sampled_to_us: int = 0  # the spot price is summed up to here
    weighted_sum: int = 0  # sum of spot price ticks x µs
    weighted_us: int = 0  # µs with a spot price
    settle_price: int = 0  # ticks, once settled


class PreMarketBook:
    def __init__(self, symbols: list[str]) -> None:
        self.markets: dict[str, PreMarket] = {s: PreMarket(s) for s in symbols}  # in spec order

    def record(self) -> list[PreMarket] | None:
        """The snapshot's copy; None while every pre-market is still only trading (older
        snapshots and hashes stay the same)."""
        if all(p.phase == TRADING for p in self.markets.values()):
            return None
        return [msgspec.structs.replace(p) for p in self.markets.values()]

    def load(self, records: list[PreMarket]) -> None:
        for rec in records:
            if rec.market not in self.markets:
                raise ValueError(f"snapshot has pre-market {rec.market}, the spec does not")
            self.markets[rec.market] = msgspec.structs.replace(rec)


def start(markets: list[MarketState], status: MarketStatusBook) -> None:
    """At state creation: each pre-market's first mark (and index) is its initial price, and its
    spot market waits, delisted, for the listing."""
    by_symbol = {m.symbol: m for m in markets}
    for m in markets:
        pre = m.spec.premarket
        if pre is not None:
            m.index_price = m.mark = pre.initial_price_ticks
            spot = by_symbol[pre.spot_market]
            status.status[spot.index] = DELISTED
            status.reason[spot.index] = NOT_LISTED_REASON


def check(book: PreMarketBook) -> list[str]:
    """The invariants of the module docstring (``core.invariants`` runs them)."""
    problems = []
    for p in book.markets.values():
        if p.phase not in (TRADING, LISTING, SETTLED):
            problems.append(f"pre-market {p.market}: unknown phase {p.phase}")
        if not 0 <= p.weighted_us <= max(0, p.end_us - p.start_us):
            problems.append(f"pre-market {p.market}: {p.weighted_us} µs sampled of a {p.end_us - p.start_us} µs window")
        if p.phase == SETTLED and p.settle_price <= 0:
            problems.append(f"pre-market {p.market}: settled without a price")
    return problems
