"""Borrow entry fee (pro-rated interest to the next hour) and the utilization throttle (§14.5),
expected numbers by hand."""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import AccrueInterest, BorrowLend
from rucksack.exchange.core.events import BorrowLendExecuted, BorrowLendRejected, InterestPaid
from tests.unit.exchange.core.perps.helpers import USDC, PerpDriver

WAD = 10**18


def test_a_new_borrow_pays_interest_to_the_next_hour_up_front() -> None:
    d = PerpDriver()
    lender = d.new_account(USDC=1_000_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 1_000_000 * USDC))
    borrower = d.new_account(USDC=100_000 * USDC)
    pool = d.engine.pools[0]
    assert pool is not None
    claim_before = pool.claim(d.acct(lender).assets[0].lend_shares)
    # the command is stamped one second after the driver's clock
    seconds_left = 3600 - ((d.now + 1_000_000) // 1_000_000) % 3600
    [ev] = d(BorrowLend(borrower, "USDC", "Borrow", 100_000 * USDC))
    assert isinstance(ev, BorrowLendExecuted) and ev.kind == "Borrow" and ev.net == -100_000 * USDC
    # U = 0 before the borrow: the APR is R0 = 0, so the first borrow pays nothing ...
    assert pool.debt(d.acct(borrower).assets[0].borrow_shares) == 100_000 * USDC
    # ... the second pays the hour's remainder at the rate for U = 10%: 4% x 0.1/0.8 = 0.5% APR
    seconds_left = 3600 - ((d.now + 1_000_000) // 1_000_000) % 3600
    _, fee_paid = d(BorrowLend(borrower, "USDC", "Borrow", 100_000 * USDC))
    apr = F("0.04") * F(1, 10) / F("0.8")
    fee = F(100_000) * apr / 8760 * F(seconds_left, 3600)
    # the fee is reported as the position's EntryFee interest payment
    assert isinstance(fee_paid, InterestPaid) and fee_paid.payment_type == "EntryFee"
    assert 0 <= -F(fee_paid.quantity, USDC) - fee <= F(2, USDC)
    debt = F(pool.debt(d.acct(borrower).assets[0].borrow_shares), USDC)
    assert 0 <= debt - (200_000 + fee) <= F(2, USDC)  # rounded up (the hourly rate and the fee)
    # lenders get 90% of the fee, the exchange's 10% is lend shares on the fee account
    gain = F(pool.claim(d.acct(lender).assets[0].lend_shares) - claim_before, USDC)
    assert abs(gain - fee * F("0.9")) <= F(2, USDC)
    fee_claim = F(pool.claim(d.acct(d.engine.fee_account).assets[0].lend_shares), USDC)
    assert abs(fee_claim - fee * F("0.1")) <= F(2, USDC)


def test_the_throttle_slows_utilization_above_the_threshold() -> None:
    d = PerpDriver()
    lender = d.new_account(USDC=1_000_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 1_000_000 * USDC))
    borrower = d.new_account(USDC=1_000_000 * USDC)
    pool = d.engine.pools[0]
    assert pool is not None
    # below the threshold the ceiling is the bound (95%): 92% is allowed in one go
    d(BorrowLend(borrower, "USDC", "Borrow", 920_000 * USDC))
    d(AccrueInterest(1))
    d(AccrueInterest(2))  # an hour passes: U >= 90%, so the ceiling is U + 0.5 x (95% - U)
    u = F(pool.utilization(), WAD)
    ceiling = u + F(1, 2) * (F("0.95") - u)
    assert abs(F(pool.u_cap, WAD) - ceiling) <= F(1, WAD) * 2
    room = int((ceiling * F(pool.lent(), 1) - pool.borrowed()) // 1)  # atoms up to the ceiling
    [no] = d(BorrowLend(borrower, "USDC", "Borrow", room + 1_000 * USDC))
    assert isinstance(no, BorrowLendRejected) and no.reason == "PoolLimit"
    ok, *_fee = d(BorrowLend(borrower, "USDC", "Borrow", room // 2))
    assert isinstance(ok, BorrowLendExecuted)


def test_the_entry_fee_counts_in_the_utilization_cap() -> None:
    """The largest accepted borrow leaves utilization at most the 95% maximum *after* its entry
    fee is added to the debt, and one atom more is refused."""

    def scenario() -> tuple[PerpDriver, int]:
        d = PerpDriver()  # deterministic: the same clock and ids every time
        lender = d.new_account(USDC=1_000_000 * USDC)
        d(BorrowLend(lender, "USDC", "Lend", 1_000_000 * USDC))
        first = d.new_account(USDC=1_000_000 * USDC)
        d(BorrowLend(first, "USDC", "Borrow", 100_000 * USDC))  # U = 10%: later borrows pay a fee
        return d, d.new_account(USDC=1_000_000 * USDC)

    def attempt(atoms: int) -> tuple[bool, F]:
        trial, borrower = scenario()
        ev, *_fee = trial(BorrowLend(borrower, "USDC", "Borrow", atoms))
        p = trial.engine.pools[0]
        assert p is not None
        return isinstance(ev, BorrowLendExecuted), F(p.borrowed(), p.lent())

    d, _ = scenario()
    pool = d.engine.pools[0]
    assert pool is not None
    lent, borrowed = F(pool.lent(), USDC), F(pool.borrowed(), USDC)
    lo, hi = 1, 1_000_000 * USDC  # accepted, refused
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if attempt(mid)[0] else (lo, mid)
    accepted, u = attempt(lo)
    assert accepted and u <= F("0.95")
    refused, _ = attempt(lo + 1)
    assert not refused
    # by hand: a borrow a pays the fee f = a x r with r = APR(10%) / 8760 x (seconds left / 3600),
    # all of it added to the debt and (as interest) to the lenders' claims, so the cap is
    # (B + a + r a) / (L + r a) <= 0.95, i.e. a <= (0.95 L - B) / (1 + 0.05 r)
    seconds_left = 3600 - ((d.now + 1_000_000) // 1_000_000) % 3600
    r = F("0.04") * F(1, 10) / F("0.8") / 8760 * F(seconds_left, 3600)
    largest = (F("0.95") * lent - borrowed) / (1 + F("0.05") * r)
    assert abs(F(lo, USDC) - largest) <= F(3, USDC)
    # without the fee in the check the largest borrow would have been 0.95 L - B, which the fee
    # then pushes above the cap
    assert F(lo, USDC) < F("0.95") * lent - borrowed
