"""Balance operations over the exchange state: cover a shortfall (redeem lent funds, then
borrow), borrow with its entry fee, lend, redeem, repay, auto-lend idle funds, auto-repay a
borrow from proceeds.

Every balance change is a ``ledger.plan.Plan`` of signed deltas, applied all or nothing. An
operation that moves pool funds lets the pool check and move its side first (it raises
``PoolError`` before changing anything) and then applies the plan of the account's side, which
the pool's checks guarantee. An operation that can fail runs every check before its first
change, and its dry run is the same function without the changes (``cover_shortfall(apply=False)``;
``redeem_for`` asks it), so what was checked is what is applied and a refused command never leaves
a half-applied change. Every movement emits its ``BorrowLendExecuted``, except where settlement
reports it in its ``PnlSettled`` (``report=False``). Rounding is the pool's (``lending.pool``):
shares minted down, burned up, debts up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.events import BorrowLendExecuted, InterestPaid
from rucksack.exchange.core.ledger.balances import Account, Balance
from rucksack.exchange.core.ledger.plan import Plan, apply
from rucksack.exchange.core.numeric import WAD

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def cover_shortfall(
    s: ExchangeState,
    acct: Account,
    bal: Balance,
    asset: int,
    short: int,
    may_redeem: bool,
    may_borrow: bool,
    apply: bool = False,
    source: str = "SpotMargin",
) -> tuple[int, int]:
    """Cover ``short`` atoms of ``asset`` missing from ``bal``: redeem from the account's lend
    first, then borrow from the pool. Returns (redeemed, borrowed), or (-1, -1) when it cannot be
    covered. The dry run (``apply`` False) changes nothing; the apply takes the same path, checks
    included, and moves the funds only at its end, so a dry run that passed (on the same state)
    applies exactly as planned and a failing check never leaves a half-applied change."""
    pool = s.pools[asset]
    if pool is None:
        return (-1, -1)
    redeem = 0
    if may_redeem and bal.lend_shares:
        claim = pool.claim(bal.lend_shares)
        redeem = short if short < claim else claim
        if redeem and redeem == claim:
            if not pool.can_redeem_all(bal.lend_shares, claim):
                return (-1, -1)
        elif redeem and not pool.can_redeem(redeem, bal.lend_shares):
            return (-1, -1)
    borrow = short - redeem
    if borrow <= 0:
        borrow = 0
    elif not may_borrow or (bal.lend_shares > 0 and redeem < pool.claim(bal.lend_shares)):
        return (-1, -1)
    else:
        seconds = s.seconds_left_in_hour()
        if redeem:  # the whole lend goes first, and the borrow (with its fee) must still fit after it
            if not pool.can_borrow_after_redeem_all(bal.lend_shares, redeem, borrow, seconds):
                return (-1, -1)
        elif not pool.can_borrow(borrow, pool.entry_fee(borrow, seconds)):
            return (-1, -1)
    if apply:
        if redeem:
            redeem_lend(s, acct, bal, asset, redeem, source=source)
        if borrow:
            new_borrow(s, acct, asset, borrow, acct.account, source=source)
    return (redeem, borrow)


def executed(s: ExchangeState, acct: Account, asset: int, kind: str, amount: int, shares: int, source: str) -> None:
    """Report one pool movement (``BorrowLendExecuted``) with the account's net position after it."""
    pool = s.pools[asset]
    bal = acct.assets[asset]
    net = 0 if pool is None else pool.claim(bal.lend_shares) - pool.debt(bal.borrow_shares)
    s.events.append(BorrowLendExecuted(acct.account, s.spec.assets[asset].symbol, kind, amount, shares, source, net))


def redeem_lend(
    s: ExchangeState, acct: Account, bal: Balance, asset: int, amount: int, report: bool = True, source: str = "Manual"
) -> None:
    """Redeem ``amount`` atoms (at most the claim) of the account's lend into its available
    balance; redeeming the whole claim burns every share. The pool checks first (``PoolError``)
    and nothing moves then."""
    pool = s.pools[asset]
    assert pool is not None
    claim = pool.claim(bal.lend_shares)
    if amount == claim:
        pool.redeem_all(bal.lend_shares, claim)
        burned = bal.lend_shares
    else:
        burned = pool.redeem(amount, bal.lend_shares)
    principal = min(amount, bal.lent_principal)  # what is redeemed beyond it was interest
    apply(s.ledger, Plan().available(bal, amount).lend(bal, -burned, -principal))
    if report:
        executed(s, acct, asset, "LendRedeem", amount, burned, source)


def new_borrow(s: ExchangeState, acct: Account, asset: int, amount: int, account: int, source: str = "Manual") -> None:
    """Borrow ``amount`` (pre-checked with ``Pool.can_borrow``) plus the entry fee: the
    pro-rated interest to the next hour, added to the debt and paid to the lenders (the
    exchange's cut as lend shares to the fee account)."""
    pool = s.pools[asset]
    assert pool is not None
    bal = acct.assets[asset]
    fee = pool.entry_fee(amount, s.seconds_left_in_hour())
    rate = pool.borrow_apr()
    minted = pool.borrow(amount, fee)  # the utilization cap holds with the fee added
    fee_debt, fee_shares = pool.charge_entry_fee(fee)
    plan = Plan().available(bal, amount).borrow(bal, minted + fee_debt)
    if fee_shares:
        plan.lend(s.ledger.accounts[s.fee_account].assets[asset], fee_shares)
    apply(s.ledger, plan)
    s.margin.epoch += 1 if fee else 0  # the lend index moved
    executed(s, acct, asset, "Borrow", amount, minted, source)
    if fee:
        hour = s.last_ts_us // 3_600_000_000
        s.events.append(InterestPaid(acct.account, s.spec.assets[asset].symbol, hour, "EntryFee", rate, -fee))


def auto_lend(s: ExchangeState, acct: Account, asset: int) -> None:
    """With autoLend on, lend the idle balance of ``asset`` (nothing while it is borrowed)."""
    bal = acct.assets[asset]
    pool = s.pools[asset]
    if pool is None or bal.borrow_shares or bal.available <= 0:
        return
    amount = bal.available
    if amount * WAD // pool.lend_index <= 0:
        return
    lend(s, acct, asset, amount, source="AutoLend")


def lend(s: ExchangeState, acct: Account, asset: int, amount: int, source: str = "Manual") -> None:
    """Lend ``amount`` available atoms (pre-checked) to the pool for lend shares."""
    pool = s.pools[asset]
    assert pool is not None
    bal = acct.assets[asset]
    minted = pool.lend(amount)
    apply(s.ledger, Plan().available(bal, -amount).lend(bal, minted, amount))
    executed(s, acct, asset, "Lend", amount, minted, source)


def after_proceeds(s: ExchangeState, acct: Account, asset: int, repay: bool) -> None:
    if repay and acct.assets[asset].borrow_shares:
        auto_repay(s, acct, asset)
    if acct.auto_lend:
        auto_lend(s, acct, asset)


def auto_repay(s: ExchangeState, acct: Account, asset: int, source: str = "AutoBorrowRepay") -> None:
    """Repay a borrow of ``asset`` from its available balance (autoBorrowRepay; liquidation's
    repayments too): one ``BorrowLendExecuted`` per repayment, none when nothing is owed."""
    bal = acct.assets[asset]
    pool = s.pools[asset]
    if pool is None or not bal.borrow_shares or bal.available <= 0:
        return
    amount = min(bal.available, pool.debt(bal.borrow_shares))
    if amount <= 0:
        return
    repay(s, acct, asset, amount, source=source)


def repay(
    s: ExchangeState, acct: Account, asset: int, amount: int, report: bool = True, source: str = "Manual"
) -> None:
    """Repay ``amount`` atoms (pre-checked: available, at most the debt) of a borrow."""
    pool = s.pools[asset]
    assert pool is not None
    bal = acct.assets[asset]
    burned = pool.repay(amount, bal.borrow_shares)
    apply(s.ledger, Plan().available(bal, -amount).borrow(bal, -burned))
    if report:
        executed(s, acct, asset, "BorrowRepay", amount, burned, source)


def redeem_for(s: ExchangeState, account: int, asset: int, amount: int) -> int:
    """Atoms to redeem from the lend (autoLend accounts) so ``amount`` is available; -1 when
    even that is not enough."""
    acct = s.ledger.accounts.get(account)
    if acct is None or amount <= 0:
        return -1
    bal = acct.assets[asset]
    if amount <= bal.available:
        return 0
    if not acct.auto_lend or not bal.lend_shares:
        return -1
    redeem, _ = cover_shortfall(s, acct, bal, asset, amount - bal.available, True, False)
    return redeem
