"""Golden scenarios for borrowing: the borrow limit from the IMF, and a spot-margin short
squeezed into borrow liquidation (bought back on the book, debt repaid). Numbers by hand."""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import BorrowLend, LiquidationSweep, PlaceOrder, Withdraw
from rucksack.exchange.core.events import (
    BorrowLendExecuted,
    BorrowLendRejected,
    LiquidationEnded,
    LiquidationStarted,
    TradeExecuted,
    WithdrawalRejected,
)
from tests.unit.exchange.core.perps.helpers import SOL, USDC, PerpDriver, sqrt_frac


def test_borrow_limit_is_available_equity_over_the_borrow_imf() -> None:
    d = PerpDriver()
    lender = d.new_account(USDC=1_000_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 1_000_000 * USDC))
    trader = d.new_account(USDC=1_000 * USDC)
    # USDC borrow IMF = max(0.10, 0.0001 sqrt(X)): 9,000 needs 900 <= 1,000; 10,500 needs 1,050
    assert max(F("0.10"), F("0.0001") * sqrt_frac(F(9_000))) * 9_000 == 900
    [ok] = d(BorrowLend(trader, "USDC", "Borrow", 9_000 * USDC))
    assert isinstance(ok, BorrowLendExecuted) and ok.kind == "Borrow"
    [no] = d(BorrowLend(trader, "USDC", "Borrow", 1_500 * USDC))
    assert isinstance(no, BorrowLendRejected) and no.reason == "InsufficientMargin"
    # the borrowed cash may not leave: withdrawing it would leave the debt uncovered
    [w] = d(Withdraw(trader, "USDC", 5_000 * USDC, "w1"))
    assert isinstance(w, WithdrawalRejected) and w.reason == "InsufficientMargin"
    d(BorrowLend(trader, "USDC", "Lend", 9_000 * USDC))  # a Lend repays the borrow
    assert not d.acct(trader).assets[0].borrow_shares


def test_spot_margin_short_squeezed_into_borrow_liquidation() -> None:
    d = PerpDriver()
    lender = d.new_account(SOL=1_000 * SOL)
    d(BorrowLend(lender, "SOL", "Lend", 1_000 * SOL))
    maker = d.new_account(USDC=1_000_000 * USDC, SOL=1_000 * SOL)
    trader = d.new_account(USDC=1_000 * USDC)
    d.index("SOL", "150")
    d(BorrowLend(trader, "SOL", "Borrow", 20 * SOL))  # IM = 20 x 150 x 0.20 = 600 <= 1,000
    d(PlaceOrder(maker, "SOL_USDC", "Bid", "Limit", lots=2_000, price=15_000))
    events = d(PlaceOrder(trader, "SOL_USDC", "Ask", "Limit", lots=2_000, price=15_000))
    assert any(isinstance(e, TradeExecuted) for e in events)
    cash = F(3_000) * (1 - F("0.001"))  # 0.10% taker fee on the USDC received
    assert F(d.available(trader, "USDC"), USDC) == 1_000 + cash

    def equity(price: F) -> F:
        return 1_000 + cash - 20 * price

    def maintenance(price: F) -> F:
        x = 20 * price
        return x * max(F("0.10"), F("0.00024") * sqrt_frac(x))

    for price in (F(170), F(181), F(182)):
        d.index("SOL", str(price))
        events = d(LiquidationSweep())
        started = [e for e in events if isinstance(e, LiquidationStarted)]
        assert bool(started) == (equity(price) <= maintenance(price))
    assert started and F(started[0].net_equity, USDC) == equity(F(182))
    # stage 1 ran with an empty SOL book: nothing to buy back yet, the account stays flagged
    assert d.acct(trader).liquidating
    # the maker offers SOL at 182.50; the next sweep buys 20.2 SOL (1% over the debt for the fee)
    d(PlaceOrder(maker, "SOL_USDC", "Ask", "Limit", lots=5_000, price=18_250))
    events = d(LiquidationSweep())
    [trade] = [e for e in events if isinstance(e, TradeExecuted)]
    assert (trade.lots, trade.price) == (2_020, 18_250)
    bought = F("20.2") * (1 - F("0.001"))
    assert not d.acct(trader).assets[1].borrow_shares  # debt repaid in full
    # the repayment is an ordinary BorrowRepay event (the borrow history shows it)
    [repaid] = [e for e in events if isinstance(e, BorrowLendExecuted) and e.account == trader]
    assert (repaid.asset, repaid.kind, F(repaid.amount, SOL)) == ("SOL", "BorrowRepay", 20)
    assert F(d.available(trader, "SOL"), SOL) == bought - 20
    assert F(d.available(trader, "USDC"), USDC) == 1_000 + cash - F("20.2") * F("182.50")
    assert any(isinstance(e, LiquidationEnded) for e in events) and not d.acct(trader).liquidating
