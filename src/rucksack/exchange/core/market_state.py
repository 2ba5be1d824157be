"""A market's live state: integer parameters, both book sides, reference, index and mark prices,
funding samples and open interest.

Mark price (margin-model §7.1), in Backpack's order of preference:

1. index + a one-minute EWMA of the basis ``mid - index`` (``mid = (best bid + best ask) / 2``,
   truncated), clamped to index x (1 +- 5%) — while the book has both a bid and an ask;
2. the index itself — when the mid is missing (an empty or one-sided book) and while the market
   is not trading (Backpack: "markets in PostOnly state use index as mark"): the basis is then
   dropped, so no basis left by earlier quotes outlives them;
3. (median of bid, ask and last; mid; last) — Backpack's fallbacks for a missing index. Here the
   index is the operator's own feed (``SetIndexPrice``) and a perp without one has no mark and
   takes no orders (``NoMarkPrice``), so they never arise: the mark is 0 until the first index.

The basis EWMA is sampled at every index update, weighted by the time since the previous one
(``min(elapsed, 60 s) / 60 s``, from the commands' timestamps — no clock), rounded toward zero.
The engine keeps ``mark`` current at every index update, and at every risk tick
(``LiquidationSweep``, each second) and funding tick drops a basis whose book has lost its mid
since — so even with an index that does not move, a stale basis lasts at most until the next
tick. Funding samples, unrealized PnL and liquidation all read that one figure.
"""

from __future__ import annotations

from typing import Final

from rucksack.exchange.core.book.side import BookSide
from rucksack.exchange.core.markets import MarketSpec
from rucksack.exchange.core.numeric import PPM


class MarketState:
    """A market's integer parameters, its two book sides and its reference price."""

    __slots__ = (
        "asks",
        "band_max",
        "band_min",
        "base",
        "basis_ewma",
        "bids",
        "impact_max",
        "impact_min",
        "index",
        "index_price",
        "index_ts_us",
        "is_perp",
        "is_spot",
        "last_funding_rate",
        "last_price",
        "lot_atoms",
        "lot_tick_atoms",
        "mark",
        "max_lots",
        "max_price",
        "min_lots",
        "min_notional",
        "min_price",
        "open_interest",
        "premium_count",
        "premium_sum",
        "quote",
        "spec",
        "symbol",
        "trading",
    )

    def __init__(self, index: int, spec: MarketSpec, base: int, quote: int) -> None:
        self.index = index
        self.spec = spec
        self.symbol = spec.symbol
        self.base = base
        self.quote = quote
        self.is_spot = spec.market_type == "SPOT"
        self.trading = spec.trading
        self.lot_atoms = spec.lot_atoms
        self.lot_tick_atoms = spec.lot_tick_atoms
        self.min_lots = spec.min_lots
        self.max_lots = spec.max_lots
        self.min_price = spec.min_price_ticks
        self.max_price = spec.max_price_ticks
        self.min_notional = spec.min_notional_atoms
        self.band_max = spec.price_band_max_ppm
        self.band_min = spec.price_band_min_ppm
        self.impact_max = spec.impact_max_ppm
        self.impact_min = spec.impact_min_ppm
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.last_price = 0  # ticks of the last trade; 0 before the first trade
        self.index_price = 0  # ticks; 0 until the feed has spoken
        self.basis_ewma = 0  # ticks: one-minute EWMA of (mid - index)
        self.index_ts_us = 0  # time of the last index update
        self.mark = 0  # mark_price(self), kept current by the engine at every index update
        self.is_perp = spec.market_type == "PERP"
        self.premium_sum = 0  # WAD: sum of (mark - index) / index samples this funding interval
        self.premium_count = 0
        self.open_interest = 0  # lots: sum of long positions
        self.last_funding_rate = 0  # WAD, the last rate paid

    def valuation_price(self) -> int:
        """Ticks positions are valued at: the mark (kept current at every index update), else the
        last trade, 0 when neither is known."""
        return self.mark or self.last_price


MARK_EWMA_US: Final = 60_000_000
MARK_BAND_PPM: Final = 50_000  # mark stays within index x (1 +- 5%)


def observe_index(m: MarketState, price: int, ts_us: int) -> None:
    """A new index ``price`` at ``ts_us``: fold the book's basis into the EWMA, or drop it when
    the book has no mid (preference 2), then record the index."""
    bid, ask = m.bids.best_price(), m.asks.best_price()
    if not (bid and ask and m.trading):
        m.basis_ewma = 0
    elif m.index_price:
        sample = (bid + ask) // 2 - price
        elapsed = min(ts_us - m.index_ts_us, MARK_EWMA_US)
        if elapsed > 0:
            step = (sample - m.basis_ewma) * elapsed
            m.basis_ewma += step // MARK_EWMA_US if step >= 0 else -(-step // MARK_EWMA_US)
    m.index_price = price
    m.index_ts_us = ts_us


def drop_stale_basis(m: MarketState) -> bool:
    """Between index updates: once the book has lost its mid (or the market stopped trading), the
    basis goes and the index is the mark (preference 2). Return whether the mark changed."""
    if not m.basis_ewma or (m.trading and m.bids.best_price() and m.asks.best_price()):
        return False
    m.basis_ewma = 0
    mark = mark_price(m)
    changed = mark != m.mark
    m.mark = mark
    return changed


def mark_price(m: MarketState) -> int:
    """The mark by the preference order in the module docstring; 0 while no index is known."""
    index = m.index_price
    if not index or not m.trading:
        return index
    lo = index - index * MARK_BAND_PPM // PPM
    hi = index + index * MARK_BAND_PPM // PPM
    mark = index + m.basis_ewma
    return lo if mark < lo else hi if mark > hi else mark
