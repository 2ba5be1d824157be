"""What an account may still do: the numbers behind Backpack's max order / max borrow / max
withdrawal quantity endpoints, and the estimated liquidation price of a position (§14.3 item 17).

Each limit is the largest amount the engine's own pre-trade rule would accept right now, found by
bisection over the same checks the engine runs (so the endpoint and the engine never disagree),
capped by balances. They read state and change nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.ledger.operations import cover_shortfall
from rucksack.exchange.core.market_state import MarketState, mark_price
from rucksack.exchange.core.numeric import WAD, ceil_div
from rucksack.exchange.core.risk.checks import (
    borrow_margin_ok,
    capital_may_leave,
    has_exposure,
    margin_allows,
    perp_margin_check,
)

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def _largest(ok_fn: object, hi: int) -> int:
    """The largest ``n`` in [0, hi] with ok(n), assuming ok is monotone (true, then false)."""
    ok = ok_fn  # typed loosely so mypyc accepts any callable
    lo = 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):  # type: ignore[operator]
            lo = mid
        else:
            hi = mid - 1
    return lo


def max_perp_order_lots(engine: ExchangeState, acct: Account, m: MarketState, is_buy: bool, price: int) -> int:
    """Lots of a perp order at ``price`` (0: the mark) that the margin rule accepts."""
    mark = mark_price(m)
    if not mark:
        return 0
    worst = price or mark
    pos = acct.positions.get(m.index)
    reducing = 0
    if pos is not None and pos.lots and (pos.lots < 0) == is_buy:
        reducing = abs(pos.lots)
    equity = engine.margin.compute(acct).equity
    unit = worst * m.lot_tick_atoms
    hi = reducing + (max(equity, 0) * engine.risk.max_leverage // unit + 1 if unit else 0)
    if m.max_lots:
        hi = min(hi, m.max_lots)
    return _largest(lambda n: n <= reducing or not perp_margin_check(engine, acct, m, is_buy, n, worst, mark), hi)


def redeemable(engine: ExchangeState, acct: Account, asset: int) -> int:
    """Atoms of the account's lend in ``asset`` that a redemption could pay out now (the pool's
    cash and utilization cap allowing), as an order's hold or a withdrawal would redeem them."""
    pool = engine.pools[asset]
    bal = acct.assets[asset]
    if pool is None or not bal.lend_shares:
        return 0
    claim = pool.claim(bal.lend_shares)
    return _largest(lambda r: r == 0 or cover_shortfall(engine, acct, bal, asset, r, True, False)[0] >= 0, claim)


def spendable(engine: ExchangeState, acct: Account, asset: int, may_redeem: bool) -> int:
    """The available balance, plus what redeeming the lend would free when the engine would redeem
    it (``autoLend`` on, or the order's ``autoLendRedeem``)."""
    extra = redeemable(engine, acct, asset) if may_redeem or acct.auto_lend else 0
    return acct.assets[asset].available + extra


def max_spot_order_lots(
    engine: ExchangeState, acct: Account, m: MarketState, is_buy: bool, price: int, may_redeem: bool = False
) -> int:
    """Lots of a spot order: what the balance can hold, lent funds the engine would redeem for it
    included (and, with exposure, what margin allows)."""
    if is_buy:
        price_used = price or m.asks.best_price() or m.last_price
        if not price_used:
            return 0
        hi = spendable(engine, acct, m.quote, may_redeem) // (price_used * m.lot_tick_atoms)
    else:
        price_used = price or m.bids.best_price() or m.last_price
        hi = spendable(engine, acct, m.base, may_redeem) // m.lot_atoms
    if m.max_lots:
        hi = min(hi, m.max_lots)
    if not has_exposure(engine, acct) or not price_used:
        return hi
    spend, got = (m.quote, m.base) if is_buy else (m.base, m.quote)

    def ok(n: int) -> bool:
        spent = n * price_used * m.lot_tick_atoms if is_buy else n * m.lot_atoms
        received = n * m.lot_atoms if is_buy else n * price_used * m.lot_tick_atoms
        return margin_allows(engine, acct, asset=spend, delta=-spent, asset2=got, delta2=received)

    return _largest(ok, hi)


def max_withdrawal(engine: ExchangeState, acct: Account, asset: int) -> int:
    """Atoms of ``asset`` that may leave now: the available balance plus, with ``autoLend`` on,
    what redeeming the lend would free (as the withdrawal itself redeems), checked against margin."""
    hi = spendable(engine, acct, asset, False)
    if acct.liquidating:
        return 0
    if not has_exposure(engine, acct):
        return hi
    return _largest(lambda n: capital_may_leave(engine, acct, asset, n), hi)


def max_borrow(engine: ExchangeState, acct: Account, asset: int) -> int:
    """Atoms of ``asset`` a new borrow may take: margin (the debt's IM) and the pool's limits."""
    pool = engine.pools[asset]
    bal = acct.assets[asset]
    if pool is None or bal.lend_shares or acct.liquidating:
        return 0
    r = engine.margin.compute(acct)
    available = r.equity - r.im
    if available <= 0:
        return 0

    def ok(n: int) -> bool:
        fee = pool.entry_fee(n, engine.seconds_left_in_hour())
        return pool.can_borrow(n, fee) and borrow_margin_ok(engine, acct, asset, n, fee)

    return _largest(ok, pool.cash)


def estimated_liquidation_price(engine: ExchangeState, acct: Account, m: MarketState) -> int:
    """The mark (ticks) at which this position alone would bring net equity down to maintenance,
    everything else frozen; 0 when there is none (no position, or never within (0, 100 x mark))."""
    pos = acct.positions.get(m.index)
    if pos is None or not pos.lots:
        return 0
    saved = (m.index_price, m.basis_ewma)
    mark = m.valuation_price()
    if not mark:
        return 0

    saved_mark = m.mark

    def liquidatable(price: int) -> bool:
        m.index_price, m.basis_ewma, m.mark = price, 0, price
        engine.margin.epoch += 1
        r = engine.margin.compute(acct)
        return r.equity <= r.mm

    try:
        if pos.lots > 0:
            if not liquidatable(1) or liquidatable(mark):
                return 0 if not liquidatable(1) else mark
            # the largest price at which it is liquidatable, in [1, mark)
            return _largest(lambda p: p == 0 or liquidatable(p), mark - 1)
        top = mark * 100
        if not liquidatable(top) or liquidatable(mark):
            return 0 if not liquidatable(top) else mark
        # the smallest liquidatable price in (mark, top]: one above the largest step that is not
        return mark + 1 + _largest(lambda n: n == 0 or not liquidatable(mark + n), top - mark - 1)
    finally:
        m.index_price, m.basis_ewma = saved
        m.mark = saved_mark
        engine.margin.epoch += 1


def borrow_liquidation_price(engine: ExchangeState, acct: Account, asset: int, borrow: int) -> int:
    """Backpack's borrow-lend liquidation price: the index (ticks of the market that prices
    ``asset``) at which the account, once it borrowed ``borrow`` more atoms of ``asset`` (0: as it
    stands; a lend changes no equity), would be down to maintenance, everything else frozen. The
    nearest such price above the mark (a debt grows with the price), else below it; 0 when none
    is within (0, 100 x mark] or no market prices the asset. The hypothetical borrow is added to
    the balance and restored before returning: nothing changes."""
    pool = engine.pools[asset]
    m = engine.margin.pricers[asset] if asset != engine.settle_asset else None
    if m is None or pool is None:
        return 0
    mark = m.valuation_price()
    if not mark:
        return 0
    bal = acct.assets[asset]
    shares = ceil_div(borrow * WAD, pool.borrow_index) if borrow > 0 else 0
    saved = (m.index_price, m.basis_ewma, m.mark, bal.available, bal.borrow_shares)
    bal.available += max(borrow, 0)
    bal.borrow_shares += shares

    def liquidatable(price: int) -> bool:
        m.index_price, m.basis_ewma, m.mark = price, 0, price
        engine.margin.epoch += 1
        r = engine.margin.compute(acct)
        return r.equity <= r.mm

    try:
        if liquidatable(mark):
            return mark
        top = mark * 100
        if liquidatable(top):  # the smallest liquidatable price in (mark, top]
            return mark + 1 + _largest(lambda n: n == 0 or not liquidatable(mark + n), top - mark - 1)
        if liquidatable(1):  # the largest liquidatable price in [1, mark)
            return _largest(lambda p: p == 0 or liquidatable(p), mark - 1)
        return 0
    finally:
        m.index_price, m.basis_ewma, m.mark, bal.available, bal.borrow_shares = saved
        engine.margin.epoch += 1
