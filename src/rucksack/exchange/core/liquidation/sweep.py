"""Liquidation (reference model §8, §14.3), run by the scheduler's ``LiquidationSweep``.

Accounts with exposure are checked in id order. An account whose net equity is at or below its
maintenance requirement (``X > 0`` and ``equity <= MM``) is flagged ``liquidating`` and all its
resting orders are cancelled; while flagged it may not place orders, borrow or move capital.
Then, each sweep, with ``MF = equity / X`` and ``ACMF = max(MMF / d, MMF - o)``:

- **stage 1** (``MF >= ACMF``): borrows are repaid from holdings of the same asset; USDC debt
  is covered by selling other collateral on the spot books; each position sends one reduce-only
  IOC order for ``slice`` of its size (at least the minimum notional, at most all of it) at the
  mark -/+ the slippage bound. The liquidated account pays the liquidation fee (1% of the filled
  notional) to the liquidity fund on top of the taker fee. Deterministic: every sweep, no coin
  flip (the unofficial 50% throttle would need randomness in the core).
- **stage 2** (``MF < ACMF``): ``1 - MF/ACMF`` of each position (all of it when ``MF <= 0``) goes
  to backstop liquidity providers, the exchange's liquidity vault first (``core.vaults``), then in
  id order, each taking what its own margin allows (halving
  down to one lot). The liquidated account fills at its zero price ``ZP = mark * (1 -/+ MF+)``
  (``MF+ = max(MF, 0)``), the provider at ``(2 ZP + mark) / 3``; the difference is credited to
  the liquidity fund.
- **stage 3**: what no provider takes is auto-deleveraged against opposing positions in profit,
  ranked by PnL% x leverage (highest first, then lower ids), all filled at the bankruptcy price
  of what is left: the price that takes the position's share of net equity to zero.

**The loss waterfall.** A bankrupt account (net equity < 0; always stage 2) first has its
deficit absorbed, before any position moves, so that its bankruptcy price becomes the mark:

1. the liquidity fund pays what it holds (its unsettled claim plus its USDC) into the account's
   unsettled balance;
2. the rest is socialized to the opposing positions in profit in the account's markets: each
   market takes its share pro rata to exposure, each winner pro rata to its profit against its
   average entry and never more than that profit (``LossSocialized`` per winner);
3. then backstop and ADL close the positions at the mark (the zero and bankruptcy prices of an
   account at zero equity), so the account ends at exactly zero.

``BadDebt`` records the deficit, the fund's part, the socialized part and any residual. A
residual (no opposing winners at all) stays; a deficit found after the last position closed
(an on-book slice's slippage and fees, collateral sold at a discount) goes through the fund
when the account leaves liquidation. What nothing pays stays as negative unsettled balance,
collected from later deposits by settlement (Backpack's practice) and part of the pot's
shortfall until then. It is never borrowed: settlement borrows only for accounts whose
available equity stays >= 0 (see ``settlement``), so a loss never becomes a loan from the
lending pool's lenders.

The flag is cleared when the account has no exposure left or its maintenance requirement is at
most ``recover_mmr`` (95%) of its net equity. An account with no positions and no borrows has no
exposure, so it leaves liquidation even with a residual.

Balances change only through ``ledger.plan`` plans (the fund's and the winners' unsettled
amounts) and ``ledger.operations`` (repayments); positions move in ``_transfer``; orders go
through ``orders.placement.place`` like any other.

Prices are whole ticks. The zero price is computed exactly from ``equity / X`` and rounded once,
against the liquidated account (a seller's down, a buyer's up); bankruptcy prices round away from
the mark. The fund's credit is computed from the rounded prices, so every atom is accounted for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.enums import OrderStatus, Reason
from rucksack.exchange.core.events import (
    BadDebt,
    LiquidationEnded,
    LiquidationStarted,
    LossSocialized,
    PositionTransferred,
)
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.ledger.operations import auto_repay
from rucksack.exchange.core.ledger.plan import Plan, apply
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.numeric import PPM, WAD, ceil_div
from rucksack.exchange.core.orders.placement import place
from rucksack.exchange.core.orders.resting import remove_resting, trim_reduce_only

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def sweep(engine: ExchangeState) -> None:
    accounts = engine.ledger.accounts
    system = (engine.fee_account, engine.risk.liquidity_fund_account, engine.risk.settlement_account)
    ids = sorted(a for a, acct in accounts.items() if a not in system and (acct.liquidating or _exposed(acct)))
    for a in ids:
        check_account(engine, accounts[a])


def _exposed(acct: Account) -> bool:
    if acct.positions:
        return True
    return any(bal.borrow_shares for bal in acct.assets)


def check_account(engine: ExchangeState, acct: Account) -> None:
    r = engine.margin.compute(acct)
    if not acct.liquidating:
        if r.exposure <= 0 or r.equity > r.mm:
            return
        acct.liquidating = True
        engine.events.append(LiquidationStarted(acct.account, r.equity, r.mm, r.exposure))
        cancel_all(engine, acct)
        r = engine.margin.compute(acct)
    if _recovered(engine, r.exposure, r.equity, r.mm):
        finish(engine, acct, r.equity, r.mm)
        return
    mmf = r.mm * WAD // r.exposure
    mf = r.equity * WAD // r.exposure if r.equity >= 0 else -(-r.equity * WAD // r.exposure)
    acmf = max(mmf // engine.risk.acmf_divisor, mmf - engine.risk.acmf_offset_wad)
    residual = 0  # of a deficit absorbed in this sweep, what nothing could absorb
    if mf >= acmf:
        repay_borrows(engine, acct)
        for mi in sorted(acct.positions):
            pos = acct.positions.get(mi)
            if pos is not None and pos.lots:
                on_book(engine, acct, engine.markets[mi], pos.lots)
    else:
        if r.equity < 0:
            residual = absorb_deficit(engine, acct, -r.equity)  # the bankruptcy price is now the mark
        fraction = WAD if mf <= 0 else WAD - mf * WAD // acmf
        for mi in sorted(acct.positions):
            pos = acct.positions.get(mi)
            if pos is None or not pos.lots:
                continue
            size = abs(pos.lots)
            lots = size if fraction >= WAD else min(size, ceil_div(size * fraction, WAD))
            m = engine.markets[mi]
            sign = 1 if pos.lots > 0 else -1
            left = backstop(engine, acct, m, sign * lots, r.equity, r.exposure)
            if left:
                adl(engine, acct, m, left)
        repay_borrows(engine, acct)
    r = engine.margin.compute(acct)
    if _recovered(engine, r.exposure, r.equity, r.mm):
        finish(engine, acct, r.equity, r.mm, residual)


def _recovered(engine: ExchangeState, exposure: int, equity: int, mm: int) -> bool:
    return exposure <= 0 or (equity > 0 and mm * PPM <= equity * engine.risk.recover_mmr_ppm)


def finish(engine: ExchangeState, acct: Account, equity: int, mm: int, residual: int = 0) -> None:
    """Leave liquidation; a deficit beyond the ``residual`` this sweep already recorded (e.g. from
    selling collateral with slippage) goes through the loss waterfall first."""
    acct.liquidating = False
    if -equity > residual:  # with no exposure left (a negative equity is never "recovered")
        absorb_deficit(engine, acct, -equity - residual)
    engine.events.append(LiquidationEnded(acct.account, equity, mm))


def cancel_all(engine: ExchangeState, acct: Account) -> None:
    mine = sorted(oid for oid, o in engine.orders.items() if o.account == acct.account)
    for oid in mine:
        remove_resting(engine, engine.orders[oid], OrderStatus.CANCELLED, Reason.LIQUIDATION)


def on_book(engine: ExchangeState, acct: Account, m: MarketState, lots: int) -> None:
    """Stage 1: one reduce-only IOC slice through the book at mark -/+ the slippage bound."""
    risk = engine.risk
    mark = m.valuation_price()
    size = abs(lots)
    unit = mark * m.lot_tick_atoms
    min_lots = ceil_div(risk.slice_min_notional, unit) if unit else size
    slice_lots = max(ceil_div(size * risk.slice_ppm, PPM), min_lots, m.min_lots)
    slice_lots = min(slice_lots, size)
    selling = lots > 0
    if selling:
        limit = max(1, mark * (PPM - risk.slice_slippage_ppm) // PPM)
    else:
        limit = ceil_div(mark * (PPM + risk.slice_slippage_ppm), PPM)
    order = PlaceOrder(
        acct.account,
        m.symbol,
        "Ask" if selling else "Bid",
        "Limit",
        lots=slice_lots,
        price=limit,
        tif="IOC",
        reduce_only=True,
    )
    engine.liquidation_fee_ppm = risk.liquidation_fee_ppm
    try:
        place(engine, order, engine.last_ts_us, system=True)
    finally:
        engine.liquidation_fee_ppm = 0


def repay_borrows(engine: ExchangeState, acct: Account) -> None:
    """Repay each debt from the same asset's available balance; sell other collateral on the
    spot books for the settlement asset while settlement-asset debt remains. Every repayment goes
    through ``ledger.operations.auto_repay``, so it is a ``BorrowLendExecuted`` event like any other."""
    for i in range(len(acct.assets)):
        auto_repay(engine, acct, i, source="Liquidation")
    settle = engine.settle_asset
    _buy_back_debts(engine, acct)
    pool = engine.pools[settle]
    if pool is None:
        return
    owed = pool.debt(acct.assets[settle].borrow_shares) - acct.assets[settle].available
    sell_collateral(engine, acct, owed)
    auto_repay(engine, acct, settle, source="Liquidation")


def sell_collateral(engine: ExchangeState, acct: Account, owed: int) -> None:
    """Sell other collateral on the spot books (IOC at the index - the slippage bound, in asset
    order) until about ``owed`` settlement atoms have come in."""
    settle = engine.settle_asset
    for i, bal in enumerate(acct.assets):
        if owed <= 0:
            break
        m = engine.margin.pricers[i]
        if i == settle or m is None or not m.is_spot or bal.borrow_shares or not m.index_price:
            continue
        # sell enough base for ``owed`` at the slippage-bounded price, at most what is held
        floor_price = max(1, m.index_price * (PPM - engine.risk.slice_slippage_ppm) // PPM)
        lots = min(bal.available // m.lot_atoms, ceil_div(owed, floor_price * m.lot_tick_atoms))
        if lots < m.min_lots:
            continue
        before = acct.assets[settle].available
        order = PlaceOrder(acct.account, m.symbol, "Ask", "Limit", lots=lots, price=floor_price, tif="IOC")
        place(engine, order, engine.last_ts_us, system=True)
        owed -= acct.assets[settle].available - before


def _buy_back_debts(engine: ExchangeState, acct: Account) -> None:
    """Buy each owed non-settlement asset on its spot book with settlement-asset balance (IOC at
    the index + the slippage bound, 1% extra for the fee) and repay the debt from the proceeds."""
    settle = engine.settle_asset
    cash = acct.assets[settle]
    for i, bal in enumerate(acct.assets):
        pool = engine.pools[i]
        m = engine.margin.pricers[i]
        if i == settle or pool is None or not bal.borrow_shares or m is None or not m.is_spot:
            continue
        if not m.index_price or not cash.available:
            continue
        debt = pool.debt(bal.borrow_shares) - bal.available
        if debt <= 0:
            continue
        limit = ceil_div(m.index_price * (PPM + engine.risk.slice_slippage_ppm), PPM)
        lots = ceil_div(debt * 101, m.lot_atoms * 100)
        affordable = cash.available // (limit * m.lot_tick_atoms)
        lots = min(lots, affordable)
        if lots < m.min_lots:
            continue
        place(
            engine,
            PlaceOrder(acct.account, m.symbol, "Bid", "Limit", lots=lots, price=limit, tif="IOC"),
            engine.last_ts_us,
            system=True,
        )
        auto_repay(engine, acct, i, source="Liquidation")


def zero_price(mark: int, equity: int, exposure: int, selling: bool) -> int:
    """``mark x (1 -/+ MF+)`` with ``MF+ = max(equity, 0) / exposure``, computed exactly and rounded
    once, to a whole tick against the liquidated account (down when it sells, up when it buys);
    at least one tick."""
    shift = ceil_div(mark * max(equity, 0), exposure)
    price = mark - shift if selling else mark + shift
    return price if price > 0 else 1


def _transfer(
    engine: ExchangeState,
    kind: str,
    acct: Account,
    other: Account,
    m: MarketState,
    lots: int,
    price: int,
    other_price: int,
) -> None:
    """Move signed ``lots`` (liquidated account's side: +lots is what it sells) to ``other``."""
    lta = m.lot_tick_atoms
    mi = m.index
    pos = acct.position(mi)
    opos = other.position(mi)
    longs_before = max(pos.lots, 0) + max(opos.lots, 0)
    pos.apply_fill(-lots, -lots * price * lta)
    opos.apply_fill(lots, lots * other_price * lta)
    m.open_interest += max(pos.lots, 0) + max(opos.lots, 0) - longs_before
    diff = lots * (other_price - price) * lta
    if diff:
        apply(engine.ledger, Plan().owe(engine.ledger.accounts[engine.risk.liquidity_fund_account], diff))
    engine.events.append(
        PositionTransferred(
            kind=kind,
            market=m.symbol,
            account=acct.account,
            counterparty=other.account,
            lots=lots,
            price=price,
            counterparty_price=other_price,
        )
    )


def backstop(engine: ExchangeState, acct: Account, m: MarketState, lots: int, equity: int, exposure: int) -> int:
    """Stage 2: hand signed ``lots`` to backstop providers at the zero price of ``MF = equity /
    exposure``; return the signed lots left."""
    mark = m.valuation_price()
    selling = lots > 0
    zero = zero_price(mark, equity, exposure, selling)
    provider_price = (2 * zero + mark) // 3 if selling else ceil_div(2 * zero + mark, 3)
    left = abs(lots)
    sign = 1 if selling else -1
    for provider_id in engine.vaults.backstop_order(engine.backstop):
        if left == 0:
            break
        provider = engine.ledger.accounts.get(provider_id)
        if provider is None or provider is acct or provider.liquidating:
            continue
        take = left
        while take > 0:
            buys = take if selling else 0
            sells = 0 if selling else take
            r = engine.margin.compute(provider, market=m.index, add_buys=buys, add_sells=sells)
            if r.equity - r.im >= 0:
                break
            take //= 2
        if take > 0:
            _transfer(engine, "Backstop", acct, provider, m, sign * take, zero, provider_price)
            left -= take
    return sign * left


def bankruptcy_price(engine: ExchangeState, acct: Account, m: MarketState, lots: int) -> int:
    """The price at which closing signed ``lots`` moves this position's share of the account's
    net equity (pro rata to exposure) to zero: ``mark -/+ share / (|lots| x lta)``, rounded away
    from the mark (so the deficit is covered rather than left to the fund), at least one tick."""
    mark = m.valuation_price()
    r = engine.margin.compute(acct)
    pos = acct.positions[m.index]
    x_m = pos.exposure_lots(0, 0) * mark * m.lot_tick_atoms
    share = r.equity * x_m // r.exposure if r.exposure else r.equity
    unit = abs(lots) * m.lot_tick_atoms
    shift = share // unit if share >= 0 else -(-share // unit)  # toward the mark
    if share < 0 and -share % unit:
        shift -= 1  # a deficit: away from the mark
    price = mark - shift if lots > 0 else mark + shift
    return price if price > 0 else 1


def adl(engine: ExchangeState, acct: Account, m: MarketState, lots: int) -> None:
    """Stage 3: close signed ``lots`` against ranked opposing positions at the bankruptcy price."""
    mark = m.valuation_price()
    selling = lots > 0
    price = bankruptcy_price(engine, acct, m, lots)
    lta = m.lot_tick_atoms
    ranked: list[tuple[int, int]] = []
    for a, other in engine.ledger.accounts.items():
        if other is acct:
            continue
        pos = other.positions.get(m.index)
        if pos is None or not pos.lots or (pos.lots > 0) == selling:
            continue
        pnl = pos.lots * mark * lta - pos.entry_cost
        entry = abs(pos.entry_cost) or 1
        if pnl <= 0:
            continue
        r = engine.margin.compute(other)
        equity = r.equity if r.equity > 0 else 1
        score = pnl * WAD // entry * r.exposure // equity
        ranked.append((-score, a))
    ranked.sort()
    left = abs(lots)
    sign = 1 if selling else -1
    for _, a in ranked:
        if left == 0:
            break
        other = engine.ledger.accounts[a]
        pos = other.positions[m.index]
        take = min(left, abs(pos.lots))
        _transfer(engine, "Adl", acct, other, m, sign * take, price, price)
        other_pos = other.positions[m.index]
        if other_pos.reduce_only:
            trim_reduce_only(engine, m, other_pos)
        left -= take


def absorb_deficit(engine: ExchangeState, acct: Account, deficit: int) -> int:
    """The loss waterfall for a bankrupt account's ``deficit`` (minus its net equity): the
    liquidity fund pays what it holds, then the opposing positions in profit in the account's
    markets are charged the rest pro rata to that profit (``socialize``); what neither can absorb
    stays on the account as negative unsettled balance. One ``BadDebt`` event records the split;
    return that residual."""
    covered = fund_cover(engine, acct, deficit)
    socialized = socialize(engine, acct, deficit - covered)
    residual = deficit - covered - socialized
    engine.events.append(
        BadDebt(account=acct.account, deficit=deficit, covered=covered, socialized=socialized, residual=residual)
    )
    return residual


def fund_cover(engine: ExchangeState, acct: Account, deficit: int) -> int:
    """Move up to ``deficit`` from the liquidity fund (its unsettled claim plus its settlement-asset
    balance) to the account's unsettled balance; return the amount moved."""
    fund = engine.ledger.accounts[engine.risk.liquidity_fund_account]
    capacity = fund.unsettled + fund.assets[engine.settle_asset].available
    covered = min(deficit, capacity) if capacity > 0 else 0
    if covered > 0:
        apply(engine.ledger, Plan().move_unsettled(fund, acct, covered))
    return covered


def socialize(engine: ExchangeState, acct: Account, loss: int) -> int:
    """Charge up to ``loss`` to the opposing winners of the account's open positions; return the
    amount charged. Each market takes its share of what is still uncharged pro rata to the
    position's exposure (markets in index order, so a market without winners passes its share
    on to the next)."""
    markets: list[tuple[int, int]] = []
    for mi in sorted(acct.positions):
        pos = acct.positions[mi]
        m = engine.markets[mi]
        if pos.lots:
            markets.append((mi, abs(pos.lots) * m.valuation_price() * m.lot_tick_atoms))
    left = loss
    rest = sum(x for _, x in markets)
    for mi, x in markets:
        if left <= 0 or rest <= 0:
            break
        left -= haircut(engine, acct, engine.markets[mi], left * x // rest)
        rest -= x
    return loss - left


def haircut(engine: ExchangeState, acct: Account, m: MarketState, amount: int) -> int:
    """Charge ``amount`` to the positions opposing the account's in ``m`` that are in profit
    (``lots * mark - entry notional > 0``), pro rata to that profit and never more than it:
    ``floor(amount * profit / total)`` each, the remaining atoms one each to the largest profits
    (ties: lower ids). Each charge moves from the winner's unsettled balance to the account's
    (``LossSocialized``); return the total charged."""
    pos = acct.positions[m.index]
    mark = m.valuation_price()
    lta = m.lot_tick_atoms
    winners: list[tuple[int, int]] = []  # (-profit, account)
    for a, other in engine.ledger.accounts.items():
        opos = other.positions.get(m.index)
        if other is acct or opos is None or not opos.lots or (opos.lots > 0) == (pos.lots > 0):
            continue
        profit = opos.lots * mark * lta - opos.entry_cost
        if profit > 0:
            winners.append((-profit, a))
    winners.sort()
    total = -sum(p for p, _ in winners)
    if amount <= 0 or total <= 0:
        return 0
    if total <= amount:
        charges = [(a, -p) for p, a in winners]
    else:
        charges = [(a, amount * -p // total) for p, a in winners]
        extra = amount - sum(c for _, c in charges)
        charges = [(a, c + 1 if k < extra else c) for k, (a, c) in enumerate(charges)]
    charges = [(a, c) for a, c in charges if c > 0]
    plan = Plan()
    for a, c in charges:
        plan.move_unsettled(engine.ledger.accounts[a], acct, c)
    apply(engine.ledger, plan)
    engine.events.extend(LossSocialized(m.symbol, acct.account, a, c) for a, c in charges)
    return sum(c for _, c in charges)
