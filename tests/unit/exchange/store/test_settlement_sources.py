"""Settlement source attribution (store.settlement_sources): exact integer rows summing to what
was settled, partial settlements within one atom of each source's exact share."""

from __future__ import annotations

import random
from fractions import Fraction

from rucksack.exchange.store.settlement_sources import (
    FUNDING,
    REALIZE_PNL,
    SOURCES,
    TRADING_FEES,
    Attribution,
    split,
)


def test_a_full_settlement_pays_every_source_exactly() -> None:
    pending = {TRADING_FEES: -151_000, FUNDING: -7_500, REALIZE_PNL: -2_000_000}
    assert split(pending, -2_158_500) == [(TRADING_FEES, -151_000), (FUNDING, -7_500), (REALIZE_PNL, -2_000_000)]
    assert split(pending, 0) == []


def test_partial_settlements_sum_exactly_and_stay_within_an_atom() -> None:
    rng = random.Random(18)
    for _ in range(2000):
        pending = {s: rng.randint(-(10**6), 10**6) for s in rng.sample(SOURCES, rng.randint(1, len(SOURCES)))}
        total = sum(pending.values())
        if not total:
            continue
        paid = rng.randint(0, abs(total)) * (1 if total > 0 else -1)
        rows = split(pending, paid)
        assert sum(a for _, a in rows) == paid
        for source, amount in rows:
            assert abs(amount - Fraction(pending[source] * paid, total)) < 1, (pending, paid, rows)


def test_the_engine_balance_is_matched_and_what_is_left_stays_pending() -> None:
    fee_account, fund = 1, 2
    a = Attribution([], fee_account, fund)
    a.fees(taker=1000, maker=1001, taker_fee=151, maker_fee=60, penalty=0)
    a.add(1000, FUNDING, -7)
    # the engine realized -2000 and, with 1000 available, paid 1000 of the -2158 owed
    rows = a.settle(1000, realized=-2000, paid=-1000, after=-1158)
    assert sum(v for _, v in rows) == -1000
    assert sum(a.pending[1000].values()) == -1158  # the engine's unsettled balance after it
    assert a.settle(1000, realized=0, paid=-1158, after=0) == [
        (s, v) for s, v in ((TRADING_FEES, -151 - dict(rows)[TRADING_FEES]), (FUNDING, -7 - dict(rows)[FUNDING]),
                            (REALIZE_PNL, -2000 - dict(rows)[REALIZE_PNL])) if v
    ]  # fmt: skip
    assert a.pending[fee_account] == {"TradingFeesSystem": 211}
    # a change no event names (a backstop transfer's price difference) is found at settlement
    assert a.settle(fund, realized=0, paid=0, after=50) == []
    assert a.pending[fund] == {"BackstopLiquidityFundProceeds": 50}
    touched = a.take()
    assert (1000, TRADING_FEES, 0) in touched and a.take() == []
