"""Golden scenario: a crash the book cannot absorb — the empty liquidity fund leaves the deficit to
the opposing winner, then the backstop takes what its margin allows and ADL closes the rest at the
bankruptcy price (the mark, once the deficit is absorbed). Expected numbers by hand from §14.3."""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import LiquidationSweep, PlaceOrder, SetBackstopProvider, SettlePnl
from rucksack.exchange.core.events import (
    BadDebt,
    LiquidationEnded,
    LiquidationStarted,
    LossSocialized,
    PositionTransferred,
)
from tests.unit.exchange.core.perps.helpers import USDC, PerpDriver, sqrt_frac

PERP = "SOL_USDC_PERP"


def im(lots: int, price: F) -> F:
    x = F(lots, 100) * price
    return x * max(F("0.05"), F(1, 50), F("0.0002236") * sqrt_frac(x))


def test_crash_goes_to_backstop_then_adl() -> None:
    d = PerpDriver()
    trader = d.new_account(USDC=10_000 * USDC)
    short = d.new_account(USDC=1_000_000 * USDC)
    provider = d.new_account(USDC=3_000 * USDC)
    d(SetBackstopProvider(provider, True))
    d.index("SOL", "150")
    d(PlaceOrder(short, PERP, "Ask", "Limit", lots=60_000, price=15_000))
    d(PlaceOrder(trader, PERP, "Bid", "Limit", lots=60_000, price=15_000))  # 600 SOL long, $90k
    fee = F(90_000) * F("0.0005")
    assert im(60_000, F(150)) <= 10_000 - fee
    # crash to 132 with an empty book: equity 10,000 - 45 - 600 x 18 = -845 < 0, MF < ACMF
    d.index("SOL", "132")
    equity = 10_000 - fee - 600 * 18
    assert equity == -845
    events = d(LiquidationSweep())
    [started] = [e for e in events if isinstance(e, LiquidationStarted)]
    assert F(started.net_equity, USDC) == equity
    # the loss waterfall runs first: the liquidity fund holds nothing, so the whole deficit is
    # charged to the only opposing winner, the short (profit 600 x 18 = 10,800 >= 845)
    [social] = [e for e in events if isinstance(e, LossSocialized)]
    assert (social.account, social.counterparty, F(social.amount, USDC)) == (trader, short, 845)
    [bad] = [e for e in events if isinstance(e, BadDebt)]
    assert (F(bad.deficit, USDC), bad.covered, F(bad.socialized, USDC), bad.residual) == (845, 0, 845, 0)
    moves = [e for e in events if isinstance(e, PositionTransferred)]
    # now at zero equity, the trader's zero and bankruptcy prices are the mark: the provider takes
    # at the mark whatever its margin allows, halving from the full size: 600 SOL needs more than
    # $3,000 of IM, 300 SOL does not
    assert im(60_000, F(132)) > 3_000 >= im(30_000, F(132))
    first = moves[0]
    assert (first.kind, first.counterparty, first.lots, first.price) == ("Backstop", provider, 30_000, 13_200)
    assert moves[0].counterparty_price == 13_200  # (2 ZP + mark) / 3 = mark
    # ADL: the short takes the other 300 SOL at the bankruptcy price, the mark
    assert (moves[1].kind, moves[1].counterparty, moves[1].lots, moves[1].price) == ("Adl", short, 30_000, 13_200)
    assert any(isinstance(e, LiquidationEnded) for e in events)
    r = d.margin(trader)
    assert r.exposure == 0 and r.equity == 0
    assert not d.acct(trader).liquidating
    # positions balance, the provider holds 300 SOL long, the short 300 SOL less
    market = d.engine.market_by_symbol[PERP].index
    assert d.acct(provider).positions[market].lots == 30_000
    assert d.acct(short).positions[market].lots == -30_000
    # settlement realizes the trader's loss against its USDC: it ends with nothing, owing nothing
    d(SettlePnl())
    assert d.acct(trader).unsettled == 0
    assert d.available(trader, "USDC") == 0


def test_the_zero_price_is_exact_and_rounds_against_the_liquidatee() -> None:
    """ZP = mark x (1 - MF) from the exact MF = equity / X. Here it is the whole tick 142.40;
    truncating MF to 18 decimals first gave 142.41, one tick in the liquidatee's favour."""
    d = PerpDriver()
    trader = d.new_account(USDC=2_302_500_000)  # 2,302.50 USDC
    short = d.new_account(USDC=1_000_000 * USDC)
    provider = d.new_account(USDC=100_000 * USDC)
    d(SetBackstopProvider(provider, True))
    d.index("SOL", "150")
    d(PlaceOrder(short, PERP, "Ask", "Limit", lots=30_000, price=15_000))
    d(PlaceOrder(trader, PERP, "Bid", "Limit", lots=30_000, price=15_000))  # 300 SOL long, $45k
    # to 143 with an empty book: equity 2,302.50 - 22.50 fee - 300 x 7 = 180, X = 300 x 143
    d.index("SOL", "143")
    r = d.margin(trader)
    equity, exposure = F(180), F(300 * 143)
    assert (F(r.equity, USDC), F(r.exposure, USDC)) == (equity, exposure)
    events = d(LiquidationSweep())
    assert any(isinstance(e, LiquidationStarted) for e in events)
    [move, *_] = [e for e in events if isinstance(e, PositionTransferred)]
    zero = F(143) * (1 - equity / exposure)
    assert zero == F("142.40")  # a whole tick: no rounding at all
    assert (move.kind, move.counterparty, F(move.price, 100)) == ("Backstop", provider, zero)
    assert F(move.counterparty_price, 100) == (2 * zero + 143) / 3 == F("142.60")
    # the liquidity fund is credited the provider's discount, to the atom
    fund = d.acct(d.engine.risk.liquidity_fund_account)
    assert F(fund.unsettled, USDC) == F(move.lots, 100) * (F("142.60") - zero)


def test_zero_price_rounds_once_against_the_liquidatee() -> None:
    import math

    from rucksack.exchange.core.liquidation.sweep import zero_price

    for mark, equity, exposure in ((14_300, 180, 42_900), (248_500, 7, 43_000), (13_200, 1, 3), (500, -5, 9)):
        exact_sell = F(mark) * (1 - F(max(equity, 0), exposure))
        exact_buy = F(mark) * (1 + F(max(equity, 0), exposure))
        assert zero_price(mark, equity, exposure, True) == math.floor(exact_sell)  # a seller gets less
        assert zero_price(mark, equity, exposure, False) == math.ceil(exact_buy)  # a buyer pays more
