"""Dust conversion (Backpack's ``convertDust``): the exchange buys a balance too small to trade.

An asset's balance is dust when its whole holding (available plus the lend claim; nothing locked
by orders, nothing borrowed) is above 0 and below the smallest order its spot market against the
settlement asset accepts (``min_lots`` lots). ``ConvertDust`` converts one asset's dust, or every
asset's (``asset`` ""), into the settlement asset at the asset's index price, rounded down (in the
exchange's favour), paid by the fee account (the exchange's own revenue) which takes the dust.

Order of a conversion, all checked before anything moves: the lend is redeemed whole (source
``DustConversion``), the dust moves to the fee account and the settlement atoms to the account
(one plan), then a borrow of the settlement asset is repaid from them and the rest lent, as for
any other proceeds. One asset named and not dust, or the fee account short of the settlement
asset, is refused with ``ConvertDustRejected``; converting "every" asset when none is dust does
nothing and is not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.commands import ConvertDust
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import ConvertDustRejected, DustConverted
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.ledger.operations import after_proceeds, redeem_lend
from rucksack.exchange.core.ledger.plan import Plan, apply

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def dust_value(s: ExchangeState, acct: Account, asset: int) -> tuple[int, int]:
    """(dust atoms, settlement atoms paid for them) for ``asset``; (0, 0) when it is not dust."""
    if asset == s.settle_asset:
        return (0, 0)
    m = s.margin.pricers[asset]
    bal = acct.assets[asset]
    pool = s.pools[asset]
    if m is None or m.is_perp or m.quote != s.settle_asset or bal.locked or bal.borrow_shares:
        return (0, 0)
    held = bal.available + (pool.claim(bal.lend_shares) if pool is not None and bal.lend_shares else 0)
    if held <= 0 or held >= max(m.min_lots, 1) * m.lot_atoms:
        return (0, 0)
    if bal.lend_shares and pool is not None and not pool.can_redeem_all(bal.lend_shares, held - bal.available):
        return (0, 0)
    return (held, s.margin.value(asset, held, False))


def convert_dust(s: ExchangeState, c: ConvertDust) -> None:
    acct = s.ledger.accounts.get(c.account)
    named = s.asset_index.get(c.asset, -1) if c.asset else -1
    reason = ""
    if acct is None or s.owner(c.account) < 0:
        reason = Reason.UNKNOWN_ACCOUNT
    elif c.asset and named < 0:
        reason = Reason.UNKNOWN_ASSET
    if reason or acct is None:
        s.events.append(ConvertDustRejected(c.account, c.asset, reason))
        return
    wanted = [named] if c.asset else list(range(len(acct.assets)))
    plan = [(i, *dust_value(s, acct, i)) for i in wanted]
    plan = [(i, held, usdc) for i, held, usdc in plan if held and usdc]
    if c.asset and not plan:
        s.events.append(ConvertDustRejected(c.account, c.asset, Reason.NOT_DUST))
        return
    settle = s.settle_asset
    payer = s.ledger.account(s.fee_account)
    if sum(usdc for _, _, usdc in plan) > payer.assets[settle].available:
        s.events.append(ConvertDustRejected(c.account, c.asset, Reason.INSUFFICIENT_FUNDS))
        return
    for i, held, usdc in plan:
        bal = acct.assets[i]
        if bal.lend_shares:
            redeem_lend(s, acct, bal, i, held - bal.available, source="DustConversion")
        moves = Plan().move(bal, payer.assets[i], held).move(payer.assets[settle], acct.assets[settle], usdc)
        apply(s.ledger, moves)
        s.events.append(DustConverted(c.account, s.spec.assets[i].symbol, held, usdc))
    if plan:
        after_proceeds(s, acct, settle, acct.auto_repay_borrows)
