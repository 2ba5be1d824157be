"""Order placement in named stages: validate -> reserve (R1) -> accept -> match -> settle (R2) -> finish.

- **validate**: the order alone against its market (known, trading, a mark for perps), its
  codes, price and size limits, the price band, the client id and post-only. Nothing changes.
- **reserve** (R1): the account (exists, not liquidating); perps: reduce-only trim, margin and
  position limits; spot: the hold (a limit bid holds ``lots * price * lot_tick_atoms`` quote
  atoms, an ask ``lots * lot_atoms`` base atoms, a market bid its quote budget or the whole
  available quote, a market ask sized by quote the available base), a shortfall covered by
  redeeming lent funds and then borrowing, and the margin rule. Every check runs before the
  first change, so a refusal changes nothing.
- **accept**: the order id and ``OrderAccepted``.
- **match**: FOK first asks the dry run of the same matching loop; then the match itself.
- **settle** (R2): ``orders.fills``; makers expired by self-trade prevention are closed.
- **finish**: the taker is filled, expired, or rests; a resting order's hold becomes exactly
  what its remaining lots need, and what a taker does not use is released at once.

An expected failure is an ``OrderRejected`` event, never an exception. Rounding: price-band
limits compare by cross-multiplication (they never round); impact limits round towards the
reference (buyer's maximum down, seller's minimum up); fees see ``orders.fills``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from msgspec.structs import astuple

from rucksack.exchange.core.book.matching import (
    NO_BUDGET,
    STOP_BUDGET,
    STOP_FILLED,
    STOP_IMPACT,
    STOP_STP,
    fillable_lots,
    match,
)
from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.book.side import BookSide
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.enums import (
    ASK,
    BID,
    FOK,
    GTC,
    IOC,
    STP_ALLOW,
    STP_REJECT_BOTH,
    STP_REJECT_MAKER,
    STP_REJECT_TAKER,
    OrderStatus,
    Reason,
)
from rucksack.exchange.core.events import OrderAccepted, OrderClosed, OrderRejected
from rucksack.exchange.core.exchange_state import client_key
from rucksack.exchange.core.ledger.balances import Account, Balance, apply_hold, apply_release
from rucksack.exchange.core.ledger.operations import auto_lend, cover_shortfall
from rucksack.exchange.core.market_state import MarketState, mark_price
from rucksack.exchange.core.markets import MAX_AMOUNT_ATOMS
from rucksack.exchange.core.numeric import PPM, ceil_div
from rucksack.exchange.core.orders.fills import settle_perp, settle_spot
from rucksack.exchange.core.orders.resting import NO_CLIENT_ID, close_taker, forget, order_account, release
from rucksack.exchange.core.risk.checks import has_exposure, margin_allows, perp_margin_check
from rucksack.exchange.core.risk.limits import redeemable

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

# ``Placement`` unpacks PlaceOrder positionally; refuse to run if its fields are ever reordered.
if PlaceOrder.__struct_fields__[:21] != (
    "account",
    "market",
    "side",
    "order_type",
    "lots",
    "price",
    "quote_atoms",
    "tif",
    "post_only",
    "stp",
    "client_id",
    "reduce_only",
    "auto_borrow",
    "auto_borrow_repay",
    "auto_lend_redeem",
    "trigger_price",
    "trigger_by",
    "take_profit_price",
    "take_profit_limit",
    "take_profit_by",
    "stop_loss_price",
):  # pragma: no cover
    raise ImportError("PlaceOrder's fields changed; update orders.placement.Placement")

TRIGGER_PRICE: Final = 15  # positions in PlaceOrder's field tuple (checked above)
TAKE_PROFIT_PRICE: Final = 17
STOP_LOSS_PRICE: Final = 20

# Non-compiled callables used once or more per order, as Final names so mypyc keeps them in C
# statics instead of a globals-dict lookup per call (see orders.resting).
AS_TUPLE: Final = astuple
ORDER_ACCEPTED: Final = OrderAccepted
ORDER_CLOSED: Final = OrderClosed
ORDER_REJECTED: Final = OrderRejected

MAX_PRICE_TICKS: Final = (1 << 60) - 1  # 'no limit'; stays an unboxed int when compiled
CLIENT_ID_LIMIT: Final = 1 << 32


class Placement:
    """One order on its way through the stages: the command's fields decoded once, then what
    each stage works out (the account, the hold, the matching limits). Each state keeps one and
    reloads it for every order (placements never nest): no allocation and free per order."""

    __slots__ = (
        "account",
        "account_box",
        "acct",
        "asset",
        "auto_borrow",
        "auto_redeem",
        "auto_repay",
        "c",
        "client_id",
        "client_key",
        "held",
        "hold",
        "impact",
        "is_buy",
        "is_limit",
        "lots",
        "m",
        "mark",
        "max_lots",
        "max_quote",
        "opposite",
        "order_type",
        "post_only",
        "price",
        "quote_atoms",
        "reduce_only",
        "side",
        "stp",
        "tif",
    )

    def __init__(self, c: PlaceOrder, fields: tuple[Any, ...], m: MarketState) -> None:
        self.load(c, fields, m)

    def load(self, c: PlaceOrder, fields: tuple[Any, ...], m: MarketState) -> None:
        """Start over with the order ``c`` (its ``command_fields``) on market ``m``."""
        self.c = c
        self.m = m
        self.account: int = fields[0]
        self.account_box: Any = fields[0]  # the command's own int object, a dict key as it is
        self.side = _side_code(fields[2])
        self.order_type: str = fields[3]
        self.lots: int = fields[4]
        self.price: int = fields[5]
        self.quote_atoms: int = fields[6]
        self.tif = _tif_code(fields[7])
        self.post_only: bool = fields[8]
        self.stp = _stp_code(fields[9])
        self.client_id: int = fields[10]
        self.reduce_only: bool = fields[11]
        self.auto_borrow: bool = fields[12]
        self.auto_repay: bool = fields[13]
        self.auto_redeem: bool = fields[14]
        self.is_limit = self.order_type == "Limit"
        self.is_buy = self.side == BID
        self.opposite: BookSide = m.asks if self.is_buy else m.bids
        self.mark = 0
        self.client_key = -1
        self.acct: Account | None = None
        self.held: Balance | None = None  # the balance a spot order holds from
        self.asset = -1
        self.hold = 0
        self.impact = 0
        self.max_lots = 0
        self.max_quote = NO_BUDGET


def command_fields(c: PlaceOrder) -> tuple[Any, ...]:
    """Every field of ``c`` in declaration order. One C call (``msgspec.structs.astuple``) is
    cheaper than reading the fields as attributes when compiled: a generic getattr on a msgspec
    struct costs ~160 instructions, and an order needs 17 of them."""
    return AS_TUPLE(c)


def has_trigger(fields: tuple[Any, ...]) -> bool:
    """The order waits for a trigger or carries take-profit/stop-loss (``orders.triggers``)."""
    return bool(fields[TRIGGER_PRICE] or fields[TAKE_PROFIT_PRICE] or fields[STOP_LOSS_PRICE])


def place(
    s: ExchangeState,
    c: PlaceOrder,
    ts_us: int,
    system: bool = False,
    reuse_id: int = 0,
    fields: tuple[Any, ...] | None = None,
) -> None:
    """Place one order through every stage. ``system`` orders (liquidation) skip the margin
    checks and may trade for a liquidating account; ``reuse_id`` keeps a firing trigger's id;
    ``fields`` is ``command_fields(c)`` when the caller has read it already."""
    p = validate(s, c, command_fields(c) if fields is None else fields)
    if p is None or not reserve(s, p, system):
        return
    ts_box: Any = ts_us  # one Python int for every event of this placement
    taker = accept(s, p, ts_us, ts_box, reuse_id)
    fills = s.fills  # scratch lists, emptied here: no placement starts inside another one
    if fills:
        fills.clear()
    stp_expired = s.stp_expired
    if stp_expired:
        stp_expired.clear()
    stop = match_taker(p, taker, fills, stp_expired)
    if stop < 0:
        close_taker(s, p.held, taker, OrderStatus.EXPIRED, Reason.FILL_OR_KILL)
        return
    settle(s, p, taker, fills, stp_expired, ts_box)
    finish(s, p, taker, stop)


def reject(s: ExchangeState, c: PlaceOrder, reason: str) -> None:
    s.events.append(ORDER_REJECTED(c.account, c.market, c.client_id, reason))


# ---------------------------------------------------------------------- validate


def validate(s: ExchangeState, c: PlaceOrder, fields: tuple[Any, ...]) -> Placement | None:
    """The order against its market alone; None (after an ``OrderRejected``) when it fails."""
    m = s.market_by_symbol.get(fields[1])
    if m is None:
        reject(s, c, Reason.UNKNOWN_MARKET)
        return None
    p = s.placement
    if p is None:
        p = s.placement = Placement(c, fields, m)
    else:
        p.load(c, fields, m)
    reason = _market_reason(p)
    if not reason:
        reason = _shape_reason(p)
    if not reason:
        reason = _book_reason(s, p)
    if reason:
        reject(s, c, reason)
        return None
    return p


def _market_reason(p: Placement) -> str:
    m = p.m
    if not m.trading:
        return Reason.MARKET_CLOSED
    if m.is_perp:
        p.mark = mark_price(m)
        if not p.mark:
            return Reason.NO_MARK_PRICE
        if p.quote_atoms:
            return Reason.INVALID_ORDER  # perps are sized in base quantity
    elif p.reduce_only:
        return Reason.INVALID_ORDER  # reduce-only is for futures
    if p.tif < 0 or p.stp < 0 or p.side < 0:
        return Reason.INVALID_ORDER
    return ""


def _shape_reason(p: Placement) -> str:
    """Order type, price and quantity limits, and the price band."""
    m, lots, price, quote_atoms = p.m, p.lots, p.price, p.quote_atoms
    if p.is_limit:
        if quote_atoms != 0:
            return Reason.INVALID_QUANTITY
        if price < m.min_price or (m.max_price and price > m.max_price) or price > MAX_PRICE_TICKS:
            return Reason.INVALID_PRICE
    elif p.order_type == "Market":
        if p.post_only or price != 0:
            return Reason.INVALID_ORDER
        if (lots > 0) == (quote_atoms > 0) or lots < 0 or quote_atoms < 0:
            return Reason.INVALID_QUANTITY
        if quote_atoms > 0 and (p.tif == FOK or quote_atoms < m.min_notional or quote_atoms > MAX_AMOUNT_ATOMS):
            return Reason.INVALID_ORDER if p.tif == FOK else Reason.INVALID_QUANTITY
    else:
        return Reason.INVALID_ORDER
    if lots != 0 or p.is_limit:
        if lots < m.min_lots or (m.max_lots and lots > m.max_lots):
            return Reason.INVALID_QUANTITY
        if p.is_limit and lots * price * m.lot_tick_atoms < m.min_notional:
            return Reason.INVALID_QUANTITY
    ref = p.mark if m.is_perp else m.last_price  # perps: the limit band is around the mark price
    if p.is_limit and ref > 0:
        scaled = price * PPM
        if scaled > ref * m.band_max or scaled < ref * m.band_min:
            return Reason.PRICE_OUT_OF_BOUNDS
    return ""


def _book_reason(s: ExchangeState, p: Placement) -> str:
    """The client id is free, and a post-only order would not take."""
    client_id = p.client_id
    if client_id != NO_CLIENT_ID:
        if client_id < 0 or client_id >= CLIENT_ID_LIMIT:
            return Reason.INVALID_ORDER
        p.client_key = client_key(p.account, client_id)
        if p.client_key in s.client_orders:
            return Reason.DUPLICATE_CLIENT_ID
    if p.post_only:
        best = p.opposite.best_price()
        if best and ((p.is_buy and best <= p.price) or (not p.is_buy and best >= p.price)):
            return Reason.POST_ONLY_TAKER
    return ""


# ---------------------------------------------------------------------- reserve (R1)


def reserve(s: ExchangeState, p: Placement, system: bool) -> bool:
    """R1: hold funds (spot) or check margin (perps). False (after an ``OrderRejected``) when
    the account cannot take the order; nothing has changed then."""
    acct = s.ledger.accounts.get(p.account_box)
    reason = ""
    if acct is None:
        reason = Reason.INSUFFICIENT_FUNDS
    elif acct.liquidating and not system:
        reason = Reason.ACCOUNT_LIQUIDATING
    else:
        p.acct = acct
        # a taker sweeps at most to the best opposite price x the impact multiplier (§7.3)
        ref = p.opposite.best_price()
        m = p.m
        if ref > 0:
            p.impact = (ref * m.impact_max) // PPM if p.is_buy else ceil_div(ref * m.impact_min, PPM)
        else:
            p.impact = MAX_PRICE_TICKS if p.is_buy else 0
        reason = _reserve_perp(s, p, acct, system) if m.is_perp else _reserve_spot(s, p, acct, system)
    if reason:
        reject(s, p.c, reason)
        return False
    return True


def _reserve_perp(s: ExchangeState, p: Placement, acct: Account, system: bool) -> str:
    """Perps hold nothing: a reduce-only order is cut to the position, any other order that
    raises exposure must pass the margin and position limits (``risk.checks``)."""
    m = p.m
    pos = acct.positions.get(m.index)
    current = pos.lots if pos is not None else 0
    if p.reduce_only:
        if current == 0 or (current > 0) == p.is_buy:
            return Reason.REDUCE_ONLY_NOT_REDUCED
        if p.lots > abs(current):
            p.lots = abs(current)  # cut down so it cannot flip the position
    elif not system:
        worst = p.price if p.is_limit else p.opposite.sweep_price(p.lots, p.impact)
        reason = perp_margin_check(s, acct, m, p.is_buy, p.lots, worst, p.mark)
        if reason:
            return reason
    p.max_lots = p.lots
    return ""


def _spot_budget(s: ExchangeState, p: Placement, acct: Account) -> int:
    """Set the hold, lot and quote limits of a spot order; returns the balance available. A
    market order whose size is its budget (a bid sized in lots, an ask sized in quote) may spend
    the lend too when the engine would redeem it (autoLend, autoLendRedeem)."""
    m = p.m
    p.asset = m.quote if p.is_buy else m.base
    held = acct.assets[p.asset]
    available = held.available
    budget = available
    if not p.is_limit and (p.is_buy != bool(p.quote_atoms)) and (p.auto_redeem or acct.auto_lend):
        budget += redeemable(s, acct, p.asset)
    if p.is_buy:
        if p.is_limit:
            p.hold = p.lots * p.price * m.lot_tick_atoms
        elif p.quote_atoms:
            p.hold = p.max_quote = p.quote_atoms
        else:
            p.hold = p.max_quote = budget  # market bid sized in lots: the whole balance is the budget
        p.max_lots = p.lots if p.lots else MAX_PRICE_TICKS
    else:
        if p.lots:
            p.hold = p.lots * m.lot_atoms
            p.max_lots = p.lots
        else:
            p.max_lots = budget // m.lot_atoms  # market ask sized in quote
            p.hold = p.max_lots * m.lot_atoms
            p.max_quote = p.quote_atoms
    p.held = held
    return available


def _reserve_spot(s: ExchangeState, p: Placement, acct: Account, system: bool) -> str:
    """Hold what the order may spend, covering a shortfall by redeeming lent funds and then
    borrowing (spot margin); every check first, then the changes."""
    available = _spot_budget(s, p, acct)
    held = p.held
    assert held is not None
    m, hold, is_buy = p.m, p.hold, p.is_buy
    redeem = borrow = 0
    may_redeem = p.auto_redeem or acct.auto_lend
    # a market bid sized in lots spends its whole budget: it may redeem for it, never borrow
    may_borrow = p.auto_borrow and not (is_buy and not p.is_limit and not p.quote_atoms)
    if hold > available:
        # spot margin: redeem lent funds, then borrow, for what the hold lacks (dry run first)
        redeem, borrow = cover_shortfall(s, acct, held, p.asset, hold - available, may_redeem, may_borrow)
        if redeem < 0:
            return Reason.INSUFFICIENT_FUNDS if not p.auto_borrow else Reason.POOL_LIMIT
    if hold > available + redeem + borrow or hold <= 0:
        return Reason.INSUFFICIENT_FUNDS
    if acct.liquidating and borrow:
        return Reason.ACCOUNT_LIQUIDATING
    if not system and (borrow or has_exposure(s, acct)):
        if p.is_limit:
            received = p.lots * m.lot_atoms if is_buy else p.lots * p.price * m.lot_tick_atoms
        else:
            received = 0  # a market order's proceeds are unknown: count none
        spent_asset, got_asset = (m.quote, m.base) if is_buy else (m.base, m.quote)
        if not margin_allows(
            s, acct, asset=spent_asset, delta=-hold, asset2=got_asset, delta2=received, new_debt=borrow
        ):
            return Reason.INSUFFICIENT_MARGIN
    if redeem or borrow:
        done = cover_shortfall(s, acct, held, p.asset, hold - available, may_redeem, may_borrow, apply=True)
        assert done == (redeem, borrow)  # the same path as the dry run, on the same state
    apply_hold(held, hold)
    return ""


# ---------------------------------------------------------------------- accept and match


def accept(s: ExchangeState, p: Placement, ts_us: int, ts_box: Any, reuse_id: int) -> Order:
    """The order gets its id (a firing trigger keeps its own) and is announced."""
    if reuse_id:
        order_id = reuse_id
    else:
        order_id = s.next_order_id
        s.next_order_id = order_id + 1
    assert p.acct is not None
    taker = Order(
        order_id=order_id,
        account=p.account,
        market=p.m.index,
        side=p.side,
        price=p.price,
        lots=p.lots if p.lots else p.max_lots,
        client_id=p.client_id,
        tif=p.tif,
        stp=p.stp,
        post_only=p.post_only,
        is_limit=p.is_limit,
        quote_atoms=p.quote_atoms,
        ts_us=ts_us,
        acct=p.acct,
    )
    taker.hold = p.hold
    taker.reduce_only = p.reduce_only
    taker.auto_repay = p.auto_repay or p.acct.auto_repay_borrows
    s.events.append(ORDER_ACCEPTED(taker.id_box, ts_box, p.c))
    return taker


def match_taker(p: Placement, taker: Order, fills: list[Order], stp_expired: list[Order]) -> int:
    """ME: match the taker against the opposite side; a STOP_* code, or -1 when a FOK order
    cannot fill completely (asked of the same loop's dry run, so nothing has moved)."""
    if p.is_limit:
        limit = p.price
    else:
        limit = MAX_PRICE_TICKS if p.is_buy else 0
    lta = p.m.lot_tick_atoms
    if p.tif == FOK:
        can = fillable_lots(
            p.opposite,
            p.account,
            p.is_buy,
            limit_price=limit,
            impact_price=p.impact,
            max_lots=p.max_lots,
            max_quote=p.max_quote,
            lot_tick_atoms=lta,
            stp=p.stp,
        )
        if can < p.lots:
            return -1
    return match(
        p.opposite,
        p.account,
        p.is_buy,
        limit_price=limit,
        impact_price=p.impact,
        max_lots=p.max_lots,
        max_quote=p.max_quote,
        lot_tick_atoms=lta,
        stp=p.stp,
        fills=fills,
        stp_expired=stp_expired,
    )


# ---------------------------------------------------------------------- settle (R2) and finish


def settle(
    s: ExchangeState, p: Placement, taker: Order, fills: list[Order], stp_expired: list[Order], ts_box: Any
) -> None:
    """R2: settle the fills, then close the makers self-trade prevention expired."""
    acct = p.acct
    assert acct is not None
    m = p.m
    if fills:
        if m.is_perp:
            settle_perp(s, m, taker, acct, fills, ts_box)
        else:
            settle_spot(s, m, taker, acct, fills, ts_box)
    for maker in stp_expired:
        forget(s, maker)
        release(s, maker)
        s.events.append(
            ORDER_CLOSED(
                maker.id_box,
                order_account(s, maker).id_box,
                m.symbol,
                OrderStatus.EXPIRED,
                Reason.SELF_TRADE_PREVENTION,
                maker.filled_lots,
                maker.filled_quote,
            )
        )


def finish(s: ExchangeState, p: Placement, taker: Order, stop: int) -> None:
    """Fill, expire or rest the taker."""
    held = p.held
    reason = _end_reason(p, taker, stop)
    if reason == OrderStatus.FILLED:
        close_taker(s, held, taker, OrderStatus.FILLED, "")
    elif reason:
        close_taker(s, held, taker, OrderStatus.EXPIRED, reason)
    elif p.m.is_perp:
        _rest_perp(s, p, taker)
    elif held is not None:
        # rest the remainder; its hold becomes exactly what the remaining lots need
        m = p.m
        need = taker.lots * p.price * m.lot_tick_atoms if p.is_buy else taker.lots * m.lot_atoms
        extra = taker.hold - need
        if extra:
            apply_release(held, extra)
            taker.hold = need
        _rest(s, p, taker)
    if held is not None and not p.m.is_perp:
        acct = order_account(s, taker)
        if acct.auto_lend and held.available > 0:
            auto_lend(s, acct, p.asset)  # what the hold released (a market bid's unspent budget) earns again


def _end_reason(p: Placement, taker: Order, stop: int) -> str:
    """Why the taker ends now: ``Filled``, an expiry reason, or "" when it rests."""
    if p.lots and taker.lots == 0:
        return OrderStatus.FILLED
    if stop == STOP_STP:
        return Reason.SELF_TRADE_PREVENTION
    if stop == STOP_IMPACT:
        return Reason.PRICE_IMPACT
    if not p.is_limit:
        if p.quote_atoms and stop in (STOP_BUDGET, STOP_FILLED):
            return OrderStatus.FILLED
        if stop == STOP_BUDGET:
            return Reason.INSUFFICIENT_FUNDS
        return Reason.INSUFFICIENT_LIQUIDITY
    if p.tif != GTC:
        return Reason.IMMEDIATE_OR_CANCEL
    return ""


def _rest_perp(s: ExchangeState, p: Placement, taker: Order) -> None:
    """Rest a perp remainder: its lots count as open orders of the position."""
    acct = p.acct
    assert acct is not None
    pos = acct.position(p.m.index)
    if p.reduce_only and taker.lots > abs(pos.lots):
        close_taker(s, p.held, taker, OrderStatus.EXPIRED, Reason.REDUCE_ONLY_NOT_REDUCED)
        return
    taker.hold = taker.lots
    if p.is_buy:
        pos.open_buys += taker.lots
    else:
        pos.open_sells += taker.lots
    if p.reduce_only:
        pos.reduce_only.append(taker.id)
    _rest(s, p, taker)


def _rest(s: ExchangeState, p: Placement, taker: Order) -> None:
    (p.m.bids if p.is_buy else p.m.asks).add(taker)
    s.orders[taker.id_box] = taker
    if p.client_key >= 0:
        s.client_orders[p.client_key] = taker.id_box


# ---------------------------------------------------------------------- wire codes


def _side_code(side: str) -> int:
    if side == "Bid":
        return BID
    if side == "Ask":
        return ASK
    return -1


def _tif_code(tif: str) -> int:
    if tif == "GTC":
        return GTC
    if tif == "IOC":
        return IOC
    if tif == "FOK":
        return FOK
    return -1


def _stp_code(stp: str) -> int:
    if stp == "RejectTaker":
        return STP_REJECT_TAKER
    if stp == "RejectMaker":
        return STP_REJECT_MAKER
    if stp == "RejectBoth":
        return STP_REJECT_BOTH
    if stp == "Allow":
        return STP_ALLOW
    return -1
