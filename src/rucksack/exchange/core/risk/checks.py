"""Pre-trade risk checks over the exchange state (margin-model.md §5, §7): whether an account
has exposure, whether a hypothetical change keeps available equity >= 0 (or does not lower it),
a perp order's margin and position limits, and whether capital may leave an account.

Nothing here changes state: each check values the account as if the change had happened
(``MarginCalc.compute`` with hypothetical deltas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.numeric import fee_atoms

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def has_exposure(s: ExchangeState, acct: Account) -> bool:
    if acct.positions or acct.unsettled < 0:
        return True
    return any(bal.borrow_shares for bal in acct.assets)


def margin_allows(
    s: ExchangeState,
    acct: Account,
    *,
    market: int = -1,
    buys: int = 0,
    sells: int = 0,
    asset: int = -1,
    delta: int = 0,
    asset2: int = -1,
    delta2: int = 0,
    new_debt: int = 0,
) -> bool:
    """The pre-trade rule: after the change, available equity is >= 0, or at least not lower
    than before (a change that reduces risk is never blocked). ``new_debt`` atoms of ``asset``
    to be borrowed for the change count as extra borrow exposure."""
    after = s.margin.compute(
        acct,
        market=market,
        add_buys=buys,
        add_sells=sells,
        asset=asset,
        delta=delta,
        asset2=asset2,
        delta2=delta2,
        with_mm=False,
        new_debt=new_debt,
    )
    if after.equity - after.im >= 0:
        return True
    if new_debt:
        return False
    before = s.margin.compute(acct, with_mm=False)
    return after.equity - after.im >= before.equity - before.im and after.exposure <= before.exposure


def borrow_margin_ok(s: ExchangeState, acct: Account, asset: int, amount: int, fee: int) -> bool:
    """Whether a new borrow of ``amount`` atoms of ``asset`` paying the entry ``fee`` leaves
    available equity >= 0 (margin-model.md §10): the debt grows by ``amount + fee`` and the wallet
    holds ``amount`` more, so the asset's net falls by ``fee``. The one rule for a manual Borrow,
    the max-borrow figure and a settlement borrow (whose cash pays the pot, cutting the owed
    unsettled balance by the same ``amount``)."""
    after = s.margin.compute(acct, asset=asset, delta=-fee, with_mm=False, new_debt=amount + fee)
    return after.equity - after.im >= 0


def perp_margin_check(
    s: ExchangeState, acct: Account, m: MarketState, is_buy: bool, lots: int, worst: int, mark: int
) -> str:
    """An order that raises the market's exposure must keep the market's open interest within
    its limit and the account's futures exposure (at the mark, open orders included) within
    its ``positionLimit``, and leave available equity >= 0 even if it fills completely at its
    worst price (its limit, or the impact bound) paying the taker fee. Orders that do not
    raise exposure (reduce-only among them) are never refused here."""
    pos = acct.positions.get(m.index)
    buys = lots if is_buy else 0
    sells = 0 if is_buy else lots
    before = pos.exposure_lots(0, 0) if pos is not None else 0
    after = pos.exposure_lots(buys, sells) if pos is not None else lots
    if after <= before:
        return ""
    if after > m.spec.max_position_lots:
        return Reason.MAX_POSITION
    limit = m.spec.open_interest_limit_lots
    current = pos.lots if pos is not None else 0
    if limit and is_buy and current >= 0 and m.open_interest + lots > limit:
        return Reason.POSITION_LIMIT
    r = s.margin.compute(acct, market=m.index, add_buys=buys, add_sells=sells, with_mm=False)
    if r.futures > s.margin.position_limit(acct, r.equity):
        return Reason.POSITION_LIMIT  # the account's positionLimit
    lta = m.lot_tick_atoms
    gap = worst - mark if is_buy else mark - worst
    loss = lots * gap * lta if gap > 0 else 0
    fee = fee_atoms(lots * worst * lta, s.futures_taker_ppm[acct.tier])
    if r.equity - loss - fee - r.im < 0:
        return Reason.INSUFFICIENT_MARGIN
    return ""


def capital_may_leave(s: ExchangeState, acct: Account, asset: int, amount: int) -> bool:
    """A withdrawal or outgoing transfer: refused while liquidating, and for an account with
    exposure it must leave available equity >= 0."""
    if acct.liquidating:
        return False
    if not has_exposure(s, acct):
        return True
    after = s.margin.compute(acct, asset=asset, delta=-amount, with_mm=False)
    return after.equity - after.im >= 0
