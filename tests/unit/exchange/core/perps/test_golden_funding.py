"""Golden scenario: three hours of funding, expected numbers from the §14.4 formula by hand."""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import ApplyFunding, CancelAllOrders, LiquidationSweep, PlaceOrder, SettlePnl
from rucksack.exchange.core.events import FundingPaid, IndexPriceSet
from rucksack.exchange.core.perps.funding import funding_rate
from tests.unit.exchange.core.perps.helpers import SECOND, USDC, PerpDriver

PERP = "SOL_USDC_PERP"
WAD = 10**18


def hand_rate(mean: F) -> F:
    """(P + clamp(0.0001 - P, +-0.0005)) / 8, clamped to +-1% (truncation aside)."""
    gap = min(max(F("0.0001") - mean, F("-0.0005")), F("0.0005"))
    return min(max((mean + gap) / 8, F("-0.01")), F("0.01"))


def test_rate_formula_table() -> None:
    for mean in ("0", "0.0001", "0.001", "-0.002", "0.5", "-0.5"):
        expected = hand_rate(F(mean))
        got = funding_rate(int(F(mean) * WAD), 10**14, 5 * 10**14, 8, 10**16)
        assert abs(F(got, WAD) - expected) <= F(1, WAD)


def test_three_hours_of_funding_between_a_long_and_a_short() -> None:
    d = PerpDriver()
    long_, short, quoter = (d.new_account(USDC=100_000 * USDC) for _ in range(3))
    d.index("SOL", "150")
    d(PlaceOrder(short, PERP, "Ask", "Limit", lots=1_000, price=15_000))
    d(PlaceOrder(long_, PERP, "Bid", "Limit", lots=1_000, price=15_000))  # 10 SOL long vs short
    d(ApplyFunding(0))  # first tick sets the clock
    # hour 1: the book is empty, so mark = index and every premium sample is 0
    d.index("SOL", "150")
    [paid1] = [e for e in d(ApplyFunding(1)) if isinstance(e, FundingPaid)]
    rate1 = hand_rate(F(0))  # 0.0000125
    assert F(paid1.rate_wad, WAD) == rate1 == F("0.0000125")
    assert F(paid1.paid, USDC) == rate1 * 10 * 150 == F("0.01875")  # the long pays, exactly
    # hour 2: a quoter's book sits above the index, so marks (and premiums) rise
    d(PlaceOrder(quoter, PERP, "Bid", "Limit", lots=100, price=15_090))
    d(PlaceOrder(quoter, PERP, "Ask", "Limit", lots=100, price=15_110))
    marks: list[int] = []
    for _ in range(5):
        marks += [e.mark_price for e in d.index("SOL", "150") if isinstance(e, IndexPriceSet) and e.market == PERP]
    samples = [F(m - 15_000, 15_000) for m in marks]
    mean = sum(samples, F(0)) / len(samples)
    [paid2] = [e for e in d(ApplyFunding(2)) if isinstance(e, FundingPaid)]
    rate2 = hand_rate(mean)
    assert abs(F(paid2.rate_wad, WAD) - rate2) <= F(2, WAD)
    mark2 = F(paid2.mark_price, 100)
    assert paid2.paid == -(-paid2.rate_wad * 1_000 * paid2.mark_price * 100 // WAD)  # rounded up
    assert abs(F(paid2.paid, USDC) - rate2 * 10 * mark2) < F(1, USDC)
    # hour 3 (no new samples): back to the interest term only
    [paid3] = [e for e in d(ApplyFunding(3)) if isinstance(e, FundingPaid)]
    assert F(paid3.rate_wad, WAD) == F("0.0000125")
    # a repeated hour pays nothing
    assert not [e for e in d(ApplyFunding(3)) if isinstance(e, FundingPaid)]
    # funding is zero-sum: the long's loss is the short's gain plus the fund's rounding dust
    pos_long = d.acct(long_).positions[d.engine.market_by_symbol[PERP].index]
    pos_short = d.acct(short).positions[d.engine.market_by_symbol[PERP].index]
    fund = d.acct(d.engine.risk.liquidity_fund_account)
    total = paid1.paid + paid2.paid + paid3.paid
    assert pos_long.funding == -total
    assert pos_short.funding == paid1.received + paid2.received + paid3.received
    assert pos_long.funding + pos_short.funding + fund.unsettled == 0
    d(SettlePnl())


def test_an_emptied_book_returns_the_mark_to_the_index_and_funding_to_the_baseline() -> None:
    """§7.1: the mark is index + basis only while the book has a mid; without one the index is
    the mark, so a basis left by quotes that have gone neither pays funding nor moves PnL."""
    d = PerpDriver()
    long_, short, quoter = (d.new_account(USDC=100_000 * USDC) for _ in range(3))
    m = d.engine.market_by_symbol[PERP]
    d.index("SOL", "101")
    d(PlaceOrder(short, PERP, "Ask", "Limit", lots=1_000, price=10_100))
    d(PlaceOrder(long_, PERP, "Bid", "Limit", lots=1_000, price=10_100))  # 10 SOL at 101
    d(ApplyFunding(0))
    # quotes around 101.30: a full minute later the EWMA basis is the whole sample, 0.30
    d(PlaceOrder(quoter, PERP, "Bid", "Limit", lots=100, price=10_129))
    d(PlaceOrder(quoter, PERP, "Ask", "Limit", lots=100, price=10_131))
    d.now += 60 * SECOND
    [quoted] = [e for e in d.index("SOL", "101") if isinstance(e, IndexPriceSet) and e.market == PERP]
    assert quoted.mark_price == 10_130 == m.mark
    d(ApplyFunding(1))  # pays the quoted premium and starts a new interval
    # the quoter leaves: the book is empty
    d(CancelAllOrders(quoter, PERP))
    assert not m.bids.best_price() and not m.asks.best_price()
    # the next risk tick, before any new index, already values at the index
    [tick] = [e for e in d(LiquidationSweep()) if isinstance(e, IndexPriceSet)]
    assert (tick.market, tick.index_price, tick.mark_price) == (PERP, 10_100, 10_100) and m.mark == 10_100
    for _ in range(3):
        [empty] = [e for e in d.index("SOL", "101") if isinstance(e, IndexPriceSet) and e.market == PERP]
        assert empty.mark_price == 10_100 == m.mark  # the index, not 101.30
    # unrealized PnL at the index: the long bought at 101, so it is exactly 0
    assert d.margin(long_).upnl == 0 and d.margin(short).upnl == 0
    # the next funding rate is the baseline 0.01% / 8, paid on 10 SOL x 101
    [paid] = [e for e in d(ApplyFunding(2)) if isinstance(e, FundingPaid)]
    assert F(paid.rate_wad, WAD) == hand_rate(F(0)) == F("0.0000125")
    assert paid.mark_price == 10_100
    assert F(paid.paid, USDC) == F("0.0000125") * 10 * 101 == F("0.012625")
