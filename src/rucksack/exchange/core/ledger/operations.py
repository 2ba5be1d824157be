"""Balance operations over the exchange state: cover a shortfall (redeem lent funds, then
borrow), borrow with its entry fee, auto-lend idle funds, auto-repay a borrow from proceeds.

Each operation that can fail has a planning half that changes nothing (``shortfall_plan``,
``redeem_for``) and an applying half that is only called with a plan that passed
(``fund_shortfall``), so a refused command never leaves a half-applied change. Every movement
emits its ``BorrowLendExecuted``. Rounding is the pool's (``lending.pool``): shares minted down,
burned up, debts up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.events import BorrowLendExecuted
from rucksack.exchange.core.ledger.balances import Account, Balance
from rucksack.exchange.core.numeric import WAD

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def shortfall_plan(
    s: ExchangeState, acct: Account, bal: Balance, asset: int, short: int, may_redeem: bool, may_borrow: bool
) -> tuple[int, int]:
    """How to cover ``short`` atoms: (redeem from the lend, borrow from the pool), or (-1, -1)
    when it cannot be covered. Nothing changes here."""
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
    rest = short - redeem
    if rest <= 0:
        return (redeem, 0)
    if not may_borrow or (bal.lend_shares > 0 and redeem < pool.claim(bal.lend_shares)):
        return (-1, -1)
    seconds = s.seconds_left_in_hour()
    if redeem:  # the whole lend goes first, and the borrow (with its fee) must still fit after it
        if not pool.can_borrow_after_redeem_all(bal.lend_shares, redeem, rest, seconds):
            return (-1, -1)
    elif not pool.can_borrow(rest, pool.entry_fee(rest, seconds)):
        return (-1, -1)
    return (redeem, rest)


def fund_shortfall(
    s: ExchangeState, acct: Account, bal: Balance, asset: int, redeem: int, borrow: int, account: int, market: str
) -> None:
    pool = s.pools[asset]
    assert pool is not None
    symbol = s.spec.assets[asset].symbol
    if redeem:
        claim = pool.claim(bal.lend_shares)
        if redeem == claim:
            pool.redeem_all(bal.lend_shares, claim)
            burned = bal.lend_shares
        else:
            burned = pool.redeem(redeem, bal.lend_shares)
        bal.lend_shares -= burned
        bal.lent_principal = max(0, bal.lent_principal - redeem)
        bal.available += redeem
        s.events.append(BorrowLendExecuted(account, symbol, "LendRedeem", redeem, burned))
    if borrow:
        new_borrow(s, acct, asset, borrow, account)


def new_borrow(s: ExchangeState, acct: Account, asset: int, amount: int, account: int) -> None:
    """Borrow ``amount`` (pre-checked with ``Pool.can_borrow``) plus the entry fee: the
    pro-rated interest to the next hour, added to the debt and paid to the lenders (the
    exchange's cut as lend shares to the fee account)."""
    pool = s.pools[asset]
    assert pool is not None
    bal = acct.assets[asset]
    fee = pool.entry_fee(amount, s.seconds_left_in_hour())
    minted = pool.borrow(amount, fee)  # the utilization cap holds with the fee added
    fee_debt, fee_shares = pool.charge_entry_fee(fee)
    bal.borrow_shares += minted + fee_debt
    bal.available += amount
    if fee_shares:
        s.ledger.accounts[s.fee_account].assets[asset].lend_shares += fee_shares
    s.margin.epoch += 1 if fee else 0  # the lend index moved
    s.events.append(BorrowLendExecuted(account, s.spec.assets[asset].symbol, "Borrow", amount, minted))


def auto_lend(s: ExchangeState, acct: Account, asset: int) -> None:
    """With autoLend on, lend the idle balance of ``asset`` (nothing while it is borrowed)."""
    bal = acct.assets[asset]
    pool = s.pools[asset]
    if pool is None or bal.borrow_shares or bal.available <= 0:
        return
    amount = bal.available
    if amount * WAD // pool.lend_index <= 0:
        return
    minted = pool.lend(amount)
    bal.available -= amount
    bal.lend_shares += minted
    bal.lent_principal += amount
    s.events.append(BorrowLendExecuted(acct.account, s.spec.assets[asset].symbol, "Lend", amount, minted))


def after_proceeds(s: ExchangeState, acct: Account, asset: int, repay: bool) -> None:
    if repay and acct.assets[asset].borrow_shares:
        auto_repay(s, acct, asset)
    if acct.auto_lend:
        auto_lend(s, acct, asset)


def auto_repay(s: ExchangeState, acct: Account, asset: int) -> None:
    """Repay a borrow of ``asset`` from its available balance (autoBorrowRepay; liquidation's
    repayments too): one ``BorrowLendExecuted`` per repayment, none when nothing is owed."""
    bal = acct.assets[asset]
    pool = s.pools[asset]
    if pool is None or not bal.borrow_shares or bal.available <= 0:
        return
    amount = min(bal.available, pool.debt(bal.borrow_shares))
    if amount <= 0:
        return
    burned = pool.repay(amount, bal.borrow_shares)
    bal.borrow_shares -= burned
    bal.available -= amount
    s.events.append(BorrowLendExecuted(acct.account, s.spec.assets[asset].symbol, "BorrowRepay", amount, burned))


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
    redeem, _ = shortfall_plan(s, acct, bal, asset, amount - bal.available, True, False)
    return redeem
