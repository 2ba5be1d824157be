"""Lending pool: golden scenarios computed independently in decimals, and solvency on random streams."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rucksack.exchange.core.lending.curve import borrow_apr, lend_apr, utilization
from rucksack.exchange.core.lending.pool import Pool, PoolError
from rucksack.exchange.core.numeric import WAD
from tests.conftest import CURVE

# USDC-like (tests/conftest.py): optimal 80%, 0% base, 4% up to optimal, +60% above; exchange keeps 10%


def test_curve_two_slopes() -> None:
    assert borrow_apr(CURVE, 0) == 0
    assert borrow_apr(CURVE, 4 * 10**17) == 2 * 10**16  # half of optimal: half of slope 1
    assert borrow_apr(CURVE, 8 * 10**17) == 4 * 10**16
    assert borrow_apr(CURVE, 9 * 10**17) == 4 * 10**16 + 3 * 10**17  # halfway up slope 2
    assert borrow_apr(CURVE, WAD) == 64 * 10**16
    # lend APR = borrow APR x U x (1 - fee): at 80%, 4% x 0.8 x 0.9 = 2.88%
    assert lend_apr(CURVE, 8 * 10**17) == 288 * 10**14
    assert utilization(1, 3) == WAD // 3 + 1  # rounded up
    assert utilization(5, 0) == 0


def test_pool_at_80_percent_utilization_for_24_hours() -> None:
    """1,000,000 USDC lent, 800,000 borrowed, 24 hourly accruals, computed independently."""
    pool = Pool(CURVE)
    lend_shares = pool.lend(1_000_000 * 10**6)
    borrow_shares = pool.borrow(800_000 * 10**6)
    fee_total = 0
    for _ in range(24):
        fee_total += pool.accrue_hour()[1]
    # independent arithmetic in 60-digit decimals: utilization drifts up as debt compounds
    with localcontext() as ctx:
        ctx.prec = 60
        debt, claims = Decimal(800_000 * 10**6), Decimal(1_000_000 * 10**6)
        lender_model, exchange_model = claims, Decimal(0)
        for _ in range(24):
            u = min(debt / claims, Decimal(1))
            apr = (
                Decimal("0.04") * u / Decimal("0.8")
                if u <= Decimal("0.8")
                else (Decimal("0.04") + Decimal("0.6") * (u - Decimal("0.8")) / Decimal("0.2"))
            )
            interest = debt * apr / 8760
            debt += interest
            # 90% to all lend claims pro rata (the exchange's earlier cut included), 10% to the exchange
            lender_model += interest * Decimal("0.9") * lender_model / claims
            exchange_model += interest * Decimal("0.9") * exchange_model / claims + interest * Decimal("0.1")
            claims += interest
    assert abs(pool.debt(borrow_shares) - debt) <= 2  # atoms; rounding up, hour by hour
    lender = pool.claim(lend_shares)
    exchange = pool.claim(fee_total)
    assert abs(lender - lender_model) <= 30 and abs(exchange - exchange_model) <= 30
    assert pool.debt(borrow_shares) >= debt - 1 and lender + exchange <= pool.cash + pool.borrowed()
    # about 0.0876% of a year at ~4% on 800k: ~87.7 USDC of interest in a day
    assert 87 * 10**6 < pool.debt(borrow_shares) - 800_000 * 10**6 < 89 * 10**6


def test_limits() -> None:
    pool = Pool(CURVE)
    shares = pool.lend(100)
    with pytest.raises(PoolError, match="utilization"):
        pool.borrow(96)  # 96% > 95% maximum
    debt = pool.borrow(95)
    with pytest.raises(PoolError):
        pool.redeem(5, shares)  # only 5 cash left, and redeeming would push utilization over 95%
    with pytest.raises(PoolError, match="more than the debt"):
        pool.repay(96, debt)
    assert pool.repay(95, debt) == debt and pool.borrow_shares == 0
    assert pool.redeem(100, shares) == shares and pool.cash == 0
    with pytest.raises(PoolError):
        pool.lend(0)


ops = st.lists(
    st.tuples(
        st.sampled_from(("lend", "borrow", "repay", "redeem", "accrue")), st.integers(0, 3), st.integers(1, 10**12)
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_random_streams_stay_solvent_and_round_in_the_pools_favour(stream: list[tuple[str, int, int]]) -> None:
    pool = Pool(CURVE)
    lends = [0, 0, 0, 0]
    debts = [0, 0, 0, 0]
    paid_in = paid_out = 0
    for op, who, amount in stream:
        try:
            if op == "lend":
                lends[who] += pool.lend(amount)
                paid_in += amount
            elif op == "borrow":
                debts[who] += pool.borrow(amount)
                paid_out += amount
            elif op == "repay":
                amount = min(amount, pool.debt(debts[who]))
                debts[who] -= pool.repay(amount, debts[who])
                paid_in += amount
            elif op == "redeem":
                amount = min(amount, pool.claim(lends[who]))
                lends[who] -= pool.redeem(amount, lends[who])
                paid_out += amount
            else:
                pool.accrue_hour()
        except PoolError:
            continue
        assert pool.cash == paid_in - paid_out  # tokens conserved
        assert pool.is_solvent()
        assert sum(pool.claim(s) for s in lends) <= pool.lent() <= pool.cash + pool.borrowed()
        assert sum(pool.debt(s) for s in debts) >= pool.borrowed() - 3
        assert pool.borrow_shares == sum(debts)
