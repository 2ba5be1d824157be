"""Capital commands: deposits, withdrawals and transfers between an owner's accounts.

A deposit is refused when its transaction id was seen or the asset's total would pass
``MAX_ASSET_ATOMS``; it first repays a borrow of the asset (autoRepay) and is then lent
(autoLend). Capital may leave an account (withdrawal, outgoing transfer) only when it is not
liquidating and, with exposure, keeps available equity >= 0 (``risk.checks``); what the available
balance lacks is redeemed from the account's lend first (autoLend accounts). Deposits and
withdrawals are also checked against the owner's daily limits and the Travel Rule, and a
withdrawal may then be held for its security delay or a review (``compliance``). A vault's own
account (``core.vaults``) neither withdraws nor transfers: its capital moves by mint and redeem.

Every change is a ``ledger.plan.Plan``: the checks above run first (a refusal is an event and
changes nothing), then the redemption's dry run is applied on the same path and the movement
itself is one plan (the balance and the exchange's deposited/withdrawn total together).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.commands import Deposit, Transfer, Withdraw
from rucksack.exchange.core.compliance import checks as compliance
from rucksack.exchange.core.compliance.withdrawals import hold
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import (
    Deposited,
    DepositRejected,
    Transferred,
    TransferRejected,
    WithdrawalRejected,
    Withdrawn,
)
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.ledger.operations import auto_lend, auto_repay, cover_shortfall, redeem_for
from rucksack.exchange.core.ledger.plan import Plan, apply
from rucksack.exchange.core.markets import MAX_AMOUNT_ATOMS, MAX_ASSET_ATOMS
from rucksack.exchange.core.risk.checks import capital_may_leave

VAULT_ACCOUNT = "VaultAccount"  # core.vaults.handlers names the same reason

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def deposit(s: ExchangeState, c: Deposit) -> None:
    asset = s.asset_index.get(c.asset, -1)
    if asset < 0:
        s.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.UNKNOWN_ASSET))
    elif not 0 < c.amount <= MAX_AMOUNT_ATOMS or s.held(asset) + c.amount > MAX_ASSET_ATOMS:
        s.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.INVALID_AMOUNT))
    elif c.tx_id in s.deposit_ids:
        s.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.DUPLICATE_DEPOSIT))
    elif (limit := compliance.deposit_refusal(s, c))[0]:
        s.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, limit[0]))
    else:
        compliance.count_deposit(s, c.account, limit[1])
        s.deposit_ids.add(c.tx_id)
        acct = s.ledger.account(c.account)
        apply(s.ledger, Plan().deposit(asset, acct.assets[asset], c.amount))
        s.events.append(Deposited(c.account, c.asset, c.amount, c.tx_id))
        if acct.auto_repay_borrows and acct.assets[asset].borrow_shares:
            auto_repay(s, acct, asset)  # a deposit first pays down a debt in the asset
        if acct.auto_lend:
            auto_lend(s, acct, asset)


def withdraw(s: ExchangeState, c: Withdraw) -> None:
    asset = s.asset_index.get(c.asset, -1)
    if asset < 0:
        s.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.UNKNOWN_ASSET))
    elif not 0 < c.amount <= MAX_AMOUNT_ATOMS:
        s.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INVALID_AMOUNT))
    elif s.vaults.is_vault(c.account):  # a vault's capital leaves only as redemptions (core.vaults)
        s.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, VAULT_ACCOUNT))
    elif (redeem := redeem_for(s, c.account, asset, c.amount)) < 0:
        s.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INSUFFICIENT_FUNDS))
    elif not capital_may_leave(s, s.ledger.accounts[c.account], asset, c.amount):
        s.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INSUFFICIENT_MARGIN))
    elif (limit := compliance.withdrawal_refusal(s, c))[0]:
        s.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, limit[0]))
    else:
        acct = s.ledger.accounts[c.account]
        redeem_lend(s, acct, asset, c.amount, redeem)
        apply(s.ledger, Plan().withdraw(asset, acct.assets[asset], c.amount))
        s.events.append(Withdrawn(c.account, c.asset, c.amount, c.request_id))
        hold(s, c, limit[1])  # the security delay and review (core/compliance/withdrawals)


def transfer(s: ExchangeState, c: Transfer) -> None:
    asset = s.asset_index.get(c.asset, -1)
    reason = ""
    redeem = 0
    if asset < 0:
        reason = Reason.UNKNOWN_ASSET
    elif not 0 < c.amount <= MAX_AMOUNT_ATOMS or c.source == c.target:
        reason = Reason.INVALID_AMOUNT
    elif s.owner(c.source) != c.account or s.owner(c.target) != c.account:
        reason = Reason.UNKNOWN_ACCOUNT
    elif s.vaults.is_vault(c.source) or s.vaults.is_vault(c.target):
        reason = VAULT_ACCOUNT  # value enters a vault for shares and leaves it by redemption only
    else:
        source = s.ledger.accounts[c.source]
        redeem = redeem_for(s, c.source, asset, c.amount)
        if redeem < 0:
            reason = Reason.INSUFFICIENT_FUNDS
        elif not capital_may_leave(s, source, asset, c.amount):
            reason = Reason.INSUFFICIENT_MARGIN
    if reason:
        s.events.append(TransferRejected(c.account, c.source, c.target, c.asset, c.amount, reason))
        return
    source, target = s.ledger.accounts[c.source], s.ledger.accounts[c.target]
    redeem_lend(s, source, asset, c.amount, redeem)
    apply(s.ledger, Plan().move(source.assets[asset], target.assets[asset], c.amount))
    s.events.append(Transferred(c.source, c.target, c.asset, c.amount))
    if target.auto_lend:
        auto_lend(s, target, asset)


def redeem_lend(s: ExchangeState, acct: Account, asset: int, amount: int, redeem: int) -> None:
    """Redeem from the lend what ``redeem_for`` found missing for ``amount`` to leave: the dry
    run's own path, applied on the same state, so it moves exactly ``redeem``."""
    if redeem:
        bal = acct.assets[asset]
        done = cover_shortfall(
            s,
            acct,
            bal,
            asset,
            amount - bal.available,
            may_redeem=True,
            may_borrow=False,
            apply=True,
            source="Withdrawal",
        )
        assert done[0] == redeem  # the same path as the dry run, on the same state
