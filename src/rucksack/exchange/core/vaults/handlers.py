"""Vault commands: create, mint (deposit), redeem request and cancel, and the crank.

NAV is the vault account's value marked to market by the core's own valuation
(``risk.margin.MarginCalc.mark_value``: balances, lend claims and debts at the index, perp
positions at the mark, unsettled PnL). Every division rounds in the favour of whoever stays in
the vault (docs/vaults.md "Rounding"):

- mint: ``shares = floor(value x S / NAV)`` where ``value`` is the deposit valued at its index,
  rounded down (the first deposit: one share per settlement unit);
- redeem: ``amount = floor((n - fee_shares) x NAV / S)``;
- performance fee (depositors other than the leader, at redemption): the redeemed shares' basis
  is ``ceil(basis x n / N)`` (the depositor's high-water value, a share of it rounded up),
  ``fee = floor(max(floor(n x NAV / S) - basis_n, 0) x rate / 10^6)`` in value,
  ``fee_shares = floor(fee x S / NAV)`` pass to the leader;
- management fee: on the depositors' shares (the leader's excluded), minted to the leader:
  ``floor((S - L) x rate x dt / (10^6 x year) + carried)`` (``dt`` in whole seconds, the rest of
  a second waiting for the next accrual); the fraction left over is carried
  exactly (``fee_remainder``) to the next accrual. Fees accrue at every mint and redemption and
  at each ``CrankVaults``, so each stretch of time is charged on the shares outstanding during it.

A redemption is queued (at most one per depositor) after the lock-up since the last deposit and
paid, oldest first, once due (at once when the vault has no delay). When the vault's cash cannot
pay the queue's head without breaking its margin, the crank unwinds: it cancels the vault's
orders and closes a fifth of every perp position with reduce-only market orders, then tries once
more; the head waits for the next crank otherwise (Hyperliquid's vault rule, vaults-growth.md
§1.2). The leader must keep ``leader_min_ppm`` of the shares: a deposit or a leader redemption
that would break it is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core import halts
from rucksack.exchange.core.accounts import create_account
from rucksack.exchange.core.capital import redeem_lend
from rucksack.exchange.core.commands import CancelAllOrders, CreateAccount, PlaceOrder
from rucksack.exchange.core.enums import Reason, Side
from rucksack.exchange.core.events import AccountCreated
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.ledger.operations import redeem_for
from rucksack.exchange.core.ledger.plan import Plan
from rucksack.exchange.core.ledger.plan import apply as apply_plan
from rucksack.exchange.core.markets import MAX_AMOUNT_ATOMS
from rucksack.exchange.core.numeric import PPM, ceil_div
from rucksack.exchange.core.orders.cancel import cancel_all
from rucksack.exchange.core.orders.placement import place
from rucksack.exchange.core.risk.checks import capital_may_leave
from rucksack.exchange.core.vaults.book import (
    FEE_DENOMINATOR,
    MAX_SAMPLES,
    MAX_SHARES,
    SAMPLE_EVERY_US,
    SHARE_DECIMALS,
    Depositor,
    Redeem,
    Sample,
    Vault,
)
from rucksack.exchange.core.vaults.commands import (
    CancelVaultRedeem,
    CrankVaults,
    CreateVault,
    HaltVault,
    VaultCommand,
    VaultDeposit,
    VaultRedeem,
)
from rucksack.exchange.core.vaults.events import (
    VaultCreated,
    VaultFeeAccrued,
    VaultHalted,
    VaultMinted,
    VaultRedeemCancelled,
    VaultRedeemed,
    VaultRedeemRequested,
    VaultRejected,
    VaultUnwinding,
)

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

UNKNOWN_VAULT = "UnknownVault"
VAULT_LOCKED = "VaultLocked"
REDEEM_PENDING = "VaultRedeemPending"
NO_REDEEM = "VaultNoRedeemPending"
LEADER_SHARE = "VaultLeaderMinimumShare"
VAULT_FULL = "VaultFull"
INSOLVENT = "VaultInsolvent"
INVALID_VAULT = "InvalidVault"
VAULT_HALTED = "VaultHalted"  # an order refused: the vault is halted and may only reduce
MAX_MANAGEMENT_PPM = 100_000  # 10% a year
MAX_PERFORMANCE_PPM = 500_000  # 50% of the gain
MAX_DURATION_US = 365 * 24 * 3600 * 1_000_000
UNWIND_DIVISOR = 5  # an unwinding step closes a fifth of each position


def apply(s: ExchangeState, c: VaultCommand, ts_us: int) -> None:
    if isinstance(c, VaultDeposit):
        deposit(s, c, ts_us)
    elif isinstance(c, VaultRedeem):
        request_redeem(s, c, ts_us)
    elif isinstance(c, CancelVaultRedeem):
        cancel_redeem(s, c)
    elif isinstance(c, CrankVaults):
        crank(s, c.now_us)
    elif isinstance(c, HaltVault):
        halt(s, c)
    else:
        create(s, c, ts_us)


def nav(s: ExchangeState, v: Vault) -> int:
    """The vault's net asset value in settlement atoms (see the module docstring)."""
    return s.margin.mark_value(s.ledger.accounts[v.account])


def _reject(s: ExchangeState, account: int, vault_id: int, reason: str) -> None:
    s.events.append(VaultRejected(account, vault_id, reason))


def _may_leave(s: ExchangeState, account: int, asset: int, amount: int) -> str:
    """Why ``amount`` of ``asset`` may not leave ``account`` ('' when it may)."""
    acct = s.ledger.accounts.get(account)
    if acct is None:
        return Reason.UNKNOWN_ACCOUNT
    if redeem_for(s, account, asset, amount) < 0:
        return Reason.INSUFFICIENT_FUNDS
    if not capital_may_leave(s, acct, asset, amount):
        return Reason.INSUFFICIENT_MARGIN
    return ""


def _move(s: ExchangeState, source: Account, target: Account, asset: int, amount: int) -> None:
    """``amount`` atoms from ``source`` to ``target`` (lend redeemed first, as a transfer does)."""
    redeem_lend(s, source, asset, amount, redeem_for(s, source.account, asset, amount))
    apply_plan(s.ledger, Plan().move(source.assets[asset], target.assets[asset], amount))


# ---------------------------------------------------------------------- create


def create(s: ExchangeState, c: CreateVault, ts_us: int) -> None:
    reason = ""
    fees_ok = 0 <= c.management_fee_ppm <= MAX_MANAGEMENT_PPM and 0 <= c.performance_fee_ppm <= MAX_PERFORMANCE_PPM
    if s.owner(c.leader) != c.leader or s.vaults.is_vault(c.leader):
        reason = Reason.UNKNOWN_ACCOUNT
    elif (
        not 0 < len(c.name) <= 64
        or not fees_ok
        or not 0 <= c.leader_min_ppm <= PPM
        or not 0 <= c.lockup_us <= MAX_DURATION_US
        or not 0 <= c.redeem_delay_us <= MAX_DURATION_US
        or not 0 <= c.deposit_cap <= MAX_AMOUNT_ATOMS
    ):
        reason = INVALID_VAULT
    elif not 0 < c.amount <= MAX_AMOUNT_ATOMS:
        reason = Reason.INVALID_AMOUNT
    else:
        reason = _may_leave(s, c.leader, s.settle_asset, c.amount)
    if reason:
        _reject(s, c.leader, 0, reason)
        return
    start = len(s.events)
    create_account(s, CreateAccount(label=f"vault {c.name}", parent=c.leader, auto_lend=False))
    created = [ev for ev in s.events[start:] if isinstance(ev, AccountCreated)]
    assert created, "a subaccount of an existing top-level account is always created"
    book = s.vaults
    protocol = c.protocol
    v = Vault(
        id=book.next_id,
        account=created[0].account,
        leader=c.leader,
        name=c.name,
        management_fee_ppm=0 if protocol else c.management_fee_ppm,
        performance_fee_ppm=0 if protocol else c.performance_fee_ppm,
        leader_min_ppm=0 if protocol else c.leader_min_ppm,
        lockup_us=c.lockup_us,
        redeem_delay_us=c.redeem_delay_us,
        deposit_cap=c.deposit_cap,
        protocol=protocol,
        created_us=ts_us,
        fee_clock_us=ts_us,
        last_sample_us=ts_us,
    )
    book.next_id += 1
    book.vaults[v.id] = v
    book.by_account[v.account] = v.id
    if protocol:
        s.programme_excluded.add(v.account)
    s.events.append(VaultCreated(v.id, v.account, v.leader, v.name))
    _mint(s, v, c.leader, s.settle_asset, c.amount, ts_us)


# ---------------------------------------------------------------------- mint


def deposit(s: ExchangeState, c: VaultDeposit, ts_us: int) -> None:
    v = s.vaults.vaults.get(c.vault_id)
    asset = s.asset_index.get(c.asset, -1)
    reason = ""
    if v is None:
        reason = UNKNOWN_VAULT
    elif s.owner(c.account) < 0 or s.vaults.is_vault(c.account):
        reason = Reason.UNKNOWN_ACCOUNT
    elif asset < 0:
        reason = Reason.UNKNOWN_ASSET
    elif not 0 < c.amount <= MAX_AMOUNT_ATOMS:
        reason = Reason.INVALID_AMOUNT
    else:
        reason = _may_leave(s, c.account, asset, c.amount)
    if reason or v is None:
        _reject(s, c.account, c.vault_id, reason)
        return
    _accrue(s, v, ts_us)
    _mint(s, v, c.account, asset, c.amount, ts_us)


def _mint(s: ExchangeState, v: Vault, account: int, asset: int, amount: int, ts_us: int) -> None:
    value = s.margin.value(asset, amount, False)
    if s.margin.weights[asset] is None and asset != s.settle_asset:
        value = 0  # only collateral assets buy shares
    before, total = nav(s, v), v.shares
    settle_decimals = s.spec.assets[s.settle_asset].decimals
    if total == 0:
        shares = value * 10**SHARE_DECIMALS // 10**settle_decimals
    else:
        shares = value * total // before if before > 0 else 0
    reason = ""
    if total and before <= 0:
        reason = INSOLVENT
    elif shares <= 0:
        reason = Reason.INVALID_AMOUNT
    elif (v.deposit_cap and before + value > v.deposit_cap) or total + shares > MAX_SHARES:
        reason = VAULT_FULL
    elif account != v.leader and _leader_shares(v) * PPM < v.leader_min_ppm * (total + shares):
        reason = LEADER_SHARE
    if reason:
        _reject(s, account, v.id, reason)
        return
    _move(s, s.ledger.accounts[account], s.ledger.accounts[v.account], asset, amount)
    d = v.depositors.get(account)
    if d is None:
        d = v.depositors[account] = Depositor(account, 0, 0, ts_us)
    d.shares += shares
    d.basis += value
    d.deposited += value
    d.last_deposit_us = ts_us
    v.shares += shares
    s.events.append(VaultMinted(v.id, account, s.spec.assets[asset].symbol, amount, value, shares, before, total))
    _sample(s, v, ts_us)


def _leader_shares(v: Vault) -> int:
    d = v.depositors.get(v.leader)
    return d.shares if d is not None else 0


def _leader_may_redeem(v: Vault, shares: int) -> bool:
    """The leader keeps ``leader_min_ppm`` of what remains (or leaves an empty vault)."""
    return (_leader_shares(v) - shares) * PPM >= v.leader_min_ppm * (v.shares - shares)


# ---------------------------------------------------------------------- redeem


def request_redeem(s: ExchangeState, c: VaultRedeem, ts_us: int) -> None:
    v = s.vaults.vaults.get(c.vault_id)
    d = v.depositors.get(c.account) if v is not None else None
    reason = ""
    if v is None:
        reason = UNKNOWN_VAULT
    elif d is None:
        reason = Reason.INSUFFICIENT_FUNDS
    elif not 0 <= c.shares <= d.shares:
        reason = Reason.INVALID_AMOUNT if c.shares < 0 else Reason.INSUFFICIENT_FUNDS
    elif any(r.account == c.account for r in v.queue):
        reason = REDEEM_PENDING
    elif ts_us < d.last_deposit_us + v.lockup_us:
        reason = VAULT_LOCKED
    elif c.account == v.leader and not _leader_may_redeem(v, c.shares or d.shares):
        reason = LEADER_SHARE
    if reason or v is None or d is None:
        _reject(s, c.account, c.vault_id, reason)
        return
    due = ts_us + v.redeem_delay_us
    v.queue.append(Redeem(c.account, c.shares, ts_us, due))
    s.events.append(VaultRedeemRequested(v.id, c.account, c.shares or d.shares, due))
    if due <= ts_us:
        _accrue(s, v, ts_us)
        _pay_due(s, v, ts_us)


def cancel_redeem(s: ExchangeState, c: CancelVaultRedeem) -> None:
    v = s.vaults.vaults.get(c.vault_id)
    if v is None:
        _reject(s, c.account, c.vault_id, UNKNOWN_VAULT)
        return
    for i, r in enumerate(v.queue):
        if r.account == c.account:
            del v.queue[i]
            s.events.append(VaultRedeemCancelled(v.id, c.account, "UserCancelled"))
            return
    _reject(s, c.account, c.vault_id, NO_REDEEM)


def quote(s: ExchangeState, v: Vault, d: Depositor, shares: int) -> tuple[int, int, int]:
    """(fee shares, amount paid, basis released) for redeeming ``shares`` of ``d`` now."""
    value_now, total = nav(s, v), v.shares
    basis = ceil_div(d.basis * shares, d.shares)
    if value_now <= 0:
        return 0, 0, basis
    gross = shares * value_now // total
    fee_shares = 0
    if d.account != v.leader and v.performance_fee_ppm and gross > basis:
        fee = (gross - basis) * v.performance_fee_ppm // PPM
        fee_shares = fee * total // value_now
    return fee_shares, (shares - fee_shares) * value_now // total, basis


def _payable(s: ExchangeState, v: Vault, amount: int) -> bool:
    return amount == 0 or not _may_leave(s, v.account, s.settle_asset, amount)


def _pay_due(s: ExchangeState, v: Vault, now_us: int) -> None:
    unwound = False
    while v.queue and v.queue[0].due_us <= now_us:
        r = v.queue[0]
        d = v.depositors[r.account]
        shares = min(r.shares or d.shares, d.shares)
        if r.account == v.leader and not _leader_may_redeem(v, shares):
            v.queue.pop(0)
            s.events.append(VaultRedeemCancelled(v.id, r.account, LEADER_SHARE))
            continue
        fee_shares, amount, basis = quote(s, v, d, shares)
        if not _payable(s, v, amount):
            if unwound:
                return  # the head waits for the next crank
            _unwind(s, v, amount, now_us)
            unwound = True
            continue
        _pay(s, v, d, shares, fee_shares, amount, basis)
        v.queue.pop(0)
        _sample(s, v, now_us)


def _pay(s: ExchangeState, v: Vault, d: Depositor, shares: int, fee_shares: int, amount: int, basis: int) -> None:
    before, total = nav(s, v), v.shares
    if amount:
        _move(s, s.ledger.accounts[v.account], s.ledger.accounts[d.account], s.settle_asset, amount)
    d.shares -= shares
    d.basis -= basis
    d.withdrawn += amount
    v.shares -= shares - fee_shares
    if fee_shares:
        _credit_leader(v, fee_shares)
    if d.shares == 0:
        del v.depositors[d.account]
    s.events.append(VaultRedeemed(v.id, d.account, shares, fee_shares, amount, before, total))


def _credit_leader(v: Vault, shares: int) -> None:
    lead = v.depositors.get(v.leader)
    if lead is None:
        lead = v.depositors[v.leader] = Depositor(v.leader, 0, 0, v.created_us)
    lead.shares += shares
    v.fee_shares += shares


def _unwind(s: ExchangeState, v: Vault, needed: int, ts_us: int) -> None:
    """Free cash for the queue: cancel every order, then close a fifth of each perp position."""
    s.events.append(VaultUnwinding(v.id, needed))
    acct = s.ledger.accounts[v.account]
    for m in s.markets:
        if any(o.account == v.account for side in (m.bids, m.asks) for o in side.orders()):
            cancel_all(s, CancelAllOrders(v.account, m.spec.symbol))
    if _payable(s, v, needed):
        return
    for index in sorted(acct.positions):
        pos = acct.positions[index]
        m = s.markets[index]
        lots = ceil_div(abs(pos.lots), UNWIND_DIVISOR)
        if pos.lots == 0 or halts.refusal(s, m):
            continue
        side: Side = "Ask" if pos.lots > 0 else "Bid"
        place(s, PlaceOrder(v.account, m.spec.symbol, side, "Market", lots=lots, tif="IOC", reduce_only=True), ts_us)


def halt(s: ExchangeState, c: HaltVault) -> None:
    v = s.vaults.vaults.get(c.vault_id)
    if v is None or v.leader != c.leader or len(c.reason) > 64:
        _reject(s, c.leader, c.vault_id, UNKNOWN_VAULT if v is None else INVALID_VAULT)
        return
    v.halted = c.reason
    if c.reason:
        s.halted_vaults.add(v.account)
    else:
        s.halted_vaults.discard(v.account)
    s.events.append(VaultHalted(v.id, c.reason))


# ---------------------------------------------------------------------- the crank


def crank(s: ExchangeState, now_us: int) -> None:
    for vid in sorted(s.vaults.vaults):
        v = s.vaults.vaults[vid]
        _accrue(s, v, now_us)
        _pay_due(s, v, now_us)
        if now_us >= v.last_sample_us + SAMPLE_EVERY_US:
            v.last_sample_us = now_us
            _sample(s, v, now_us)


def crank_due(s: ExchangeState, now_us: int) -> bool:
    """Whether a ``CrankVaults`` at ``now_us`` has a redemption to pay or a sample to take."""
    return any(
        (v.queue and v.queue[0].due_us <= now_us) or now_us >= v.last_sample_us + SAMPLE_EVERY_US
        for v in s.vaults.vaults.values()
    )


def _accrue(s: ExchangeState, v: Vault, now_us: int) -> None:
    """The management fee from ``fee_clock_us`` to ``now_us`` in whole seconds (the part of a
    second left waits for the next accrual, so nothing is lost; see the module docstring)."""
    dt = (now_us - v.fee_clock_us) // 1_000_000
    if dt <= 0:
        return
    v.fee_clock_us += dt * 1_000_000
    if not v.management_fee_ppm:
        return
    base = v.shares - _leader_shares(v)
    minted, v.fee_remainder = divmod(base * v.management_fee_ppm * dt + v.fee_remainder, FEE_DENOMINATOR)
    if minted:
        _credit_leader(v, minted)
        v.shares += minted
        s.events.append(VaultFeeAccrued(v.id, v.leader, minted, now_us))


def _sample(s: ExchangeState, v: Vault, ts_us: int) -> None:
    v.samples.append(Sample(ts_us, nav(s, v), v.shares))
    if len(v.samples) > MAX_SAMPLES:
        del v.samples[0]
