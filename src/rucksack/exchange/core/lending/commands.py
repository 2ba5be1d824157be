"""Borrow/lend commands and hourly interest (margin-model.md §10).

``BorrowLend`` nets against the account's open position in the pool: a Lend repays an open
borrow first (at most all of it), a Borrow redeems an open lend first; a new borrow must leave
available equity >= 0 with its entry fee counted. ``AccrueInterest`` moves every pool one hour
per hour passed (the first tick only sets the clock); the exchange's cut is lend shares to the
fee account. Each pool-hour emits ``InterestAccrued`` (with the pool's totals and rates, for the
rate history) and each position's share of it an ``InterestPaid`` (for the interest history).

Balances change only through ``ledger.operations`` (lend, repay, redeem, borrow: the pool moves
first, after its own checks, then the account's side as one ``ledger.plan.Plan``) and, for the
fee account's interest shares, a plan of their own. Every check runs before the first change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.commands import AccrueInterest, BorrowLend
from rucksack.exchange.core.compliance.checks import product_refusal
from rucksack.exchange.core.compliance.rules import LENDING, MARGIN
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import BorrowLendRejected, InterestAccrued, InterestPaid
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.ledger.operations import lend, new_borrow, redeem_lend, repay
from rucksack.exchange.core.ledger.plan import Plan, apply
from rucksack.exchange.core.lending.curve import borrow_apr, lend_apr
from rucksack.exchange.core.lending.pool import PoolError
from rucksack.exchange.core.markets import MAX_AMOUNT_ATOMS
from rucksack.exchange.core.numeric import WAD, ceil_div
from rucksack.exchange.core.risk.checks import borrow_margin_ok

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def borrow_lend(s: ExchangeState, c: BorrowLend) -> None:
    asset = s.asset_index.get(c.asset, -1)
    pool = s.pools[asset] if asset >= 0 else None
    reason = ""
    if asset < 0:
        reason = Reason.UNKNOWN_ASSET
    elif pool is None:
        reason = Reason.NO_LENDING_MARKET
    elif not 0 < c.amount <= MAX_AMOUNT_ATOMS or c.side not in ("Borrow", "Lend"):
        reason = Reason.INVALID_AMOUNT
    if not reason:  # region, product and level (core/compliance)
        reason = product_refusal(s, c.account, MARGIN if c.side == "Borrow" else LENDING)
    acct = s.ledger.accounts.get(c.account)
    if reason or pool is None or acct is None:
        s.events.append(BorrowLendRejected(c.account, c.asset, c.side, c.amount, reason or Reason.INSUFFICIENT_FUNDS))
        return
    bal = acct.assets[asset]
    amount = c.amount
    try:
        if c.side == "Lend":
            if bal.borrow_shares:  # netted: a Lend repays the open borrow, at most all of it
                if amount > pool.debt(bal.borrow_shares):
                    reason = Reason.LEND_REQUIRES_BORROW_REPAY
                elif amount > bal.available:
                    reason = Reason.INSUFFICIENT_FUNDS
                else:
                    repay(s, acct, asset, amount)
            elif amount > bal.available:
                reason = Reason.INSUFFICIENT_FUNDS
            else:
                lend(s, acct, asset, amount)
        elif bal.lend_shares:  # netted: a Borrow redeems the open lend, at most all of it
            claim = pool.claim(bal.lend_shares)
            if amount > claim:
                reason = Reason.BORROW_REQUIRES_LEND_REDEEM
            else:
                redeem_lend(s, acct, bal, asset, amount)  # the whole position burns every share
        elif acct.liquidating:
            reason = Reason.ACCOUNT_LIQUIDATING
        else:
            # a new borrow: the debt (and its entry fee) is exposure, so available equity
            # must stay >= 0 afterwards; checked on the hypothetical before anything moves
            fee = pool.entry_fee(amount, s.seconds_left_in_hour())
            if amount > pool.cash:
                reason = Reason.POOL_EMPTY
            elif not pool.can_borrow(amount, fee):
                reason = Reason.POOL_LIMIT
            elif not borrow_margin_ok(s, acct, asset, amount, fee):
                reason = Reason.INSUFFICIENT_MARGIN
            else:
                new_borrow(s, acct, asset, amount, c.account)
    except PoolError:
        reason = Reason.POOL_LIMIT
    if reason:
        s.events.append(BorrowLendRejected(c.account, c.asset, c.side, c.amount, reason))


def accrue(s: ExchangeState, c: AccrueInterest) -> None:
    if s.last_accrual_hour < 0 or c.hour < s.last_accrual_hour:
        s.last_accrual_hour = max(s.last_accrual_hour, c.hour)
        return
    fee_assets = s.ledger.account(s.fee_account).assets
    for hour in range(s.last_accrual_hour + 1, c.hour + 1):
        holders = _holders(s)
        for index, pool in enumerate(s.pools):
            if pool is None:
                continue
            u = pool.utilization()
            b_apr, l_apr = borrow_apr(pool.curve, u), lend_apr(pool.curve, u)
            before = (pool.lend_index, pool.borrow_index)
            to_lenders, fee_shares = pool.accrue_hour()
            s.margin.epoch += 1
            if to_lenders or fee_shares:
                apply(s.ledger, Plan().lend(fee_assets[index], fee_shares))
            symbol = s.spec.assets[index].symbol
            s.events.append(
                InterestAccrued(
                    hour=hour,
                    asset=symbol,
                    borrow_index=pool.borrow_index,
                    lend_index=pool.lend_index,
                    to_lenders=to_lenders,
                    fee_shares=fee_shares,
                    borrowed=pool.borrowed(),
                    lent=pool.lent(),
                    borrow_apr=b_apr,
                    lend_apr=l_apr,
                    utilization=pool.utilization(),
                )
            )
            if before != (pool.lend_index, pool.borrow_index):
                _pay_holders(s, holders[index], index, symbol, hour, before, b_apr, l_apr)
    s.last_accrual_hour = c.hour


def _holders(s: ExchangeState) -> list[list[Account]]:
    """Per asset, the accounts (in id order) with a lend or borrow position in its pool."""
    out: list[list[Account]] = [[] for _ in s.pools]
    for account in sorted(s.ledger.accounts):
        acct = s.ledger.accounts[account]
        for index, bal in enumerate(acct.assets):
            if bal.lend_shares or bal.borrow_shares:
                out[index].append(acct)
    return out


def _pay_holders(
    s: ExchangeState,
    holders: list[Account],
    index: int,
    symbol: str,
    hour: int,
    before: tuple[int, int],
    b_apr: int,
    l_apr: int,
) -> None:
    """One ``InterestPaid`` per position for this hour: what its claim gained (lend, rounded down
    like every claim) or its debt grew (borrow, rounded up like every debt). Reporting only: the
    indices already moved every position at once."""
    lend_before, borrow_before = before
    pool = s.pools[index]
    assert pool is not None
    for acct in holders:
        bal = acct.assets[index]
        if bal.lend_shares:
            gain = pool.claim(bal.lend_shares) - bal.lend_shares * lend_before // WAD
            if gain:
                s.events.append(InterestPaid(acct.account, symbol, hour, "Lend", l_apr, gain))
        if bal.borrow_shares:
            growth = pool.debt(bal.borrow_shares) - ceil_div(bal.borrow_shares * borrow_before, WAD)
            if growth:
                s.events.append(InterestPaid(acct.account, symbol, hour, "Borrow", b_apr, -growth))
