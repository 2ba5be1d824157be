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
from rucksack.exchange.core.book.side import BookSide
from rucksack.exchange.core.commands import (
    AccrueInterest,
    AddApiKey,
    BorrowLend,
    CancelAllOrders,
    CancelOrder,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    PlaceOrders,
    SetFeeTier,
    SetIndexPrice,
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
    Reason,
)
from rucksack.exchange.core.events import (
    AccountCreated,
    ApiKeyAdded,
    ApiKeyRejected,
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
from rucksack.exchange.core.markets import (
    FIRST_USER_ACCOUNT,
    MAX_BATCH,
    ExchangeSpec,
    FeeTier,
    MarketSpec,
    validate_spec,
)
from rucksack.exchange.core.numeric import PPM, ceil_div, fee_atoms

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
):  # pragma: no cover
    raise ImportError("PlaceOrder's fields changed; update Engine._place")

NO_CLIENT_ID: Final = -1
MAX_PRICE_TICKS: Final = (1 << 60) - 1  # 'no limit'; stays an unboxed int when compiled
CLIENT_ID_LIMIT: Final = 1 << 32


class MarketState:
    """A market's integer parameters, its two book sides and its reference price."""

    __slots__ = (
        "asks",
        "band_max",
        "band_min",
        "base",
        "basis_ewma",
        "bids",
        "impact_max",
        "impact_min",
        "index",
        "index_price",
        "index_ts_us",
        "is_spot",
        "last_price",
        "lot_atoms",
        "lot_tick_atoms",
        "max_lots",
        "max_price",
        "min_lots",
        "min_notional",
        "min_price",
        "quote",
        "spec",
        "symbol",
        "trading",
    )

    def __init__(self, index: int, spec: MarketSpec, base: int, quote: int) -> None:
        self.index = index
        self.spec = spec
        self.symbol = spec.symbol
        self.base = base
        self.quote = quote
        self.is_spot = spec.market_type == "SPOT"
        self.trading = spec.trading
        self.lot_atoms = spec.lot_atoms
        self.lot_tick_atoms = spec.lot_tick_atoms
        self.min_lots = spec.min_lots
        self.max_lots = spec.max_lots
        self.min_price = spec.min_price_ticks
        self.max_price = spec.max_price_ticks
        self.min_notional = spec.min_notional_atoms
        self.band_max = spec.price_band_max_ppm
        self.band_min = spec.price_band_min_ppm
        self.impact_max = spec.impact_max_ppm
        self.impact_min = spec.impact_min_ppm
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.last_price = 0  # ticks of the last trade; 0 before the first trade
        self.index_price = 0  # ticks; 0 until the feed has spoken
        self.basis_ewma = 0  # ticks: one-minute EWMA of (mid - index)
        self.index_ts_us = 0  # time of the last index update


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

    # ------------------------------------------------------------------ dispatch

    def apply(self, command: Command, seq: int, ts_us: int) -> list[Event]:
        """Apply one stamped command and return the events it produced."""
        events: list[Event] = []
        self.events = events
        self.last_seq = seq
        self.last_ts_us = ts_us
        if isinstance(command, PlaceOrder):
            self._place(command, ts_us)
        elif isinstance(command, CancelOrder):
            self._cancel(command)
        elif isinstance(command, PlaceOrders):
            if len(command.orders) > MAX_BATCH:
                for order in command.orders:
                    events.append(OrderRejected(order.account, order.market, order.client_id, Reason.BATCH_TOO_LARGE))
            else:
                for order in command.orders:
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
        else:  # pragma: no cover - the decoder only yields known commands
            raise TypeError(f"unknown command {type(command).__name__}")
        return events

    # ------------------------------------------------------------------ orders

    def _reject(self, c: PlaceOrder, reason: str) -> None:
        self.events.append(OrderRejected(c.account, c.market, c.client_id, reason))

    def _place(self, c: PlaceOrder, ts_us: int) -> None:
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
        m = self.market_by_symbol.get(market)
        if m is None:
            self._reject(c, Reason.UNKNOWN_MARKET)
            return
        if not m.trading or not m.is_spot:
            self._reject(c, Reason.MARKET_CLOSED)
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
            if quote_atoms > 0 and (tif == FOK or quote_atoms < m.min_notional):
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
        # ---- R1: hold funds
        acct = self.ledger.accounts.get(account)
        if acct is None:
            self._reject(c, Reason.INSUFFICIENT_FUNDS)
            return
        max_quote = NO_BUDGET
        if is_buy:
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
        if hold > available or hold <= 0:
            self._reject(c, Reason.INSUFFICIENT_FUNDS)
            return
        apply_hold(held, hold)
        order_id = self.next_order_id
        self.next_order_id = order_id + 1
        taker = Order(
            order_id,
            account,
            m.index,
            side,
            price,
            lots if lots else max_lots,
            client_id,
            tif,
            stp,
            post_only,
            is_limit,
            quote_atoms,
            ts_us,
        )
        taker.hold = hold
        self.events.append(OrderAccepted(order_id, ts_us, c))
        # ---- ME: match
        if is_limit:
            limit = price
        else:
            limit = MAX_PRICE_TICKS if is_buy else 0
        if ref > 0:
            impact = (ref * m.impact_max) // PPM if is_buy else ceil_div(ref * m.impact_min, PPM)
        else:
            impact = MAX_PRICE_TICKS if is_buy else 0
        if tif == FOK:
            can = fillable_lots(opposite, account, is_buy, limit, impact, max_lots, max_quote, lta, stp)
            if can < lots:
                self._close_taker(held, taker, "Expired", Reason.FILL_OR_KILL)
                return
        fills: list[Order] = []
        stp_expired: list[Order] = []
        stop = match(opposite, account, is_buy, limit, impact, max_lots, max_quote, lta, stp, fills, stp_expired)
        # ---- R2: settle
        if fills:
            self._settle(m, taker, acct, fills, ts_us)
        for maker in stp_expired:
            self._forget(maker)
            self._release(maker)
            self.events.append(
                OrderClosed(
                    maker.id,
                    maker.account,
                    m.symbol,
                    "Expired",
                    Reason.SELF_TRADE_PREVENTION,
                    maker.filled_lots,
                    maker.filled_quote,
                )
            )
        # ---- post: rest, fill or expire the taker
        if lots and taker.lots == 0:
            self._close_taker(held, taker, "Filled", "")
        elif stop == STOP_STP:
            self._close_taker(held, taker, "Expired", Reason.SELF_TRADE_PREVENTION)
        elif stop == STOP_IMPACT:
            self._close_taker(held, taker, "Expired", Reason.PRICE_IMPACT)
        elif not is_limit:
            if quote_atoms and stop in (STOP_BUDGET, STOP_FILLED):
                self._close_taker(held, taker, "Filled", "")
            elif stop == STOP_BUDGET:
                self._close_taker(held, taker, "Expired", Reason.INSUFFICIENT_FUNDS)
            else:
                self._close_taker(held, taker, "Expired", Reason.INSUFFICIENT_LIQUIDITY)
        elif tif != GTC:
            self._close_taker(held, taker, "Expired", Reason.IMMEDIATE_OR_CANCEL)
        else:
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
        events = self.events
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
                    taker_base,
                    taker_quote,
                    maker_acct.assets[base],
                    maker_acct.assets[quote],
                    fee_base,
                    fee_quote,
                    base_atoms,
                    quote_atoms,
                    taker_fee,
                    maker_fee,
                )
                taker.hold -= quote_atoms
                maker.hold -= base_atoms
            else:
                taker_fee = fee_atoms(quote_atoms, taker_rate)
                maker_fee = fee_atoms(base_atoms, maker_rate)
                settle_spot_fill(
                    maker_acct.assets[base],
                    maker_acct.assets[quote],
                    taker_base,
                    taker_quote,
                    fee_base,
                    fee_quote,
                    base_atoms,
                    quote_atoms,
                    maker_fee,
                    taker_fee,
                )
                taker.hold -= base_atoms
                maker.hold -= quote_atoms
            taker.lots -= n
            taker.filled_lots += n
            taker.filled_quote += quote_atoms
            maker.filled_lots += n
            maker.filled_quote += quote_atoms
            trade_id = self.next_trade_id
            self.next_trade_id = trade_id + 1
            events.append(
                TradeExecuted(
                    trade_id,
                    symbol,
                    price,
                    n,
                    taker.id,
                    maker.id,
                    taker.account,
                    maker.account,
                    taker_side,
                    taker_fee,
                    maker_fee,
                    ts_us,
                )
            )
            if maker.lots == 0:
                self._forget(maker)
                events.append(
                    OrderClosed(maker.id, maker.account, symbol, "Filled", "", maker.filled_lots, maker.filled_quote)
                )
        m.last_price = price

    def _close_taker(self, held: Balance, taker: Order, status: str, reason: str) -> None:
        if taker.hold:
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
        if order.hold:
            m = self.markets[order.market]
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
        if order is None or order.account != c.account or self.markets[order.market].symbol != c.market:
            self.events.append(CancelRejected(c.account, c.market, c.order_id, c.client_id, Reason.ORDER_NOT_FOUND))
            return
        self._remove_resting(order, "Cancelled", Reason.USER_CANCELLED)

    def _cancel_all(self, c: CancelAllOrders) -> None:
        m = self.market_by_symbol.get(c.market)
        if m is None:
            self.events.append(CancelRejected(c.account, c.market, -1, -1, Reason.UNKNOWN_MARKET))
            return
        mine = [o for side in (m.bids, m.asks) for o in side.orders() if o.account == c.account]
        mine.sort(key=lambda o: o.id)
        for order in mine:
            self._remove_resting(order, "Cancelled", Reason.USER_CANCELLED)

    # ------------------------------------------------------------------ capital

    def _deposit(self, c: Deposit) -> None:
        asset = self.asset_index.get(c.asset, -1)
        if asset < 0:
            self.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.UNKNOWN_ASSET))
        elif c.amount <= 0:
            self.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.INVALID_AMOUNT))
        elif c.tx_id in self.deposit_ids:
            self.events.append(DepositRejected(c.account, c.asset, c.amount, c.tx_id, Reason.DUPLICATE_DEPOSIT))
        else:
            self.deposit_ids.add(c.tx_id)
            self.ledger.apply_deposit(c.account, asset, c.amount)
            self.events.append(Deposited(c.account, c.asset, c.amount, c.tx_id))

    def _withdraw(self, c: Withdraw) -> None:
        asset = self.asset_index.get(c.asset, -1)
        if asset < 0:
            self.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.UNKNOWN_ASSET))
        elif c.amount <= 0:
            self.events.append(WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INVALID_AMOUNT))
        elif not self.ledger.can_withdraw(c.account, asset, c.amount):
            self.events.append(
                WithdrawalRejected(c.account, c.asset, c.amount, c.request_id, Reason.INSUFFICIENT_FUNDS)
            )
        else:
            self.ledger.apply_withdrawal(c.account, asset, c.amount)
            self.events.append(Withdrawn(c.account, c.asset, c.amount, c.request_id))

    def _set_fee_tier(self, c: SetFeeTier) -> None:
        if not 0 <= c.tier < len(self.fee_tiers):
            self.events.append(FeeTierRejected(c.account, c.tier, Reason.UNKNOWN_FEE_TIER))
            return
        self.ledger.account(c.account).tier = c.tier
        self.events.append(FeeTierSet(c.account, c.tier))

    # ------------------------------------------------------------------ accounts and keys

    def _create_account(self, c: CreateAccount) -> None:
        account = self.next_account_id
        self.next_account_id = account + 1
        self.ledger.account(account)
        self.events.append(AccountCreated(account, c.label))

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

    # ------------------------------------------------------------------ borrow / lend

    def _borrow_lend(self, c: BorrowLend) -> None:
        asset = self.asset_index.get(c.asset, -1)
        pool = self.pools[asset] if asset >= 0 else None
        reason = ""
        if asset < 0:
            reason = Reason.UNKNOWN_ASSET
        elif pool is None:
            reason = Reason.NO_LENDING_MARKET
        elif c.amount <= 0 or c.side not in ("Borrow", "Lend"):
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
            else:
                reason = Reason.BORROW_LIMIT  # borrowing needs the risk engine (margin issue)
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

    def _set_index(self, c: SetIndexPrice) -> None:
        m = self.market_by_symbol.get(c.market)
        if m is None or c.price <= 0 or c.price > MAX_PRICE_TICKS:
            reason = Reason.UNKNOWN_MARKET if m is None else Reason.INVALID_PRICE
            self.events.append(IndexPriceRejected(c.market, c.price, reason))
            return
        bid, ask = m.bids.best_price(), m.asks.best_price()
        if m.index_price and bid and ask:
            # one-minute EWMA of the basis: weight min(elapsed, 60 s) / 60 s, rounded toward zero
            sample = (bid + ask) // 2 - c.price
            elapsed = min(self.last_ts_us - m.index_ts_us, MARK_EWMA_US)
            if elapsed > 0:
                step = (sample - m.basis_ewma) * elapsed
                m.basis_ewma += step // MARK_EWMA_US if step >= 0 else -(-step // MARK_EWMA_US)
        m.index_price = c.price
        m.index_ts_us = self.last_ts_us
        self.events.append(IndexPriceSet(c.market, c.price, mark_price(m)))


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


MARK_EWMA_US: Final = 60_000_000
MARK_BAND_PPM: Final = 50_000  # mark stays within index x (1 +- 5%)


def mark_price(m: MarketState) -> int:
    """Index + EWMA basis, clamped to index x (1 +- 5%); 0 while no index is known (§7.1)."""
    index = m.index_price
    if not index:
        return 0
    lo = index - index * MARK_BAND_PPM // PPM
    hi = index + index * MARK_BAND_PPM // PPM
    mark = index + m.basis_ewma
    return lo if mark < lo else hi if mark > hi else mark
