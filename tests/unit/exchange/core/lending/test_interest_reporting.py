"""The events the lending histories are built from: every pool-hour's ``InterestAccrued`` (totals
and rates), every position-hour's ``InterestPaid`` (exactly the claim gained or debt grown), and
each movement's ``BorrowLendExecuted`` with its source and the net position after it; replayed
from the journal they are the same."""

from __future__ import annotations

from rucksack.exchange.core.commands import AccrueInterest, BorrowLend, CreateAccount, Deposit, Withdraw
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import BorrowLendExecuted, InterestAccrued, InterestPaid
from rucksack.exchange.core.numeric import WAD
from tests.unit.exchange.core.perps.helpers import SOL, USDC, PerpDriver


def test_new_accounts_auto_lend_and_every_movement_says_why() -> None:
    d = PerpDriver()
    account = d.engine.next_account_id
    d(CreateAccount("default"))  # Backpack's default: autoLend on
    [_deposited, lent] = d(Deposit(account, "USDC", 1_000 * USDC, "d1"))
    assert isinstance(lent, BorrowLendExecuted)
    assert (lent.kind, lent.source, lent.amount, lent.net) == ("Lend", "AutoLend", 1_000 * USDC, 1_000 * USDC)
    redeem, _ = d(Withdraw(account, "USDC", 300 * USDC, "w1"))
    assert isinstance(redeem, BorrowLendExecuted)
    assert (redeem.kind, redeem.source, redeem.net) == ("LendRedeem", "Withdrawal", 700 * USDC)


def test_each_position_is_paid_exactly_what_its_claim_or_debt_moved() -> None:
    d = PerpDriver()
    lenders = [d.new_account(USDC=(i + 1) * 333_333 * USDC) for i in range(3)]
    for i, lender in enumerate(lenders):
        d(BorrowLend(lender, "USDC", "Lend", (i + 1) * 333_333 * USDC))
    borrower = d.new_account(SOL=10_000 * SOL)
    d.index("SOL", "150")
    d(AccrueInterest(10))
    d(BorrowLend(borrower, "USDC", "Borrow", 400_000 * USDC))
    pool = d.engine.pools[0]
    assert pool is not None
    claims = {a: pool.claim(d.acct(a).assets[0].lend_shares) for a in lenders}
    debt = pool.debt(d.acct(borrower).assets[0].borrow_shares)
    events = d(AccrueInterest(12))  # two hours
    accrued = [e for e in events if isinstance(e, InterestAccrued) and e.asset == "USDC"]
    assert [e.hour for e in accrued] == [11, 12]
    assert accrued[-1].borrowed == pool.borrowed() and accrued[-1].lent == pool.lent()
    assert accrued[0].utilization > 0 and accrued[0].borrow_apr > accrued[0].lend_apr > 0
    paid = [e for e in events if isinstance(e, InterestPaid)]
    for a in lenders:
        mine = [e for e in paid if e.account == a]
        assert [e.payment_type for e in mine] == ["Lend", "Lend"]
        assert sum(e.quantity for e in mine) == pool.claim(d.acct(a).assets[0].lend_shares) - claims[a]
    theirs = [e for e in paid if e.account == borrower]
    assert [e.payment_type for e in theirs] == ["Borrow", "Borrow"]
    assert -sum(e.quantity for e in theirs) == pool.debt(d.acct(borrower).assets[0].borrow_shares) - debt
    assert all(0 < e.rate_wad < WAD for e in paid)
    # an idle pool still reports its hour (the rate history has no gaps)
    assert any(isinstance(e, InterestAccrued) and e.asset == "SOL" and e.borrowed == 0 for e in events)


def test_the_events_replay_the_same() -> None:
    d = PerpDriver()
    lender = d.new_account(auto_lend=True, USDC=100_000 * USDC)
    borrower = d.new_account(SOL=1_000 * SOL)
    d.index("SOL", "150")
    d(AccrueInterest(1))
    d(BorrowLend(borrower, "USDC", "Borrow", 30_000 * USDC))
    d(AccrueInterest(3))
    d(Withdraw(lender, "USDC", 5_000 * USDC, "w"))
    live = Engine(d.spec)
    first = [live.apply(c, seq, ts) for seq, ts, c in d.log]
    again = Engine(d.spec)
    second = [again.apply(c, seq, ts) for seq, ts, c in d.log]
    assert first == second and any(isinstance(e, InterestPaid) for evs in first for e in evs)
