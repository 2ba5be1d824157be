"""Strategy commands: create, cancel, cancel all, and the crank that sends due slices.

A strategy of ``lots`` over ``duration_us`` sends ``slices = duration_us // interval_us`` IOC
orders (at least one), slice ``k`` due at ``created_us + k * interval_us``. A slice is what is
left divided evenly over the slices left (rounded down to whole lots; the last slice takes all
that is left). ``randomized``: each slice but the last is scaled by a factor in [0.5, 1.5)
drawn from the strategy's ``seed`` and the slice number (SplitMix64, integers only, so replay
gives the same slices), then capped at what is left.

A slice below the market's minimum quantity, or with no opposite liquidity, or that would fill
beyond the slippage tolerance (checked by a dry run of the matching loop against the best
opposite price -/+ the tolerance; ``Percent`` tolerances round towards that price) is not sent;
its lots carry over. A slice whose order is rejected ends the strategy as ``Terminated`` with
Backpack's ``StrategyCrankCancelReason`` for the order's reason. After the last slice the
strategy is ``Completed``; the user's cancel makes it ``Cancelled``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from rucksack.exchange.core import halts
from rucksack.exchange.core.book.matching import NO_BUDGET, fillable_lots
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.compliance.checks import order_refusal
from rucksack.exchange.core.enums import STP_NAMES, Reason
from rucksack.exchange.core.events import OrderAccepted, OrderRejected, TradeExecuted
from rucksack.exchange.core.numeric import PPM, ceil_div
from rucksack.exchange.core.orders.placement import place
from rucksack.exchange.core.strategies.book import CANCELLED, COMPLETED, RUNNING, TERMINATED, Strategy
from rucksack.exchange.core.strategies.commands import (
    CancelStrategies,
    CancelStrategy,
    CrankStrategies,
    CreateStrategy,
    StrategyCommand,
)
from rucksack.exchange.core.strategies.events import (
    StrategyOrderSent,
    StrategyRejected,
    StrategySliceSkipped,
    StrategyUpdated,
)

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

MAX_SLICES = 10_000
SLIPPAGE_EXCEEDED = "SlippageToleranceExceeded"
NOT_FOUND = "StrategyNotFound"
DUPLICATE_CLIENT_ID = "DuplicateClientId"
_MASK64 = (1 << 64) - 1

# order rejection reasons -> Backpack's StrategyCrankCancelReason (anything else: Unknown)
CRANK_REASONS = {
    Reason.FILL_OR_KILL: "FillOrKill",
    Reason.INSUFFICIENT_FUNDS: "InsufficientFunds",
    Reason.INSUFFICIENT_LIQUIDITY: "InsufficientLiquidity",
    Reason.INVALID_PRICE: "InvalidPrice",
    Reason.INVALID_QUANTITY: "InvalidQuantity",
    Reason.INSUFFICIENT_MARGIN: "InsufficientMargin",
    Reason.LIQUIDATION: "Liquidation",
    Reason.ACCOUNT_LIQUIDATING: "Liquidation",
    Reason.PRICE_OUT_OF_BOUNDS: "PriceOutOfBounds",
    Reason.REDUCE_ONLY_NOT_REDUCED: "ReduceOnlyNotReduced",
    Reason.SELF_TRADE_PREVENTION: "SelfTradePrevention",
    Reason.BORROW_LIMIT: "InsufficientBorrowableQuantity",
    Reason.POOL_LIMIT: "InsufficientBorrowableQuantity",
    Reason.POOL_EMPTY: "InsufficientBorrowableQuantity",
    Reason.REGION_REFUSED: "UserPermissions",
    Reason.SPOT_NOT_OFFERED: "UserPermissions",
    Reason.MARGIN_NOT_OFFERED: "UserPermissions",
    Reason.PERPS_NOT_OFFERED: "UserPermissions",
}


def apply(engine: ExchangeState, command: StrategyCommand, ts_us: int) -> None:
    if isinstance(command, CreateStrategy):
        create(engine, command, ts_us)
    elif isinstance(command, CancelStrategy):
        cancel(engine, command, ts_us)
    elif isinstance(command, CancelStrategies):
        cancel_all(engine, command, ts_us)
    else:
        crank(engine, command)


def _reject(engine: ExchangeState, account: int, strategy_id: int, client_id: int, reason: str) -> None:
    engine.events.append(StrategyRejected(account, strategy_id, client_id, reason))


def _updated(engine: ExchangeState, s: Strategy) -> None:
    engine.events.append(StrategyUpdated(msgspec.structs.replace(s)))


def create(engine: ExchangeState, c: CreateStrategy, ts_us: int) -> None:
    book = engine.strategies
    m = engine.market_by_symbol.get(c.market)
    reason = ""
    if m is None or not m.trading:
        reason = Reason.UNKNOWN_MARKET
    elif engine.ledger.accounts.get(c.account) is None:
        reason = Reason.UNKNOWN_ACCOUNT
    elif c.lots <= 0 or c.lots > m.max_lots:
        reason = Reason.INVALID_QUANTITY
    elif c.price < 0 or (c.price and not m.min_price <= c.price <= m.max_price):
        reason = Reason.INVALID_PRICE
    elif (
        c.interval_us <= 0
        or c.duration_us < c.interval_us
        or c.duration_us // c.interval_us > MAX_SLICES
        or c.slippage < 0
        or (c.slippage and c.slippage_type not in ("TickSize", "Percent"))
        or c.tif not in ("IOC", "FOK")
        or c.stp not in STP_NAMES
        or (c.reduce_only and m.is_spot)
    ):
        reason = Reason.INVALID_ORDER
    elif c.client_id >= 0 and book.running_by_client(c.account, c.market, c.client_id) is not None:
        reason = DUPLICATE_CLIENT_ID
    if reason:
        _reject(engine, c.account, -1, c.client_id, reason)
        return
    s = Strategy(
        id=book.next_id,
        account=c.account,
        market=c.market,
        side=c.side,
        lots=c.lots,
        price=c.price,
        duration_us=c.duration_us,
        interval_us=c.interval_us,
        slices=c.duration_us // c.interval_us,
        seed=c.seed & _MASK64,
        randomized=c.randomized,
        client_id=c.client_id,
        slippage=c.slippage,
        slippage_type=c.slippage_type if c.slippage else "",
        tif=c.tif,
        stp=c.stp,
        reduce_only=c.reduce_only,
        auto_borrow=c.auto_borrow,
        auto_borrow_repay=c.auto_borrow_repay,
        auto_lend_redeem=c.auto_lend_redeem,
        created_us=ts_us,
        updated_us=ts_us,
    )
    book.next_id += 1
    book.strategies[s.id] = s
    book.running.append(s.id)
    _updated(engine, s)


def _end(engine: ExchangeState, s: Strategy, status: str, reason: str, ts_us: int) -> None:
    s.status, s.cancel_reason, s.updated_us = status, reason, ts_us
    engine.strategies.running.remove(s.id)
    _updated(engine, s)


def cancel(engine: ExchangeState, c: CancelStrategy, ts_us: int) -> None:
    book = engine.strategies
    if c.strategy_id >= 0:
        s = book.strategies.get(c.strategy_id)
        found = s if s is not None and s.account == c.account and s.market == c.market else None
    else:
        found = book.running_by_client(c.account, c.market, c.client_id) if c.client_id >= 0 else None
    if found is None or found.status != RUNNING:
        _reject(engine, c.account, c.strategy_id, c.client_id, NOT_FOUND)
        return
    _end(engine, found, CANCELLED, "", ts_us)


def cancel_all(engine: ExchangeState, c: CancelStrategies, ts_us: int) -> None:
    book = engine.strategies
    mine = [book.strategies[i] for i in book.running]
    for s in mine:
        if s.account == c.account and s.market == c.market:
            _end(engine, s, CANCELLED, "", ts_us)


# ---------------------------------------------------------------------- the crank


def splitmix64(x: int) -> int:
    """One SplitMix64 output for state ``x`` (integers only; the same on every platform)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def slice_lots(s: Strategy) -> int:
    """The lots of the strategy's next slice (see the module docstring)."""
    left = s.lots - s.executed_lots
    slices_left = s.slices - s.slices_sent
    if slices_left <= 1:
        return left
    lots = left // slices_left
    if s.randomized:
        factor = PPM // 2 + splitmix64(s.seed ^ (s.slices_sent * 0x2545F4914F6CDD1D & _MASK64)) % PPM
        lots = lots * factor // PPM
    return min(lots, left)


def crank(engine: ExchangeState, c: CrankStrategies) -> None:
    book = engine.strategies
    now = max(book.now_us, c.now_us)
    book.now_us = now
    for sid in list(book.running):
        s = book.strategies[sid]
        while s.status == RUNNING and s.due_us(s.slices_sent) <= now:
            _send_slice(engine, s, s.due_us(s.slices_sent))


def _bound(s: Strategy, best: int, is_buy: bool) -> int:
    """The worst price the slippage tolerance allows from ``best`` (rounded towards ``best``)."""
    if s.slippage_type == "TickSize":
        return best + s.slippage if is_buy else max(1, best - s.slippage)
    if is_buy:
        return best * (PPM + s.slippage) // PPM
    return max(1, ceil_div(best * (PPM - s.slippage), PPM))


def _send_slice(engine: ExchangeState, s: Strategy, at_us: int) -> None:
    m = engine.market_by_symbol[s.market]
    lots = slice_lots(s)
    last = s.slices_sent == s.slices - 1
    s.slices_sent += 1
    s.updated_us = at_us
    is_buy = s.side == "Bid"
    opposite = m.asks if is_buy else m.bids
    skip = ""
    price = s.price
    if lots <= 0 or lots < m.min_lots:
        skip = Reason.INVALID_QUANTITY
    elif opposite.best_price() == 0:
        skip = Reason.INSUFFICIENT_LIQUIDITY
    elif s.slippage:
        bound = _bound(s, opposite.best_price(), is_buy)
        if price:  # the tighter of the limit price and the slippage bound
            bound = min(bound, price) if is_buy else max(bound, price)
        stp = STP_NAMES.index(s.stp)
        can = fillable_lots(opposite, s.account, is_buy, bound, bound, lots, NO_BUDGET, m.lot_tick_atoms, stp)
        if can < lots:
            skip = SLIPPAGE_EXCEEDED
        price = bound
    if skip:
        if lots > 0:
            engine.events.append(StrategySliceSkipped(s.id, s.account, lots, skip))
        _after_slice(engine, s, last, at_us)
        return
    refused = halts.refusal(engine, m) or order_refusal(engine, _order(s, lots, price))
    if refused:
        _end(engine, s, TERMINATED, CRANK_REASONS.get(refused, "Unknown"), at_us)
        return
    start = len(engine.events)
    place(engine, _order(s, lots, price), at_us)
    order_id = -1
    for ev in engine.events[start:]:
        if isinstance(ev, OrderAccepted) and ev.order.account == s.account:
            order_id = ev.order_id
        elif isinstance(ev, OrderRejected):
            _end(engine, s, TERMINATED, CRANK_REASONS.get(ev.reason, "Unknown"), at_us)
            return
        elif isinstance(ev, TradeExecuted) and ev.taker_order_id == order_id:
            s.executed_lots += ev.lots
            s.executed_quote += ev.lots * ev.price * m.lot_tick_atoms
    if order_id >= 0:
        engine.strategies.order_strategy[order_id] = s.id
        engine.events.append(StrategyOrderSent(s.id, order_id, s.account))
    _after_slice(engine, s, last, at_us)


def _after_slice(engine: ExchangeState, s: Strategy, last: bool, at_us: int) -> None:
    if last or s.executed_lots >= s.lots:
        _end(engine, s, COMPLETED, "", at_us)
    else:
        _updated(engine, s)


def _order(s: Strategy, lots: int, price: int) -> PlaceOrder:
    return PlaceOrder(
        s.account,
        s.market,
        "Bid" if s.side == "Bid" else "Ask",
        "Limit" if price else "Market",
        lots=lots,
        price=price,
        tif="FOK" if s.tif == "FOK" else "IOC",
        stp=s.stp,  # type: ignore[arg-type]
        reduce_only=s.reduce_only,
        auto_borrow=s.auto_borrow,
        auto_borrow_repay=s.auto_borrow_repay,
        auto_lend_redeem=s.auto_lend_redeem,
    )
