"""The deterministic exchange state machine: ``Engine.apply(command, seq, ts_us) -> events``.

Order placement runs in named stages: validate -> R1 hold -> ME match -> R2 settle -> post
(rest, expire or fill the taker). An expected failure is a rejection event, never an exception;
a rejected command changes nothing. An exception escaping ``apply`` is a bug and the sequencer
stops on it.

Determinism: no clock (time arrives as ``ts_us``), no I/O, no randomness, no floats; ids are
sequence counters; iteration only over ordered structures.

Rounding (each in the ledger's favour, see ``numeric``):
- fees are charged on what each side receives, rounded up;
- price-band limits are computed as ``reference * multiplier`` and compared by
  cross-multiplication, so they never round;
- impact limits round towards the reference (buyer's maximum down, seller's minimum up).

Holds: a limit bid holds ``lots * price * lot_tick_atoms`` quote atoms; an ask holds
``lots * lot_atoms`` base atoms; a market bid holds its quote budget (``quote_atoms``, or the
whole available quote balance when sized in lots) and a market ask sized by quote holds the
available base. What a taker does not use is released at once; a resting order's hold always
equals what its remaining lots need.
"""

from __future__ import annotations

from typing import Final

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
from rucksack.exchange.core.commands import (
    AccrueInterest,
    AddApiKey,
    ApplyFunding,
    BorrowLend,
    CancelAllOrders,
    CancelOrder,
    Command,
    CreateAccount,
    Deposit,
    LiquidationSweep,
    PlaceOrder,
    PlaceOrders,
    RemoveApiKey,
    SetBackstopProvider,
    SetFeeTier,
    SetIndexPrice,
    SettlePnl,
    Transfer,
    UpdateAccount,
    Withdraw,
)
from rucksack.exchange.core.enums import (
    ASK,
    BID,
    FOK,
    GTC,
    IOC,
    SIDE_NAMES,
    STP_ALLOW,
    STP_REJECT_BOTH,
    STP_REJECT_MAKER,
    STP_REJECT_TAKER,
    OrderStatus,
    Reason,
)
from rucksack.exchange.core.events import (
    AccountCreated,
    AccountRejected,
    AccountUpdated,
    ApiKeyAdded,
    ApiKeyRejected,
    ApiKeyRemoved,
    BackstopProviderSet,
    BorrowLendExecuted,
    BorrowLendRejected,
    CancelRejected,
    Deposited,
    DepositRejected,
    Event,
    FeeTierRejected,
    FeeTierSet,
    IndexPriceRejected,
    IndexPriceSet,
    InterestAccrued,
    OrderAccepted,
    OrderClosed,
    OrderRejected,
    TradeExecuted,
    Transferred,
    TransferRejected,
    WithdrawalRejected,
    Withdrawn,
)
from rucksack.exchange.core.ledger.balances import (
    Account,
    Balance,
    Ledger,
    apply_hold,
    apply_release,
    settle_spot_fill,
)
from rucksack.exchange.core.lending.pool import Pool, PoolError
from rucksack.exchange.core.market_state import MarketState, drop_stale_basis, mark_price, observe_index
from rucksack.exchange.core.markets import (
    FIRST_USER_ACCOUNT,
    MAX_AMOUNT_ATOMS,
    MAX_ASSET_ATOMS,
    MAX_BATCH,
    ExchangeSpec,
    FeeTier,
    validate_spec,
)
from rucksack.exchange.core.numeric import PPM, WAD, ceil_div, fee_atoms
from rucksack.exchange.core.perps.funding import apply_funding, sample_premium
from rucksack.exchange.core.perps.liquidation import sweep
from rucksack.exchange.core.perps.position import Position
from rucksack.exchange.core.perps.settlement import settle_pnl
from rucksack.exchange.core.perps.triggers import Trigger, after_command
from rucksack.exchange.core.perps.triggers import cancel as cancel_trigger
from rucksack.exchange.core.perps.triggers import cancel_all as cancel_all_triggers
from rucksack.exchange.core.perps.triggers import place as place_with_triggers
from rucksack.exchange.core.risk.margin import MarginCalc

# ``_place`` unpacks PlaceOrder positionally; refuse to run if its fields are ever reordered.
if PlaceOrder.__struct_fields__ != (
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
    "stop_loss_limit",
    "stop_loss_by",
):  # pragma: no cover
    raise ImportError("PlaceOrder's fields changed; update Engine._place")

NO_CLIENT_ID: Final = -1
MAX_PRICE_TICKS: Final = (1 << 60) - 1  # 'no limit'; stays an unboxed int when compiled
CLIENT_ID_LIMIT: Final = 1 << 32


class Engine:
    """All exchange state plus the command handlers. See the module docstring."""

    def __init__(self, spec: ExchangeSpec) -> None:
        validate_spec(spec)
        self.spec = spec
        self.asset_index: dict[str, int] = {a.symbol: i for i, a in enumerate(spec.assets)}
        self.markets: list[MarketState] = [
            MarketState(i, m, self.asset_index[m.base], self.asset_index[m.quote]) for i, m in enumerate(spec.markets)
        ]
        self.market_by_symbol: dict[str, MarketState] = {m.symbol: m for m in self.markets}
        self.ledger = Ledger(len(spec.assets))
        self.fee_account = spec.fee_account
        self.fee_tiers: list[FeeTier] = list(spec.fee_tiers)
        self.spot_maker_ppm: list[int] = [t.spot_maker_ppm for t in spec.fee_tiers]
        self.spot_taker_ppm: list[int] = [t.spot_taker_ppm for t in spec.fee_tiers]
        self.orders: dict[int, Order] = {}
        self.client_orders: dict[int, int] = {}  # (account << 32 | client_id) -> order id
        self.deposit_ids: set[str] = set()
        self.next_account_id = FIRST_USER_ACCOUNT
        self.api_keys: dict[str, int] = {}  # base64 ED25519 public key -> account
        self.pools: list[Pool | None] = [Pool(a.lending) if a.lending is not None else None for a in spec.assets]
        self.last_accrual_hour = -1  # hours since the epoch; -1: the first tick only sets the clock
        self.next_order_id = 1
        self.next_trade_id = 1
        self.last_seq = 0
        self.last_ts_us = 0
        self.events: list[Event] = []
        self.ledger.account(self.fee_account)
        self.risk = spec.risk
        self.ledger.account(self.risk.liquidity_fund_account)
        self.ledger.account(self.risk.settlement_account)
        self.settle_asset = self.asset_index[spec.settlement_asset]
        self.futures_maker_ppm: list[int] = [t.futures_maker_ppm for t in spec.fee_tiers]
        self.futures_taker_ppm: list[int] = [t.futures_taker_ppm for t in spec.fee_tiers]
        self.margin = MarginCalc(spec, self.markets, self.pools)
        self.backstop: list[int] = []  # backstop liquidity providers, ascending ids
        self.last_funding_hour = -1  # like last_accrual_hour: the first tick only sets the clock
        self.liquidation_fee_ppm = 0  # set while the engine executes a liquidation order
        self.triggers: dict[int, Trigger] = {}  # pending trigger orders by id (perps.triggers)
        self.tpsl: dict[int, PlaceOrder] = {}  # resting orders with take-profit/stop-loss attached

    # ------------------------------------------------------------------ dispatch

    def apply(self, command: Command, seq: int, ts_us: int) -> list[Event]:
        """Apply one stamped command and return the events it produced."""
        events: list[Event] = []
        self.events = events
        self.last_seq = seq
        self.last_ts_us = ts_us
        if isinstance(command, PlaceOrder):
            if command.trigger_price or command.take_profit_price or command.stop_loss_price:
                place_with_triggers(self, command, ts_us)
            else:
                self._place(command, ts_us)
        elif isinstance(command, CancelOrder):
            self._cancel(command)
        elif isinstance(command, PlaceOrders):
            if len(command.orders) > MAX_BATCH:
                for order in command.orders:
                    events.append(OrderRejected(order.account, order.market, order.client_id, Reason.BATCH_TOO_LARGE))
            else:
                for order in command.orders:
                    if order.trigger_price or order.take_profit_price or order.stop_loss_price:
                        place_with_triggers(self, order, ts_us)
                    else:
                        self._place(order, ts_us)
        elif isinstance(command, CancelAllOrders):
            self._cancel_all(command)
        elif isinstance(command, Deposit):
            self._deposit(command)
        elif isinstance(command, Withdraw):
            self._withdraw(command)
        elif isinstance(command, SetFeeTier):
            self._set_fee_tier(command)
        elif isinstance(command, CreateAccount):
            self._create_account(command)
        elif isinstance(command, AddApiKey):
            self._add_api_key(command)
        elif isinstance(command, BorrowLend):
            self._borrow_lend(command)
        elif isinstance(command, AccrueInterest):
            self._accrue(command)
        elif isinstance(command, SetIndexPrice):
            self._set_index(command)
        elif isinstance(command, Transfer):
            self._transfer(command)
        elif isinstance(command, UpdateAccount):
            self._update_account(command)
        elif isinstance(command, SetBackstopProvider):
            self._set_backstop(command)
        elif isinstance(command, SettlePnl):
            settle_pnl(self)
        elif isinstance(command, ApplyFunding):
            self._refresh_marks()
            apply_funding(self, command.hour)
        elif isinstance(command, LiquidationSweep):
            self._refresh_marks()
            sweep(self)
        elif isinstance(command, RemoveApiKey):
            self._remove_api_key(command)
        else:  # pragma: no cover - the decoder only yields known commands
            raise TypeError(f"unknown command {type(command).__name__}")
        if self.triggers or self.tpsl:
            after_command(self, ts_us)
        return events

    # ------------------------------------------------------------------ orders

    def _reject(self, c: PlaceOrder, reason: str) -> None:
        self.events.append(OrderRejected(c.account, c.market, c.client_id, reason))

    def _place(self, c: PlaceOrder, ts_us: int, system: bool = False, reuse_id: int = 0) -> None:
        # one C call reads every field (cheaper than eleven attribute lookups when compiled)
        fields = astuple(c)
        account: int = fields[0]
        market: str = fields[1]
        side_name: str = fields[2]
        order_type: str = fields[3]
        lots: int = fields[4]
        price: int = fields[5]
        quote_atoms: int = fields[6]
        tif_name: str = fields[7]
        post_only: bool = fields[8]
        stp_name: str = fields[9]
        client_id: int = fields[10]
        reduce_only: bool = fields[11]
        auto_borrow: bool = fields[12]
        auto_repay: bool = fields[13]
        auto_redeem: bool = fields[14]
        m = self.market_by_symbol.get(market)
        if m is None:
            self._reject(c, Reason.UNKNOWN_MARKET)
            return
        if not m.trading:
            self._reject(c, Reason.MARKET_CLOSED)
            return
        is_perp = m.is_perp
        mark = 0
        if is_perp:
            mark = mark_price(m)
            if not mark:
                self._reject(c, Reason.NO_MARK_PRICE)
                return
            if quote_atoms:
                self._reject(c, Reason.INVALID_ORDER)  # perps are sized in base quantity
                return
        elif reduce_only:
            self._reject(c, Reason.INVALID_ORDER)  # reduce-only is for futures
            return
        # ---- validate
        side = _side_code(side_name)
        tif = _tif_code(tif_name)
        stp = _stp_code(stp_name)
        if tif < 0 or stp < 0 or side < 0:
            self._reject(c, Reason.INVALID_ORDER)
            return
        is_limit = order_type == "Limit"
        lta = m.lot_tick_atoms
        if is_limit:
            if quote_atoms != 0:
                self._reject(c, Reason.INVALID_QUANTITY)
                return
            if price < m.min_price or (m.max_price and price > m.max_price) or price > MAX_PRICE_TICKS:
                self._reject(c, Reason.INVALID_PRICE)
                return
        elif order_type == "Market":
            if post_only or price != 0:
                self._reject(c, Reason.INVALID_ORDER)
                return
            if (lots > 0) == (quote_atoms > 0) or lots < 0 or quote_atoms < 0:
                self._reject(c, Reason.INVALID_QUANTITY)
                return
            if quote_atoms > 0 and (tif == FOK or quote_atoms < m.min_notional or quote_atoms > MAX_AMOUNT_ATOMS):
                self._reject(c, Reason.INVALID_ORDER if tif == FOK else Reason.INVALID_QUANTITY)
                return
        else:
            self._reject(c, Reason.INVALID_ORDER)
            return
        if lots != 0 or is_limit:
            if lots < m.min_lots or (m.max_lots and lots > m.max_lots):
                self._reject(c, Reason.INVALID_QUANTITY)
                return
            if is_limit and lots * price * lta < m.min_notional:
                self._reject(c, Reason.INVALID_QUANTITY)
                return
        ref = m.last_price
        if is_perp:
            ref = mark  # perps: the limit band is around the mark price
        if is_limit and ref > 0:
            scaled = price * PPM
            if scaled > ref * m.band_max or scaled < ref * m.band_min:
                self._reject(c, Reason.PRICE_OUT_OF_BOUNDS)
                return
        client_key = -1
        if client_id != NO_CLIENT_ID:
            if client_id < 0 or client_id >= CLIENT_ID_LIMIT:
                self._reject(c, Reason.INVALID_ORDER)
                return
            client_key = (account << 32) | client_id
            if client_key in self.client_orders:
                self._reject(c, Reason.DUPLICATE_CLIENT_ID)
                return
        is_buy = side == BID
        opposite = m.asks if is_buy else m.bids
        if post_only:
            best = opposite.best_price()
            if best and ((is_buy and best <= price) or (not is_buy and best >= price)):
                self._reject(c, Reason.POST_ONLY_TAKER)
                return
        # ---- R1: hold funds (spot) or check margin (perps)
        acct = self.ledger.accounts.get(account)
        if acct is None:
            self._reject(c, Reason.INSUFFICIENT_FUNDS)
            return
        if acct.liquidating and not system:
            self._reject(c, Reason.ACCOUNT_LIQUIDATING)
            return
        # a taker sweeps at most to the best opposite price x the impact multiplier (§7.3)
        ref = opposite.best_price()
        if ref > 0:
            impact = (ref * m.impact_max) // PPM if is_buy else ceil_div(ref * m.impact_min, PPM)
        else:
            impact = MAX_PRICE_TICKS if is_buy else 0
        max_quote = NO_BUDGET
        held: Balance | None = None
        if is_perp:
            pos = acct.positions.get(m.index)
            current = pos.lots if pos is not None else 0
            if reduce_only:
                if current == 0 or (current > 0) == is_buy:
                    self._reject(c, Reason.REDUCE_ONLY_NOT_REDUCED)
                    return
                if lots > abs(current):
                    lots = abs(current)  # cut down so it cannot flip the position
            elif not system:
                worst = price if is_limit else opposite.sweep_price(lots, impact)
                reason = self._perp_margin_check(acct, m, is_buy, lots, worst, mark)
                if reason:
                    self._reject(c, reason)
                    return
            hold = 0
            available = 0
            max_lots = lots
        elif is_buy:
            asset = m.quote
            held = acct.assets[asset]
            available = held.available
            if is_limit:
                hold = lots * price * lta
            elif quote_atoms:
                hold = quote_atoms
                max_quote = quote_atoms
            else:
                hold = available  # market bid sized in lots: the whole balance is the budget
                max_quote = available
            max_lots = lots if lots else MAX_PRICE_TICKS
        else:
            asset = m.base
            held = acct.assets[asset]
            available = held.available
            if lots:
                hold = lots * m.lot_atoms
                max_lots = lots
            else:
                max_lots = available // m.lot_atoms  # market ask sized in quote
                hold = max_lots * m.lot_atoms
                max_quote = quote_atoms
        if held is not None:
            redeem = borrow = 0
            if hold > available and not (is_buy and not is_limit and not quote_atoms):
                # spot margin: redeem lent funds, then borrow, for what the hold lacks
                redeem, borrow = self._shortfall_plan(
                    acct, held, asset, hold - available, auto_redeem or acct.auto_lend, auto_borrow
                )
                if redeem < 0:
                    self._reject(c, Reason.INSUFFICIENT_FUNDS if not auto_borrow else Reason.POOL_LIMIT)
                    return
            if hold > available + redeem + borrow or hold <= 0:
                self._reject(c, Reason.INSUFFICIENT_FUNDS)
                return
            if acct.liquidating and borrow:
                self._reject(c, Reason.ACCOUNT_LIQUIDATING)
                return
            if not system and (borrow or self._has_exposure(acct)):
                if is_limit:
                    received = lots * m.lot_atoms if is_buy else lots * price * lta
                else:
                    received = 0  # a market order's proceeds are unknown: count none
                spent_asset, got_asset = (m.quote, m.base) if is_buy else (m.base, m.quote)
                if not self._margin_allows(
                    acct, asset=spent_asset, delta=-hold, asset2=got_asset, delta2=received, new_debt=borrow
                ):
                    self._reject(c, Reason.INSUFFICIENT_MARGIN)
                    return
            if redeem or borrow:
                self._fund_shortfall(acct, held, asset, redeem, borrow, c.account, c.market)
            apply_hold(held, hold)
        if reuse_id:
            order_id = reuse_id  # a trigger order keeps its id when it fires
        else:
            order_id = self.next_order_id
            self.next_order_id = order_id + 1
        taker = Order(
            order_id=order_id,
            account=account,
            market=m.index,
            side=side,
            price=price,
            lots=lots if lots else max_lots,
            client_id=client_id,
            tif=tif,
            stp=stp,
            post_only=post_only,
            is_limit=is_limit,
            quote_atoms=quote_atoms,
            ts_us=ts_us,
        )
        taker.hold = hold
        taker.reduce_only = reduce_only
        taker.auto_repay = auto_repay or acct.auto_repay_borrows
        self.events.append(OrderAccepted(order_id, ts_us, c))
        # ---- ME: match
        if is_limit:
            limit = price
        else:
            limit = MAX_PRICE_TICKS if is_buy else 0
        if tif == FOK:
            can = fillable_lots(
                opposite,
                account,
                is_buy,
                limit_price=limit,
                impact_price=impact,
                max_lots=max_lots,
                max_quote=max_quote,
                lot_tick_atoms=lta,
                stp=stp,
            )
            if can < lots:
                self._close_taker(held, taker, OrderStatus.EXPIRED, Reason.FILL_OR_KILL)
                return
        fills: list[Order] = []
        stp_expired: list[Order] = []
        stop = match(
            opposite,
            account,
            is_buy,
            limit_price=limit,
            impact_price=impact,
            max_lots=max_lots,
            max_quote=max_quote,
            lot_tick_atoms=lta,
            stp=stp,
            fills=fills,
            stp_expired=stp_expired,
        )
        # ---- R2: settle
        if fills:
            if is_perp:
                self._settle_perp(m, taker, acct, fills, ts_us)
            else:
                self._settle(m, taker, acct, fills, ts_us)
        for maker in stp_expired:
            self._forget(maker)
            self._release(maker)
            self.events.append(
                OrderClosed(
                    maker.id,
                    maker.account,
                    m.symbol,
                    OrderStatus.EXPIRED,
                    Reason.SELF_TRADE_PREVENTION,
                    maker.filled_lots,
                    maker.filled_quote,
                )
            )
        # ---- post: rest, fill or expire the taker
        if lots and taker.lots == 0:
            self._close_taker(held, taker, OrderStatus.FILLED, "")
        elif stop == STOP_STP:
            self._close_taker(held, taker, OrderStatus.EXPIRED, Reason.SELF_TRADE_PREVENTION)
        elif stop == STOP_IMPACT:
            self._close_taker(held, taker, OrderStatus.EXPIRED, Reason.PRICE_IMPACT)
        elif not is_limit:
            if quote_atoms and stop in (STOP_BUDGET, STOP_FILLED):
                self._close_taker(held, taker, OrderStatus.FILLED, "")
            elif stop == STOP_BUDGET:
                self._close_taker(held, taker, OrderStatus.EXPIRED, Reason.INSUFFICIENT_FUNDS)
            else:
                self._close_taker(held, taker, OrderStatus.EXPIRED, Reason.INSUFFICIENT_LIQUIDITY)
        elif tif != GTC:
            self._close_taker(held, taker, OrderStatus.EXPIRED, Reason.IMMEDIATE_OR_CANCEL)
        elif is_perp:
            pos = acct.position(m.index)
            if reduce_only and taker.lots > abs(pos.lots):
                self._close_taker(held, taker, OrderStatus.EXPIRED, Reason.REDUCE_ONLY_NOT_REDUCED)
                return
            # rest the remainder: its lots count as open orders of the position
            taker.hold = taker.lots
            if is_buy:
                pos.open_buys += taker.lots
            else:
                pos.open_sells += taker.lots
            if reduce_only:
                pos.reduce_only.append(order_id)
            (m.bids if is_buy else m.asks).add(taker)
            self.orders[order_id] = taker
            if client_key >= 0:
                self.client_orders[client_key] = order_id
        elif held is not None:
            # rest the remainder; its hold becomes exactly what the remaining lots need
            need = taker.lots * price * lta if is_buy else taker.lots * m.lot_atoms
            extra = taker.hold - need
            if extra:
                apply_release(held, extra)
                taker.hold = need
            (m.bids if is_buy else m.asks).add(taker)
            self.orders[order_id] = taker
            if client_key >= 0:
                self.client_orders[client_key] = order_id

    def _settle(self, m: MarketState, taker: Order, taker_acct: Account, fills: list[Order], ts_us: int) -> None:
        accounts = self.ledger.accounts
        fee_acct = accounts[self.fee_account]
        base, quote, lot_atoms, lta = m.base, m.quote, m.lot_atoms, m.lot_tick_atoms
        fee_base, fee_quote = fee_acct.assets[base], fee_acct.assets[quote]
        taker_base, taker_quote = taker_acct.assets[base], taker_acct.assets[quote]
        taker_rate = self.spot_taker_ppm[taker_acct.tier]
        maker_rates = self.spot_maker_ppm
        taker_buys = taker.side == BID
        taker_side = SIDE_NAMES[taker.side]
        symbol = m.symbol
        price = 0
        for maker in fills:
            n = maker.fill_lots
            price = maker.price
            base_atoms = n * lot_atoms
            quote_atoms = n * price * lta
            maker_acct = accounts[maker.account]
            maker_rate = maker_rates[maker_acct.tier]
            # fees on what each side receives, rounded up (ledger's favour)
            if taker_buys:
                taker_fee = fee_atoms(base_atoms, taker_rate)
                maker_fee = fee_atoms(quote_atoms, maker_rate)
                settle_spot_fill(
                    buyer_base=taker_base,
                    buyer_quote=taker_quote,
                    seller_base=maker_acct.assets[base],
                    seller_quote=maker_acct.assets[quote],
                    fee_base=fee_base,
                    fee_quote=fee_quote,
                    base_atoms=base_atoms,
                    quote_atoms=quote_atoms,
                    buyer_fee=taker_fee,
                    seller_fee=maker_fee,
                )
                taker.hold -= quote_atoms
                maker.hold -= base_atoms
            else:
                taker_fee = fee_atoms(quote_atoms, taker_rate)
                maker_fee = fee_atoms(base_atoms, maker_rate)
                settle_spot_fill(
                    buyer_base=maker_acct.assets[base],
                    buyer_quote=maker_acct.assets[quote],
                    seller_base=taker_base,
                    seller_quote=taker_quote,
                    fee_base=fee_base,
                    fee_quote=fee_quote,
                    base_atoms=base_atoms,
                    quote_atoms=quote_atoms,
                    buyer_fee=maker_fee,
                    seller_fee=taker_fee,
                )
                taker.hold -= base_atoms
                maker.hold -= quote_atoms
            self._record_fill(
                symbol,
                taker,
                maker,
                n=n,
                price=price,
                quote_atoms=quote_atoms,
                taker_side=taker_side,
                taker_fee=taker_fee,
                maker_fee=maker_fee,
                ts_us=ts_us,
            )
        # spot margin and auto-lend: proceeds repay a borrow of the received asset, then are lent
        got_taker, got_maker = (base, quote) if taker_buys else (quote, base)
        if taker.auto_repay or taker_acct.auto_lend:
            self._after_proceeds(taker_acct, got_taker, taker.auto_repay)
        for maker in fills:
            maker_acct = accounts[maker.account]
            if maker.auto_repay or maker_acct.auto_lend:
                self._after_proceeds(maker_acct, got_maker, maker.auto_repay)
        m.last_price = price
        if not m.index_price:
            self.margin.epoch += 1  # unpriced debts are valued at the last trade

    def _settle_perp(self, m: MarketState, taker: Order, taker_acct: Account, fills: list[Order], ts_us: int) -> None:
        """Settle perp fills: positions move, fees are charged to unsettled balances (USDC)."""
        accounts = self.ledger.accounts
        fee_acct = accounts[self.fee_account]
        fund = accounts[self.risk.liquidity_fund_account]
        lta = m.lot_tick_atoms
        mi = m.index
        taker_rate = self.futures_taker_ppm[taker_acct.tier]
        extra_ppm = self.liquidation_fee_ppm  # nonzero only while a liquidation order executes
        taker_pos = taker_acct.position(mi)
        sign = 1 if taker.side == BID else -1
        taker_side = SIDE_NAMES[taker.side]
        symbol = m.symbol
        price = 0
        touched: list[Account] = [taker_acct]
        for maker in fills:
            n = maker.fill_lots
            price = maker.price
            notional = n * price * lta
            maker_acct = accounts[maker.account]
            maker_pos = maker_acct.position(mi)
            taker_fee = fee_atoms(notional, taker_rate)
            maker_fee = fee_atoms(notional, self.futures_maker_ppm[maker_acct.tier])
            longs_before = (taker_pos.lots if taker_pos.lots > 0 else 0) + (maker_pos.lots if maker_pos.lots > 0 else 0)
            taker_pos.apply_fill(sign * n, sign * notional)
            maker_pos.apply_fill(-sign * n, -sign * notional)
            longs_after = (taker_pos.lots if taker_pos.lots > 0 else 0) + (maker_pos.lots if maker_pos.lots > 0 else 0)
            if taker_pos is maker_pos:  # a self-trade (STP Allow) changes nothing
                longs_after = longs_before
            m.open_interest += longs_after - longs_before
            maker.hold -= n
            if maker.side == BID:
                maker_pos.open_buys -= n
            else:
                maker_pos.open_sells -= n
            taker_acct.unsettled -= taker_fee
            maker_acct.unsettled -= maker_fee
            fee_acct.unsettled += taker_fee + maker_fee
            taker_pos.fees += taker_fee
            maker_pos.fees += maker_fee
            penalty = 0
            if extra_ppm:
                penalty = fee_atoms(notional, extra_ppm)
                taker_acct.unsettled -= penalty
                taker_pos.fees += penalty
                fund.unsettled += penalty
                taker_fee += penalty
            closed = self._record_fill(
                symbol,
                taker,
                maker,
                n=n,
                price=price,
                quote_atoms=notional,
                taker_side=taker_side,
                taker_fee=taker_fee,
                maker_fee=maker_fee,
                ts_us=ts_us,
                liquidation_fee=penalty,
            )
            if closed and maker.reduce_only:
                maker_pos.reduce_only.remove(maker.id)
            if maker_pos.reduce_only:
                touched.append(maker_acct)
        m.last_price = price
        if not m.index_price:
            self.margin.epoch += 1  # unpriced debts are valued at the last trade
        for acct in touched:
            pos = acct.positions[mi]
            if pos.reduce_only:
                self._trim_reduce_only(m, pos)

    def _trim_reduce_only(self, m: MarketState, pos: Position) -> None:
        """Resting reduce-only orders may not exceed the position: expire what would flip it."""
        room = abs(pos.lots)
        closing_side = ASK if pos.lots > 0 else BID
        for order_id in list(pos.reduce_only):
            order = self.orders[order_id]
            if order.side != closing_side or order.lots > room:
                self._remove_resting(order, OrderStatus.EXPIRED, Reason.REDUCE_ONLY_NOT_REDUCED)
            else:
                room -= order.lots

    # ------------------------------------------------------------------ auto-lend and spot margin

    def _shortfall_plan(
        self, acct: Account, bal: Balance, asset: int, short: int, may_redeem: bool, may_borrow: bool
    ) -> tuple[int, int]:
        """How to cover ``short`` atoms: (redeem from the lend, borrow from the pool), or (-1, -1)
        when it cannot be covered. Nothing changes here."""
        pool = self.pools[asset]
        if pool is None:
            return (-1, -1)
        redeem = 0
        if may_redeem and bal.lend_shares:
            claim = pool.claim(bal.lend_shares)
            redeem = short if short < claim else claim
            if redeem and redeem == claim:
                if not pool.can_redeem_all(bal.lend_shares, claim):
                    return (-1, -1)
            elif redeem and not pool.can_redeem(redeem, bal.lend_shares):
                return (-1, -1)
        rest = short - redeem
        if rest <= 0:
            return (redeem, 0)
        if not may_borrow or (bal.lend_shares > 0 and redeem < pool.claim(bal.lend_shares)):
            return (-1, -1)
        seconds = self.seconds_left_in_hour()
        if redeem:  # the whole lend goes first, and the borrow (with its fee) must still fit after it
            if not pool.can_borrow_after_redeem_all(bal.lend_shares, redeem, rest, seconds):
                return (-1, -1)
        elif not pool.can_borrow(rest, pool.entry_fee(rest, seconds)):
            return (-1, -1)
        return (redeem, rest)

    def _fund_shortfall(
        self, acct: Account, bal: Balance, asset: int, redeem: int, borrow: int, account: int, market: str
    ) -> None:
        pool = self.pools[asset]
        assert pool is not None
        symbol = self.spec.assets[asset].symbol
        if redeem:
            claim = pool.claim(bal.lend_shares)
            if redeem == claim:
                pool.redeem_all(bal.lend_shares, claim)
                burned = bal.lend_shares
            else:
                burned = pool.redeem(redeem, bal.lend_shares)
            bal.lend_shares -= burned
            bal.lent_principal = max(0, bal.lent_principal - redeem)
            bal.available += redeem
            self.events.append(BorrowLendExecuted(account, symbol, "LendRedeem", redeem, burned))
        if borrow:
            self._new_borrow(acct, asset, borrow, account)

    def seconds_left_in_hour(self) -> int:
        return 3600 - (self.last_ts_us // 1_000_000) % 3600

    def _new_borrow(self, acct: Account, asset: int, amount: int, account: int) -> None:
        """Borrow ``amount`` (pre-checked with ``Pool.can_borrow``) plus the entry fee: the
        pro-rated interest to the next hour, added to the debt and paid to the lenders (the
        exchange's cut as lend shares to the fee account)."""
        pool = self.pools[asset]
        assert pool is not None
        bal = acct.assets[asset]
        fee = pool.entry_fee(amount, self.seconds_left_in_hour())
        minted = pool.borrow(amount, fee)  # the utilization cap holds with the fee added
        fee_debt, fee_shares = pool.charge_entry_fee(fee)
        bal.borrow_shares += minted + fee_debt
        bal.available += amount
        if fee_shares:
            self.ledger.accounts[self.fee_account].assets[asset].lend_shares += fee_shares
        self.margin.epoch += 1 if fee else 0  # the lend index moved
        self.events.append(BorrowLendExecuted(account, self.spec.assets[asset].symbol, "Borrow", amount, minted))

    def _auto_lend(self, acct: Account, asset: int) -> None:
        """With autoLend on, lend the idle balance of ``asset`` (nothing while it is borrowed)."""
        bal = acct.assets[asset]
        pool = self.pools[asset]
        if pool is None or bal.borrow_shares or bal.available <= 0:
            return
        amount = bal.available
        if amount * WAD // pool.lend_index <= 0:
            return
        minted = pool.lend(amount)
        bal.available -= amount
        bal.lend_shares += minted
        bal.lent_principal += amount
        self.events.append(BorrowLendExecuted(acct.account, self.spec.assets[asset].symbol, "Lend", amount, minted))

    def _after_proceeds(self, acct: Account, asset: int, repay: bool) -> None:
        if repay and acct.assets[asset].borrow_shares:
            self._auto_repay(acct, asset)
        if acct.auto_lend:
            self._auto_lend(acct, asset)

    def _auto_repay(self, acct: Account, asset: int) -> None:
        """Repay a borrow of ``asset`` from its available balance (autoBorrowRepay; liquidation's
        repayments too): one ``BorrowLendExecuted`` per repayment, none when nothing is owed."""
        bal = acct.assets[asset]
        pool = self.pools[asset]
        if pool is None or not bal.borrow_shares or bal.available <= 0:
            return
        amount = min(bal.available, pool.debt(bal.borrow_shares))
        if amount <= 0:
            return
        burned = pool.repay(amount, bal.borrow_shares)
        bal.borrow_shares -= burned
        bal.available -= amount
        self.events.append(
            BorrowLendExecuted(acct.account, self.spec.assets[asset].symbol, "BorrowRepay", amount, burned)
        )

    # ------------------------------------------------------------------ margin checks

    def _has_exposure(self, acct: Account) -> bool:
        if acct.positions or acct.unsettled < 0:
            return True
        return any(bal.borrow_shares for bal in acct.assets)

    def _margin_allows(
        self,
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
        after = self.margin.compute(
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
        before = self.margin.compute(acct, with_mm=False)
        return after.equity - after.im >= before.equity - before.im and after.exposure <= before.exposure

    def _perp_margin_check(self, acct: Account, m: MarketState, is_buy: bool, lots: int, worst: int, mark: int) -> str:
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
        r = self.margin.compute(acct, market=m.index, add_buys=buys, add_sells=sells, with_mm=False)
        if r.futures > self.margin.position_limit(acct, r.equity):
            return Reason.POSITION_LIMIT  # the account's positionLimit
        lta = m.lot_tick_atoms
        gap = worst - mark if is_buy else mark - worst
        loss = lots * gap * lta if gap > 0 else 0
        fee = fee_atoms(lots * worst * lta, self.futures_taker_ppm[acct.tier])
        if r.equity - loss - fee - r.im < 0:
            return Reason.INSUFFICIENT_MARGIN
        return ""

    def _record_fill(
        self,
        symbol: str,
        taker: Order,
        maker: Order,
        *,
        n: int,
        price: int,
        quote_atoms: int,
        taker_side: str,
        taker_fee: int,
        maker_fee: int,
        ts_us: int,
        liquidation_fee: int = 0,
    ) -> bool:
        """The bookkeeping every fill shares (spot and perp): filled totals on both orders, the
        TradeExecuted event, and the maker's close when it is done. Returns whether it closed."""
        taker.lots -= n
        taker.filled_lots += n
        taker.filled_quote += quote_atoms
        maker.filled_lots += n
        maker.filled_quote += quote_atoms
        trade_id = self.next_trade_id
        self.next_trade_id = trade_id + 1
        events = self.events
        events.append(
            TradeExecuted(
                trade_id=trade_id,
                market=symbol,
                price=price,
                lots=n,
                taker_order_id=taker.id,
                maker_order_id=maker.id,
                taker_account=taker.account,
                maker_account=maker.account,
                taker_side=taker_side,
                taker_fee=taker_fee,
                maker_fee=maker_fee,
                ts_us=ts_us,
                liquidation_fee=liquidation_fee,
            )
        )
        if maker.lots:
            return False
        self._forget(maker)
        events.append(
            OrderClosed(maker.id, maker.account, symbol, OrderStatus.FILLED, "", maker.filled_lots, maker.filled_quote)
        )
        return True

    def _close_taker(self, held: Balance | None, taker: Order, status: str, reason: str) -> None:
        if taker.hold and held is not None:
            apply_release(held, taker.hold)
            taker.hold = 0
        self.events.append(
            OrderClosed(
                taker.id,
                taker.account,
                self.markets[taker.market].symbol,
                status,
                reason,
                taker.filled_lots,
                taker.filled_quote,
            )
        )

    def _forget(self, order: Order) -> None:
        """Drop a no-longer-resting order from the indexes (the book already unlinked it)."""
        del self.orders[order.id]
        if order.client_id != NO_CLIENT_ID:
            self.client_orders.pop((order.account << 32) | order.client_id, None)

    def _release(self, order: Order) -> None:
        m = self.markets[order.market]
        if m.is_perp:
            pos = self.ledger.accounts[order.account].positions[order.market]
            if order.side == BID:
                pos.open_buys -= order.hold
            else:
                pos.open_sells -= order.hold
            order.hold = 0
            if order.reduce_only:
                pos.reduce_only.remove(order.id)
        elif order.hold:
            asset = m.quote if order.side == BID else m.base
            apply_release(self.ledger.accounts[order.account].assets[asset], order.hold)
            order.hold = 0

    def _remove_resting(self, order: Order, status: str, reason: str) -> None:
        m = self.markets[order.market]
        (m.bids if order.side == BID else m.asks).remove(order)
        self._forget(order)
        self._release(order)
        self.events.append(
            OrderClosed(order.id, order.account, m.symbol, status, reason, order.filled_lots, order.filled_quote)
        )

    def _cancel(self, c: CancelOrder) -> None:
        order_id = c.order_id
        if order_id < 0 and 0 <= c.client_id < CLIENT_ID_LIMIT:
            order_id = self.client_orders.get((c.account << 32) | c.client_id, -1)
        order = self.orders.get(order_id)
        if order is None and self.triggers and cancel_trigger(self, c, order_id):
            return
        if order is None or order.account != c.account or self.markets[order.market].symbol != c.market:
            self.events.append(CancelRejected(c.account, c.market, c.order_id, c.client_id, Reason.ORDER_NOT_FOUND))
            return
        self._remove_resting(order, OrderStatus.CANCELLED, Reason.USER_CANCELLED)

    def _cancel_all(self, c: CancelAllOrders) -> None:
        m = self.market_by_symbol.get(c.market)
        if m is None:
            self.events.append(CancelRejected(c.account, c.market, -1, -1, Reason.UNKNOWN_MARKET))
            return
        mine = [o for side in (m.bids, m.asks) for o in side.orders() if o.account == c.account]
        mine.sort(key=lambda o: o.id)
        for order in mine:
            self._remove_resting(order, OrderStatus.CANCELLED, Reason.USER_CANCELLED)
        if self.triggers:
            cancel_all_triggers(self, c.account, m.index)

    # ------------------------------------------------------------------ capital

    def _deposit(self, c: Deposit) -> None:
        asset = self.asset_index.get(c.asset, -1)
        if asset < 0:
            self.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.UNKNOWN_ASSET))
        elif not 0 < c.amount <= MAX_AMOUNT_ATOMS or self._held(asset) + c.amount > MAX_ASSET_ATOMS:
            self.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.INVALID_AMOUNT))
        elif c.tx_id in self.deposit_ids:
            self.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.DUPLICATE_DEPOSIT))
        else:
            self.deposit_ids.add(c.tx_id)
            self.ledger.apply_deposit(c.account, asset, c.amount)
            self.events.append(Deposited(c.account, c.asset, c.amount, c.tx_id))
            acct = self.ledger.accounts[c.account]
            if acct.auto_repay_borrows and acct.assets[asset].borrow_shares:
                self._auto_repay(acct, asset)  # a deposit first pays down a debt in the asset
            if acct.auto_lend:
                self._auto_lend(acct, asset)

    def _held(self, asset: int) -> int:
        """Atoms of ``asset`` the exchange holds: all deposits minus all withdrawals."""
        return self.ledger.deposited[asset] - self.ledger.withdrawn[asset]

    def _withdraw(self, c: Withdraw) -> None:
        asset = self.asset_index.get(c.asset, -1)
        if asset < 0:
            self.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.UNKNOWN_ASSET))
        elif not 0 < c.amount <= MAX_AMOUNT_ATOMS:
            self.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INVALID_AMOUNT))
        elif (redeem := self._redeem_for(c.account, asset, c.amount)) < 0:
            self.events.append(
                WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INSUFFICIENT_FUNDS)
            )
        elif not self._capital_may_leave(self.ledger.accounts[c.account], asset, c.amount):
            self.events.append(
                WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INSUFFICIENT_MARGIN)
            )
        else:
            if redeem:
                acct = self.ledger.accounts[c.account]
                self._fund_shortfall(acct, acct.assets[asset], asset, redeem, 0, c.account, c.asset)
            self.ledger.apply_withdrawal(c.account, asset, c.amount)
            self.events.append(Withdrawn(c.account, c.asset, c.amount, c.request_id))

    def _set_fee_tier(self, c: SetFeeTier) -> None:
        if not 0 <= c.tier < len(self.fee_tiers):
            self.events.append(FeeTierRejected(c.account, c.tier, Reason.UNKNOWN_FEE_TIER))
            return
        self.ledger.account(c.account).tier = c.tier
        self.events.append(FeeTierSet(c.account, c.tier))

    # ------------------------------------------------------------------ accounts and keys

    def _redeem_for(self, account: int, asset: int, amount: int) -> int:
        """Atoms to redeem from the lend (autoLend accounts) so ``amount`` is available; -1 when
        even that is not enough."""
        acct = self.ledger.accounts.get(account)
        if acct is None or amount <= 0:
            return -1
        bal = acct.assets[asset]
        if amount <= bal.available:
            return 0
        if not acct.auto_lend or not bal.lend_shares:
            return -1
        redeem, _ = self._shortfall_plan(acct, bal, asset, amount - bal.available, True, False)
        return redeem

    def _capital_may_leave(self, acct: Account, asset: int, amount: int) -> bool:
        """A withdrawal or outgoing transfer: refused while liquidating, and for an account with
        exposure it must leave available equity >= 0."""
        if acct.liquidating:
            return False
        if not self._has_exposure(acct):
            return True
        after = self.margin.compute(acct, asset=asset, delta=-amount, with_mm=False)
        return after.equity - after.im >= 0

    def owner(self, account: int) -> int:
        """The top-level account owning ``account`` (itself when it is not a subaccount)."""
        acct = self.ledger.accounts.get(account)
        if acct is None or account < FIRST_USER_ACCOUNT or account >= self.next_account_id:
            return -1
        return acct.parent or account

    def _create_account(self, c: CreateAccount) -> None:
        if c.parent and self.owner(c.parent) != c.parent:
            self.events.append(AccountRejected(c.parent, Reason.UNKNOWN_ACCOUNT))
            return
        account = self.next_account_id
        self.next_account_id = account + 1
        self.ledger.account(account).parent = c.parent
        self.events.append(AccountCreated(account, c.label, c.parent))

    def _transfer(self, c: Transfer) -> None:
        asset = self.asset_index.get(c.asset, -1)
        reason = ""
        redeem = 0
        if asset < 0:
            reason = Reason.UNKNOWN_ASSET
        elif not 0 < c.amount <= MAX_AMOUNT_ATOMS or c.source == c.target:
            reason = Reason.INVALID_AMOUNT
        elif self.owner(c.source) != c.account or self.owner(c.target) != c.account:
            reason = Reason.UNKNOWN_ACCOUNT
        else:
            source = self.ledger.accounts[c.source]
            redeem = self._redeem_for(c.source, asset, c.amount)
            if redeem < 0:
                reason = Reason.INSUFFICIENT_FUNDS
            elif not self._capital_may_leave(source, asset, c.amount):
                reason = Reason.INSUFFICIENT_MARGIN
        if reason:
            self.events.append(TransferRejected(c.account, c.source, c.target, c.asset, c.amount, reason))
            return
        source, target = self.ledger.accounts[c.source], self.ledger.accounts[c.target]
        if redeem:
            self._fund_shortfall(source, source.assets[asset], asset, redeem, 0, c.source, c.asset)
        source.assets[asset].available -= c.amount
        target.assets[asset].available += c.amount
        self.events.append(Transferred(c.source, c.target, c.asset, c.amount))
        if target.auto_lend:
            self._auto_lend(target, asset)

    def _update_account(self, c: UpdateAccount) -> None:
        acct = self.ledger.accounts.get(c.account)
        if acct is None or self.owner(c.account) < 0:
            self.events.append(AccountRejected(c.account, Reason.UNKNOWN_ACCOUNT))
            return
        lev = c.leverage_limit
        if lev is not None and not 1 <= lev <= self.risk.max_leverage:
            self.events.append(AccountRejected(c.account, Reason.INVALID_SETTING))
            return
        if lev is not None and lev != acct.leverage_limit and self._has_exposure(acct):
            old = acct.leverage_limit
            acct.leverage_limit = lev
            r = self.margin.compute(acct)
            if r.equity - r.im < 0 and lev < (old or self.risk.max_leverage):
                acct.leverage_limit = old
                self.events.append(AccountRejected(c.account, Reason.INSUFFICIENT_MARGIN))
                return
        if lev is not None:
            acct.leverage_limit = lev
        if c.auto_lend is not None:
            enabling = c.auto_lend and not acct.auto_lend
            acct.auto_lend = c.auto_lend
            if enabling:
                for i in range(len(acct.assets)):
                    self._auto_lend(acct, i)
        if c.auto_realize_pnl is not None:
            acct.auto_realize_pnl = c.auto_realize_pnl
        if c.auto_borrow_settlements is not None:
            acct.auto_borrow_settlements = c.auto_borrow_settlements
        if c.auto_repay_borrows is not None:
            acct.auto_repay_borrows = c.auto_repay_borrows
        self.events.append(
            AccountUpdated(
                c.account,
                acct.auto_lend,
                acct.auto_realize_pnl,
                acct.auto_borrow_settlements,
                acct.auto_repay_borrows,
                acct.leverage_limit or self.risk.max_leverage,
            )
        )

    def _set_backstop(self, c: SetBackstopProvider) -> None:
        if self.owner(c.account) < 0:
            self.events.append(AccountRejected(c.account, Reason.UNKNOWN_ACCOUNT))
            return
        if c.enabled and c.account not in self.backstop:
            self.backstop.append(c.account)
            self.backstop.sort()
        elif not c.enabled and c.account in self.backstop:
            self.backstop.remove(c.account)
        self.events.append(BackstopProviderSet(c.account, c.enabled))

    def _add_api_key(self, c: AddApiKey) -> None:
        key = c.public_key
        if not FIRST_USER_ACCOUNT <= c.account < self.next_account_id:
            self.events.append(ApiKeyRejected(c.account, key, Reason.UNKNOWN_ACCOUNT))
        elif not _is_base64_key(key):
            self.events.append(ApiKeyRejected(c.account, key, Reason.INVALID_KEY))
        elif key in self.api_keys:
            self.events.append(ApiKeyRejected(c.account, key, Reason.DUPLICATE_KEY))
        else:
            self.api_keys[key] = c.account
            self.events.append(ApiKeyAdded(c.account, key))

    def _remove_api_key(self, c: RemoveApiKey) -> None:
        if self.api_keys.get(c.public_key) != c.account:
            self.events.append(ApiKeyRejected(c.account, c.public_key, Reason.UNKNOWN_KEY))
        else:
            del self.api_keys[c.public_key]
            self.events.append(ApiKeyRemoved(c.account, c.public_key))

    # ------------------------------------------------------------------ borrow / lend

    def _borrow_lend(self, c: BorrowLend) -> None:
        asset = self.asset_index.get(c.asset, -1)
        pool = self.pools[asset] if asset >= 0 else None
        reason = ""
        if asset < 0:
            reason = Reason.UNKNOWN_ASSET
        elif pool is None:
            reason = Reason.NO_LENDING_MARKET
        elif not 0 < c.amount <= MAX_AMOUNT_ATOMS or c.side not in ("Borrow", "Lend"):
            reason = Reason.INVALID_AMOUNT
        acct = self.ledger.accounts.get(c.account)
        if reason or pool is None or acct is None:
            self.events.append(
                BorrowLendRejected(c.account, c.asset, c.side, c.amount, reason or Reason.INSUFFICIENT_FUNDS)
            )
            return
        bal = acct.assets[asset]
        amount = c.amount
        try:
            if c.side == "Lend":
                if bal.borrow_shares:  # netted: a Lend repays the open borrow, at most all of it
                    if amount > pool.debt(bal.borrow_shares):
                        reason = Reason.LEND_REQUIRES_BORROW_REPAY
                    elif amount > bal.available:
                        reason = Reason.INSUFFICIENT_FUNDS
                    else:
                        burned = pool.repay(amount, bal.borrow_shares)
                        bal.borrow_shares -= burned
                        bal.available -= amount
                        self.events.append(BorrowLendExecuted(c.account, c.asset, "BorrowRepay", amount, burned))
                elif amount > bal.available:
                    reason = Reason.INSUFFICIENT_FUNDS
                else:
                    minted = pool.lend(amount)
                    bal.available -= amount
                    bal.lend_shares += minted
                    bal.lent_principal += amount
                    self.events.append(BorrowLendExecuted(c.account, c.asset, "Lend", amount, minted))
            elif bal.lend_shares:  # netted: a Borrow redeems the open lend, at most all of it
                claim = pool.claim(bal.lend_shares)
                if amount > claim:
                    reason = Reason.BORROW_REQUIRES_LEND_REDEEM
                else:
                    if amount == claim:  # the whole position: burn every share
                        pool.redeem_all(bal.lend_shares, amount)
                        burned = bal.lend_shares
                    else:
                        burned = pool.redeem(amount, bal.lend_shares)
                    bal.lend_shares -= burned
                    bal.available += amount
                    bal.lent_principal = max(0, bal.lent_principal - amount)
                    self.events.append(BorrowLendExecuted(c.account, c.asset, "LendRedeem", amount, burned))
            elif acct.liquidating:
                reason = Reason.ACCOUNT_LIQUIDATING
            else:
                # a new borrow: the debt (and its entry fee) is exposure, so available equity
                # must stay >= 0 afterwards; checked on the hypothetical before anything moves
                fee = pool.entry_fee(amount, self.seconds_left_in_hour())
                r = self.margin.compute(acct, asset=asset, delta=-fee, with_mm=False, new_debt=amount + fee)
                if not pool.can_borrow(amount, fee):
                    reason = Reason.POOL_LIMIT
                elif r.equity - r.im < 0:
                    reason = Reason.INSUFFICIENT_MARGIN
                else:
                    self._new_borrow(acct, asset, amount, c.account)
        except PoolError:
            reason = Reason.POOL_LIMIT
        if reason:
            self.events.append(BorrowLendRejected(c.account, c.asset, c.side, c.amount, reason))

    def _accrue(self, c: AccrueInterest) -> None:
        if self.last_accrual_hour < 0 or c.hour < self.last_accrual_hour:
            self.last_accrual_hour = max(self.last_accrual_hour, c.hour)
            return
        fee_assets = self.ledger.account(self.fee_account).assets
        for hour in range(self.last_accrual_hour + 1, c.hour + 1):
            for index, pool in enumerate(self.pools):
                if pool is None:
                    continue
                to_lenders, fee_shares = pool.accrue_hour()
                self.margin.epoch += 1
                if to_lenders or fee_shares:
                    fee_assets[index].lend_shares += fee_shares
                    self.events.append(
                        InterestAccrued(
                            hour,
                            self.spec.assets[index].symbol,
                            pool.borrow_index,
                            pool.lend_index,
                            to_lenders,
                            fee_shares,
                        )
                    )
        self.last_accrual_hour = c.hour

    # ------------------------------------------------------------------ prices

    def _refresh_marks(self) -> None:
        """At the risk and funding ticks: a perp whose book lost its mid since the last index
        update takes the index as its mark now (§7.1), announced like an index update."""
        for m in self.markets:
            if m.is_perp and m.basis_ewma and drop_stale_basis(m):
                self.margin.epoch += 1
                self.events.append(IndexPriceSet(m.symbol, m.index_price, m.mark))

    def _set_index(self, c: SetIndexPrice) -> None:
        m = self.market_by_symbol.get(c.market)
        if m is None or c.price <= 0 or c.price > MAX_PRICE_TICKS or (m.max_price and c.price > m.max_price):
            reason = Reason.UNKNOWN_MARKET if m is None else Reason.INVALID_PRICE
            self.events.append(IndexPriceRejected(c.market, c.price, reason))
            return
        observe_index(m, c.price, self.last_ts_us)  # the basis EWMA, or the index when no mid (§7.1)
        mark = mark_price(m)
        m.mark = mark
        self.margin.epoch += 1
        if m.is_perp:
            sample_premium(m, mark)
        self.events.append(IndexPriceSet(c.market, c.price, mark))


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


_B64: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _is_base64_key(key: str) -> bool:
    """Standard base64 of 32 bytes: 43 alphabet characters and one '=' (the last holding 4 zero bits)."""
    return len(key) == 44 and key[43] == "=" and all(ch in _B64 for ch in key[:43]) and key[42] in "AEIMQUYcgkosw048"
