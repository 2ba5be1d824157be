"""Withdrawal protection: the security delay, the address allow-list, review above a threshold.

A withdrawal is debited when it is requested (``capital.withdraw``); then ``hold`` decides
whether it waits. It waits until ``trigger_at_us`` = request time + the owner's current delay,
unless its address (``<blockchain>:<address>``) is on the allow-list and has been for that long;
and it waits for an operator when its value is at or above the rules' review threshold. While it
waits the owner may cancel it (``CancelWithdrawal``) and an operator may reject it
(``ReviewWithdrawal``): the funds come back as a deposit ``cancelled:<request id>`` (so a
cancelled withdrawal is never refunded twice and custody can tell it from a released one).
``ReleaseWithdrawals`` (the scheduler, every few seconds) releases what no longer waits.

The delay itself (Backpack ``/wapi/v1/capital/withdrawals/delay``): raising it takes effect at
once; lowering it waits until the current delay has run from the change (so a stolen key cannot
shorten the delay and withdraw at once). A new allow-list address is effective only after the
current delay, for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.commands import Withdraw
from rucksack.exchange.core.compliance.checks import count_withdrawal, uncount_withdrawal
from rucksack.exchange.core.compliance.commands import (
    CancelWithdrawal,
    ReviewWithdrawal,
    SetWithdrawalAddress,
    SetWithdrawalDelay,
)
from rucksack.exchange.core.compliance.events import (
    ComplianceRejected,
    WithdrawalAddressSet,
    WithdrawalCancelled,
    WithdrawalDelaySet,
    WithdrawalHeld,
    WithdrawalReleased,
)
from rucksack.exchange.core.compliance.rules import UNLIMITED
from rucksack.exchange.core.compliance.state import DAY_US, HOUR_US, Held
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import Deposited
from rucksack.exchange.core.ledger.plan import Plan, apply

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

CANCELLED_PREFIX = "cancelled:"
MAX_ADDRESSES = 200


def hold(s: ExchangeState, c: Withdraw, value: int) -> None:
    """After the debit: count it against the day's limit and hold it when it must wait."""
    count_withdrawal(s, c.account, value)
    if not c.address:
        return  # an internal withdrawal (no chain address): nothing to protect
    comp = s.compliance
    owner = s.owner(c.account)
    ts = s.last_ts_us
    current = comp.delay(owner, ts)[0]
    allowed_at = comp.allow.get(owner, {}).get(c.address, -1)
    wait = 0 if 0 <= allowed_at <= ts else current * HOUR_US
    threshold = comp.rules.review_threshold
    review = threshold != UNLIMITED and value >= threshold
    if not wait and not review:
        return
    comp.held[c.request_id] = Held(c.account, c.asset, c.amount, ts + wait, review, ts // DAY_US, value)
    s.events.append(WithdrawalHeld(c.account, c.request_id, ts + wait, review))


def release(s: ExchangeState) -> None:
    comp = s.compliance
    ts = s.last_ts_us
    for owner in sorted(comp.delays):
        _, pending, at = comp.delays[owner]
        if pending >= 0 and ts >= at:
            comp.delays[owner] = (pending, -1, 0)
            s.events.append(WithdrawalDelaySet(owner, pending, -1, 0))
    for rid in sorted(comp.held):
        h = comp.held[rid]
        if not h.review and h.trigger_at_us <= ts:
            del comp.held[rid]
            s.events.append(WithdrawalReleased(h.account, rid))


def cancel(s: ExchangeState, c: CancelWithdrawal) -> None:
    h = s.compliance.held.get(c.request_id)
    if h is None or s.owner(h.account) != s.owner(c.account) or s.owner(c.account) < 0:
        s.events.append(ComplianceRejected(c.account, "CancelWithdrawal", Reason.WITHDRAWAL_NOT_HELD))
        return
    _refund(s, c.request_id, h, by_operator=False)


def review(s: ExchangeState, c: ReviewWithdrawal) -> None:
    h = s.compliance.held.get(c.request_id)
    if h is None or not h.review:
        s.events.append(ComplianceRejected(0, "ReviewWithdrawal", Reason.WITHDRAWAL_NOT_HELD))
        return
    if not c.approve:
        _refund(s, c.request_id, h, by_operator=True)
        return
    h.review = False
    if h.trigger_at_us <= s.last_ts_us:
        del s.compliance.held[c.request_id]
        s.events.append(WithdrawalReleased(h.account, c.request_id))
    else:
        s.events.append(WithdrawalHeld(h.account, c.request_id, h.trigger_at_us, False))


def _refund(s: ExchangeState, request_id: str, h: Held, by_operator: bool) -> None:
    del s.compliance.held[request_id]
    asset = s.asset_index[h.asset]
    acct = s.ledger.account(h.account)
    tx_id = CANCELLED_PREFIX + request_id
    s.deposit_ids.add(tx_id)
    apply(s.ledger, Plan().deposit(asset, acct.assets[asset], h.amount))
    uncount_withdrawal(s, s.owner(h.account), h.day, h.value)
    s.events.append(Deposited(h.account, h.asset, h.amount, tx_id))
    s.events.append(WithdrawalCancelled(h.account, request_id, by_operator))


def set_delay(s: ExchangeState, c: SetWithdrawalDelay) -> None:
    comp = s.compliance
    owner = s.owner(c.account)
    ts = s.last_ts_us
    reason = ""
    if owner < 0:
        reason = Reason.UNKNOWN_ACCOUNT
    elif not 0 <= c.hours <= comp.rules.max_delay_hours:
        reason = Reason.INVALID_DELAY
    elif c.create and owner in comp.delays:
        reason = Reason.DELAY_EXISTS
    elif not c.create and owner not in comp.delays:
        reason = Reason.NO_DELAY
    if reason:
        s.events.append(ComplianceRejected(c.account, "SetWithdrawalDelay", reason))
        return
    current, _, _ = comp.delay(owner, ts)
    if c.create or c.hours >= current:
        comp.delays[owner] = (c.hours, -1, 0)
    else:  # lowering: only once the current delay has run from now
        comp.delays[owner] = (current, c.hours, ts + current * HOUR_US)
    cur, pending, at = comp.delays[owner]
    s.events.append(WithdrawalDelaySet(owner, cur, pending, at))


def set_address(s: ExchangeState, c: SetWithdrawalAddress) -> None:
    comp = s.compliance
    owner = s.owner(c.account)
    book = comp.allow.get(owner, {})
    if owner < 0 or not c.address or len(c.address) > 200:
        s.events.append(ComplianceRejected(c.account, "SetWithdrawalAddress", Reason.INVALID_SETTING))
        return
    if not c.allowed:
        if c.address not in book:
            s.events.append(ComplianceRejected(c.account, "SetWithdrawalAddress", Reason.INVALID_SETTING))
            return
        del book[c.address]
        if not book:
            comp.allow.pop(owner, None)
        s.events.append(WithdrawalAddressSet(owner, c.address, False, 0))
        return
    if c.address not in book and len(book) >= MAX_ADDRESSES:
        s.events.append(ComplianceRejected(c.account, "SetWithdrawalAddress", Reason.INVALID_SETTING))
        return
    at = book.get(c.address, s.last_ts_us + comp.delay(owner, s.last_ts_us)[0] * HOUR_US)
    comp.allow.setdefault(owner, {})[c.address] = at
    s.events.append(WithdrawalAddressSet(owner, c.address, True, at))
