"""Max order / borrow / withdrawal and the estimated liquidation price agree with the engine's
own rule and with the formulas."""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import BorrowLend, PlaceOrder, Withdraw
from rucksack.exchange.core.events import BorrowLendExecuted, BorrowLendRejected, OrderRejected, WithdrawalRejected
from rucksack.exchange.core.risk.limits import (
    estimated_liquidation_price,
    max_borrow,
    max_perp_order_lots,
    max_withdrawal,
)
from tests.unit.exchange.core.perps.helpers import BTC, USDC, PerpDriver, sqrt_frac

PERP = "SOL_USDC_PERP"


def test_estimated_liquidation_price_of_a_10x_long() -> None:
    d = PerpDriver()
    maker = d.new_account(USDC=10_000_000 * USDC)
    trader = d.new_account(BTC=BTC // 10)
    d.index("BTC", "60000")
    d.index("SOL", "150")
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=38_000, price=15_000))
    d(PlaceOrder(trader, PERP, "Bid", "Limit", lots=38_000, price=15_000))
    m = d.engine.market_by_symbol[PERP]
    est = estimated_liquidation_price(d.engine, d.acct(trader), m)

    def liquidatable(cents: int) -> bool:
        p = F(cents, 100)
        x = 380 * p
        return 5700 + 380 * (p - 150) - F("28.5") <= x * max(F("0.025"), F("0.00013416") * sqrt_frac(x))

    assert 13_900 <= est < 14_000 and liquidatable(est) and not liquidatable(est + 1)
    assert m.index_price == 15_000  # the estimate leaves the market as it was


def test_estimated_liquidation_price_of_a_short_is_above_the_mark() -> None:
    """A short is liquidated as the price rises: the smallest such price (the search once answered
    100 x the mark, the far end of its range, for every short)."""
    d = PerpDriver()
    maker = d.new_account(USDC=10_000_000 * USDC)
    trader = d.new_account(USDC=1_000 * USDC)
    d.index("SOL", "150")
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=3_000, price=15_000))
    d(PlaceOrder(trader, PERP, "Ask", "Limit", lots=3_000, price=15_000))  # 30 SOL short, taker
    m = d.engine.market_by_symbol[PERP]
    est = estimated_liquidation_price(d.engine, d.acct(trader), m)

    def liquidatable(cents: int) -> bool:
        p = F(cents, 100)
        x = 30 * p
        return 1000 - F("2.25") - 30 * (p - 150) <= x * max(F("0.025"), F("0.00013416") * sqrt_frac(x))

    assert 15_000 < est < 20_000 and liquidatable(est) and not liquidatable(est - 1)
    assert m.index_price == 15_000


def test_limits_match_what_the_engine_accepts() -> None:
    d = PerpDriver()
    lender = d.new_account(USDC=1_000_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 1_000_000 * USDC))
    maker = d.new_account(USDC=10_000_000 * USDC)
    a = d.new_account(USDC=1_000 * USDC)
    d.index("SOL", "150")
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=100_000, price=15_000))
    m = d.engine.market_by_symbol[PERP]
    lots = max_perp_order_lots(d.engine, d.acct(a), m, True, 15_000)
    assert isinstance(d(PlaceOrder(a, PERP, "Bid", "Limit", lots=lots + 1, price=15_000))[0], OrderRejected)
    assert not isinstance(d(PlaceOrder(a, PERP, "Bid", "Limit", lots=lots, price=15_000))[0], OrderRejected)
    # with the position open, the withdrawal and borrow limits are exact too
    usdc = 0
    w = max_withdrawal(d.engine, d.acct(a), usdc)
    assert isinstance(d(Withdraw(a, "USDC", w + 1, "x"))[0], WithdrawalRejected)
    b = max_borrow(d.engine, d.acct(a), usdc)
    assert isinstance(d(BorrowLend(a, "USDC", "Borrow", b + 1))[0], BorrowLendRejected)
    if b:
        assert isinstance(d(BorrowLend(a, "USDC", "Borrow", b))[0], BorrowLendExecuted)
