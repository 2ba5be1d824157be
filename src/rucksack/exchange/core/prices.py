"""Price commands: index updates and the marks derived from them (margin-model.md §7.1).

Every change of a mark bumps ``margin.epoch`` so cached account valuations are recomputed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.commands import SetIndexPrice
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import IndexPriceRejected, IndexPriceSet
from rucksack.exchange.core.halts import observe_index as circuit_breaker
from rucksack.exchange.core.market_state import drop_stale_basis, mark_price, observe_index
from rucksack.exchange.core.orders.placement import MAX_PRICE_TICKS
from rucksack.exchange.core.perps.funding import sample_premium

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def refresh_marks(s: ExchangeState) -> None:
    """At the risk and funding ticks: a perp whose book lost its mid since the last index
    update takes the index as its mark now (§7.1), announced like an index update."""
    for m in s.markets:
        if m.is_perp and m.basis_ewma and drop_stale_basis(m):
            s.margin.epoch += 1
            s.events.append(IndexPriceSet(m.symbol, m.index_price, m.mark))


def set_index(s: ExchangeState, c: SetIndexPrice) -> None:
    m = s.market_by_symbol.get(c.market)
    if m is None or c.price <= 0 or c.price > MAX_PRICE_TICKS or (m.max_price and c.price > m.max_price):
        reason = Reason.UNKNOWN_MARKET if m is None else Reason.INVALID_PRICE
        s.events.append(IndexPriceRejected(c.market, c.price, reason))
        return
    if m.spec.premarket is not None:  # its mark is its own banded book price (core.premarket)
        s.events.append(IndexPriceRejected(c.market, c.price, Reason.NO_INDEX))
        return
    observe_index(m, c.price, s.last_ts_us)  # the basis EWMA, or the index when no mid (§7.1)
    mark = mark_price(m)
    m.mark = mark
    s.margin.epoch += 1
    if m.is_perp:
        sample_premium(m, mark)
    s.events.append(IndexPriceSet(c.market, c.price, mark))
    circuit_breaker(s, m, c.price)  # may halt the market (core.halts)
