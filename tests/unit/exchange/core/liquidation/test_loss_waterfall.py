"""Issue 13, finding 2: a bankrupt account's loss goes to the liquidity fund, then to the opposing
winners — never to the USDC lenders. An account with 1,000 USDC buys 100 SOL_USDC_PERP at 150 from
two shorts (60 and 40 SOL); the SOL index gaps to 105. Its deficit is 1,000 - 7.50 (taker fee)
- 4,500 = -3,507.50: the fund (seeded with 1,000 USDC) pays 1,000, the shorts the other 2,507.50
pro rata to their profits (2,700 : 1,800, so 1,504.50 and 1,003), and the backstop takes the
position at the mark. Expected numbers by hand."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from rucksack.exchange.core.commands import (
    BorrowLend,
    Deposit,
    LiquidationSweep,
    PlaceOrder,
    SetBackstopProvider,
    SettlePnl,
)
from rucksack.exchange.core.events import BadDebt, BorrowLendExecuted, Event, LossSocialized, PnlSettled
from rucksack.exchange.core.lending.pool import Pool
from rucksack.exchange.core.state import state_hash
from tests.unit.exchange.core.perps.helpers import USDC, PerpDriver

PERP = "SOL_USDC_PERP"


def usdc_pool(d: PerpDriver) -> Pool:
    pool = d.engine.pools[d.engine.asset_index["USDC"]]
    assert pool is not None
    return pool


def crash() -> tuple[PerpDriver, dict[str, int]]:
    d = PerpDriver()
    lender = d.new_account(USDC=100_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 100_000 * USDC))  # the pool lenders must never fund losses
    fund = d.engine.risk.liquidity_fund_account
    d(Deposit(fund, "USDC", 1_000 * USDC, "insurance-fund-seed"))
    short_a = d.new_account(USDC=100_000 * USDC)
    short_b = d.new_account(USDC=100_000 * USDC)
    provider = d.new_account(USDC=100_000 * USDC)
    d(SetBackstopProvider(provider, True))
    trader = d.new_account(USDC=1_000 * USDC)
    d.index("SOL", "150")
    d(PlaceOrder(short_a, PERP, "Ask", "Limit", lots=6_000, price=15_000))
    d(PlaceOrder(short_b, PERP, "Ask", "Limit", lots=4_000, price=15_000))
    d(PlaceOrder(trader, PERP, "Bid", "Limit", lots=10_000, price=15_000))  # 100 SOL long, 15x
    d.index("SOL", "105")
    ids = {"lender": lender, "fund": fund, "short_a": short_a, "short_b": short_b, "provider": provider}
    return d, ids | {"trader": trader}


@pytest.mark.parametrize("settle_first", [False, True], ids=["sweep-first", "settle-first"])
def test_a_gap_down_bankruptcy_is_paid_by_the_fund_then_the_winners_never_the_lenders(settle_first: bool) -> None:
    d, ids = crash()
    trader, fund = d.acct(ids["trader"]), d.acct(ids["fund"])
    assert F(d.margin(ids["trader"]).equity, USDC) == 1_000 - F("7.5") - 4_500
    borrowed = usdc_pool(d).borrowed()
    equity_a, equity_b = d.margin(ids["short_a"]).equity, d.margin(ids["short_b"]).equity
    events: list[Event] = []
    if settle_first:  # the settlement tick may come before the sweep notices the gap
        events += d(SettlePnl())
        # the loss is realized, 1,000 USDC paid; the rest may not be borrowed (equity < 0)
        [settled] = [e for e in events if isinstance(e, PnlSettled) and e.account == ids["trader"]]
        assert settled.borrowed == 0 and F(trader.unsettled, USDC) == -F("3507.5")
        assert usdc_pool(d).borrowed() == borrowed
    for _ in range(3):  # the scheduler: a sweep every second, a settlement every ten
        events += d(LiquidationSweep())
        events += d(SettlePnl())
    assert not any(isinstance(e, BorrowLendExecuted) and e.kind == "Borrow" for e in events)
    assert usdc_pool(d).borrowed() == borrowed  # not one atom lent to the bankrupt account

    # the trader is closed out at exactly zero and has left liquidation
    assert not trader.positions and trader.unsettled == 0 and not trader.liquidating
    assert all(not (b.available or b.locked or b.lend_shares or b.borrow_shares) for b in trader.assets)
    r = d.margin(ids["trader"])
    assert (r.equity, r.exposure) == (0, 0)

    # the fund's record: it paid all it had
    [bad] = [e for e in events if isinstance(e, BadDebt)]
    assert bad.account == ids["trader"]
    assert (F(bad.deficit, USDC), F(bad.covered, USDC)) == (F("3507.5"), 1_000)
    assert (F(bad.socialized, USDC), bad.residual) == (F("2507.5"), 0)
    assert fund.unsettled + fund.assets[0].available == 0
    # the winners' records: the rest, pro rata to their profits (2,700 : 1,800)
    charged = {e.counterparty: e.amount for e in events if isinstance(e, LossSocialized)}
    assert charged == {ids["short_a"]: 1_504_500_000, ids["short_b"]: 1_003_000_000}
    assert d.margin(ids["short_a"]).equity == equity_a - 1_504_500_000
    assert d.margin(ids["short_b"]).equity == equity_b - 1_003_000_000
    assert bad.covered + sum(charged.values()) == bad.deficit  # every atom of the loss placed

    # the backstop took the long at the mark, 105
    market = d.engine.market_by_symbol[PERP].index
    assert d.acct(ids["provider"]).positions[market].lots == 10_000
    assert d.acct(ids["provider"]).positions[market].entry_cost == 10_500 * USDC

    replay = PerpDriver()
    for seq, ts, command in d.log:
        replay.engine.apply(command, seq, ts)
    assert state_hash(replay.engine) == state_hash(d.engine)


def test_settlement_borrows_only_what_keeps_available_equity_non_negative() -> None:
    """A healthy account still borrows its loss (autoBorrowSettlements); one whose available
    equity the borrow would take below zero does not, and keeps the debt as unsettled."""
    d = PerpDriver()
    lender = d.new_account(USDC=100_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 100_000 * USDC))
    short = d.new_account(USDC=100_000 * USDC)
    long_ = d.new_account(BTC=10**8)  # collateral but no USDC: losses are borrowed
    d.index("BTC", "60000")
    d.index("SOL", "150")
    d(PlaceOrder(short, PERP, "Ask", "Limit", lots=10_000, price=15_000))
    d(PlaceOrder(long_, PERP, "Bid", "Limit", lots=10_000, price=15_000))
    d.index("SOL", "149")
    [paid] = [e for e in d(SettlePnl()) if isinstance(e, PnlSettled) and e.account == long_]
    assert paid.borrowed > 0 and d.acct(long_).unsettled == 0  # 100 + fee, borrowed
    r = d.margin(long_)
    assert r.equity - r.im >= 0
    # the collateral loses most of its value: a further loss may not be borrowed any more
    d.index("BTC", "1800")
    d.index("SOL", "140")
    r = d.margin(long_)
    assert r.equity > 0 > r.equity - r.im
    before = usdc_pool(d).borrowed()
    [owed] = [e for e in d(SettlePnl()) if isinstance(e, PnlSettled) and e.account == long_]
    assert owed.borrowed == 0 and F(d.acct(long_).unsettled, USDC) == -900
    assert usdc_pool(d).borrowed() == before


def test_a_deficit_nothing_can_absorb_stays_owed_and_the_account_leaves_liquidation() -> None:
    """No fund and no opposing winner (the only short sold at 100, below the crash price): the
    backstop takes the position at the mark and the deficit stays as negative unsettled balance —
    not borrowed, not 'liquidating' for ever — and a later deposit pays it."""
    d = PerpDriver()
    lender = d.new_account(USDC=100_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 100_000 * USDC))
    early_short, early_long, middle = (d.new_account(USDC=100_000 * USDC) for _ in range(3))
    provider = d.new_account(USDC=100_000 * USDC)
    d(SetBackstopProvider(provider, True))
    trader = d.new_account(USDC=1_000 * USDC)
    d.index("SOL", "100")
    d(PlaceOrder(early_short, PERP, "Ask", "Limit", lots=10_000, price=10_000))
    d(PlaceOrder(early_long, PERP, "Bid", "Limit", lots=10_000, price=10_000))
    d.index("SOL", "150")
    d(PlaceOrder(middle, PERP, "Ask", "Limit", lots=10_000, price=15_000))
    d(PlaceOrder(trader, PERP, "Bid", "Limit", lots=10_000, price=15_000))
    d(PlaceOrder(middle, PERP, "Bid", "Limit", lots=10_000, price=15_000))
    d(PlaceOrder(early_long, PERP, "Ask", "Limit", lots=10_000, price=15_000, reduce_only=True))
    market = d.engine.market_by_symbol[PERP].index
    assert not d.acct(middle).positions[market].lots and not d.acct(early_long).positions[market].lots
    d.index("SOL", "105")  # the only short (entry 100) is losing too
    deficit = -d.margin(trader).equity
    assert F(deficit, USDC) == F("3507.5")
    borrowed = usdc_pool(d).borrowed()
    events = d(LiquidationSweep()) + d(SettlePnl()) + d(LiquidationSweep())
    [bad] = [e for e in events if isinstance(e, BadDebt)]
    assert (bad.deficit, bad.covered, bad.socialized, bad.residual) == (deficit, 0, 0, deficit)
    acct = d.acct(trader)
    assert not acct.positions and not acct.liquidating and acct.unsettled == -deficit
    assert usdc_pool(d).borrowed() == borrowed
    assert d.acct(provider).positions[market].lots == 10_000
    d(Deposit(trader, "USDC", 4_000 * USDC, "top-up"))
    d(SettlePnl())
    assert acct.unsettled == 0 and d.available(trader, "USDC") == 4_000 * USDC - deficit
