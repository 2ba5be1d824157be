"""PnL realization and the USDC settlement waterfall (reference model §6, §14.6).

Every ``SettlePnl`` (the scheduler sends one each 10 s):

1. For each account with ``autoRealizePnl``: each position's unrealized PnL ``lots * mark * lta
   - cost`` moves into the account's ``unsettled`` balance and ``cost`` restarts at
   ``lots * mark * lta`` (the average entry is kept for display). Empty positions are dropped.
2. Accounts owing (``unsettled < 0``), in id order, pay into the settlement account (the pot):
   from available USDC, then by redeeming USDC lent, then (``autoBorrowSettlements``) by
   borrowing USDC from the pool — only as much as keeps the account's available equity >= 0
   after the borrow, the rule of a manual Borrow (halving from the whole amount until the pool's
   cap and that rule allow it), so an account with negative or thin equity never borrows and
   lenders never fund a loss — then (accounts not liquidating) by selling other collateral.
   What cannot be paid stays owed as negative unsettled balance, which is part of net equity,
   until the account pays or liquidation resolves it (``liquidation``: the liquidity fund,
   then the opposing winners).
3. Accounts owed (``unsettled > 0``), in id order, are paid from the pot, never more than it
   holds: first repaying their USDC borrow (``autoRepayBorrows``), the rest as available USDC.

Every balance change is a ``ledger.plan.Plan`` or a ``ledger.operations`` call (redeem, borrow,
repay, auto-lend: pool first, then the account's plan); the waterfall's redemptions, borrows and
repayments are each a ``BorrowLendExecuted`` (sources AutoLend and AutoBorrowRepay, for the
borrow/lend history) as well as part of ``PnlSettled``.

Invariant (checked in ``invariants``): the pot's USDC equals the sum of all unsettled balances
minus the sum of every position's cost. Fills, fees and funding move amounts between accounts;
a backstop fill's price difference raises the costs and the fund's unsettled balance alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.events import PnlSettled
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.ledger.operations import auto_lend, new_borrow, redeem_lend, repay
from rucksack.exchange.core.ledger.plan import Plan, apply
from rucksack.exchange.core.lending.pool import PoolError
from rucksack.exchange.core.risk.checks import borrow_margin_ok

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def realize(engine: ExchangeState, acct: Account) -> int:
    """Move every position's unrealized PnL into ``unsettled``; return the amount moved."""
    total = 0
    empty: list[int] = []
    for mi, pos in acct.positions.items():
        m = engine.markets[mi]
        mark = m.valuation_price()
        basis = pos.lots * mark * m.lot_tick_atoms
        pnl = basis - pos.cost
        if pnl:
            pos.cost = basis
            pos.realized += pnl
            total += pnl
        if pos.is_empty():
            empty.append(mi)
    for mi in empty:
        del acct.positions[mi]
    apply(engine.ledger, Plan().owe(acct, total))
    return total


def collect(engine: ExchangeState, acct: Account, pot: Account) -> tuple[int, int]:
    """An owing account pays what it can into the pot; return (paid, of which borrowed).

    Each source pays into the pot as it is tapped (available, lend redeemed, borrowed, collateral
    sold), each as one balance plan; the account's ``unsettled`` rises by the total at the end,
    so while a borrow is sized the account is valued without what it has already paid."""
    settle = engine.settle_asset
    bal = acct.assets[settle]
    into_pot = pot.assets[settle]
    owed = -acct.unsettled
    paid = min(owed, bal.available)
    apply(engine.ledger, Plan().move(bal, into_pot, paid))
    pool = engine.pools[settle]
    if paid < owed and pool is not None and bal.lend_shares:
        want = min(owed - paid, pool.claim(bal.lend_shares))
        try:
            redeem_lend(engine, acct, bal, settle, want, source="AutoLend")  # all of the claim burns every share
            apply(engine.ledger, Plan().move(bal, into_pot, want))
            paid += want
        except PoolError:
            pass
    borrowed = 0
    if paid < owed and pool is not None and acct.auto_borrow_settlements and not bal.lend_shares:
        want = min(owed - paid, pool.cash) if borrow_margin_ok(engine, acct, settle, 0, 0) else 0
        while want > 0:
            fee = pool.entry_fee(want, engine.seconds_left_in_hour())
            if pool.can_borrow(want, fee) and borrow_margin_ok(engine, acct, settle, want, fee):
                new_borrow(engine, acct, settle, want, acct.account, source="AutoBorrowRepay")
                apply(engine.ledger, Plan().move(bal, into_pot, want))
                paid += want
                borrowed = want
                break
            want //= 2  # the utilization cap and the margin rule: borrow what both allow
    if paid < owed and not acct.liquidating:
        # last resort: convert other collateral into the settlement asset on the spot books
        from rucksack.exchange.core.liquidation.sweep import sell_collateral

        before = bal.available
        sell_collateral(engine, acct, owed - paid)
        take = min(owed - paid, bal.available - before)
        apply(engine.ledger, Plan().move(bal, into_pot, take))
        paid += take
    apply(engine.ledger, Plan().owe(acct, paid))
    return paid, borrowed


def pay_out(engine: ExchangeState, acct: Account, pot: Account) -> int:
    """Pay an owed account from the pot (repaying its USDC borrow first); return the amount."""
    settle = engine.settle_asset
    source = pot.assets[settle]
    amount = min(acct.unsettled, source.available)
    if amount <= 0:
        return 0
    bal = acct.assets[settle]
    apply(engine.ledger, Plan().move(source, bal, amount).owe(acct, -amount))
    rest = amount
    pool = engine.pools[settle]
    if acct.auto_repay_borrows and pool is not None and bal.borrow_shares:
        debt = min(rest, pool.debt(bal.borrow_shares))
        if debt > 0:
            repay(engine, acct, settle, debt, source="AutoBorrowRepay")
            rest -= debt
    if acct.auto_lend and rest > 0:
        auto_lend(engine, acct, settle)
    return amount


def settle_pnl(engine: ExchangeState) -> None:
    accounts = engine.ledger.accounts
    pot = accounts[engine.risk.settlement_account]
    pot_id = engine.risk.settlement_account
    ids = sorted(a for a, acct in accounts.items() if (acct.positions or acct.unsettled) and a != pot_id)
    realized: dict[int, int] = {}
    for a in ids:
        acct = accounts[a]
        if acct.auto_realize_pnl and acct.positions:
            realized[a] = realize(engine, acct)
    paid: dict[int, tuple[int, int]] = {}
    for a in ids:
        acct = accounts[a]
        if acct.unsettled < 0:
            amount, borrowed = collect(engine, acct, pot)
            paid[a] = (-amount, borrowed)
    for a in ids:
        acct = accounts[a]
        if acct.unsettled > 0:
            paid[a] = (pay_out(engine, acct, pot), 0)
    for a in ids:
        r = realized.get(a, 0)
        p, b = paid.get(a, (0, 0))
        if r or p:
            engine.events.append(PnlSettled(account=a, realized=r, paid=p, borrowed=b, unsettled=accounts[a].unsettled))
