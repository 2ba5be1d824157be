"""Events -> read-model rows, the same for every backend (SQLite, PostgreSQL).

The projector turns each released command's events into rows in memory and hands a backend one
:class:`Batch` per released group (:meth:`Projector.take`); the backend writes the batch in one
transaction together with the batch's last sequence number. So a backend never reads while
projecting and needs no round trip per event: a batch is a handful of multi-row statements, one
per table, whatever its size.

Invariants:

- Idempotent by seq: a command whose seq is at or below the last one projected is skipped
  (:meth:`Projector.project` returns False), so a replayed event never doubles a row. A batch
  carries ``after_seq``, the store's last seq when it began; a backend writes it only if the
  database still says ``after_seq`` (else another writer got there first: the batch is refused).
- Every row a batch writes is final for that batch: append-only rows (trades, fills, capital,
  accounts, funding, settlements) are new; an order or position touched in the batch is written
  once, as it stands at the batch's end (an upsert keyed by its id). Open orders and open
  positions are kept in memory for that (and reloaded from the database at start-up), as are the
  client ids of open orders, so a fill's client id costs no query.
- Ids of capital, funding, settlement and position rows are given here, in event order, from
  counters that continue the database's largest id: the same journal gives the same ids on every
  backend.
- Every fill row says what produced it (``fill_type``, ``liquidated``: ``store.fill_types``): a
  taker fill with a liquidation fee or of an account between ``LiquidationStarted`` and
  ``LiquidationEnded`` is the liquidation engine's (that set is a table too, ``liquidating``, reloaded
  at start-up); a ``SettlePnl``'s (the command with
  ``PnlSettled``) is a collateral conversion; each ``PositionTransferred`` adds one row per party
  under a trade id counted from ``fill_types.TRANSFER_TRADE_IDS`` (continuing the database's largest).
- A ``PnlSettled`` becomes one settlement row per source (``store.settlement_sources``: perp fees,
  funding, realized PnL, ...), exact integers summing to what it moved; what is not settled yet
  stays pending per account and source (table ``unsettled_sources``, reloaded at start-up).
- Amounts are exact integers (atoms, ticks, lots; funding rates in WAD). Funding shares round as
  the engine does: payers' amounts up, receivers' down.
- Index and mark prices are kept as one-minute candles per market (``price_candles``, what klines
  with ``priceType`` Index or Mark read): a batch holds each touched minute's open, high, low and
  close within the batch, and the write merges it with the row already there (the first open
  stays, highs and lows widen, the batch's close wins), so writing a batch twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.enums import OrderStatus
from rucksack.exchange.core.events import (
    AccountCreated,
    BadDebt,
    BorrowLendExecuted,
    Deposited,
    DustConverted,
    Event,
    FundingPaid,
    IndexPriceSet,
    InterestAccrued,
    InterestPaid,
    LiquidationEnded,
    LiquidationStarted,
    LossSocialized,
    OrderAccepted,
    OrderClosed,
    OrderModified,
    PnlSettled,
    PositionTransferred,
    TradeExecuted,
    TriggerAccepted,
    Withdrawn,
)
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.numeric import WAD, ceil_div
from rucksack.exchange.core.perps.position import Position
from rucksack.exchange.core.premarket.events import PreMarketPositionSettled
from rucksack.exchange.store import lending
from rucksack.exchange.store import settlement_sources as sources
from rucksack.exchange.store.fill_types import (
    BOOK_LIQUIDATION,
    COLLATERAL_CONVERSION,
    SPOT_LIQUIDATION,
    TRANSFER_TRADE_IDS,
    USER,
)

TRANSFER_COUNTER = "transfer_fills"  # next_id key of the transfer fills' trade ids

# the columns of ``orders`` that copy the placement: the leading fields of ``PlaceOrder`` up to
# ``client_id``, in its order (the engine refuses to run if that order ever changes)
PLACED_FIELDS: tuple[str, ...] = PlaceOrder.__struct_fields__[: PlaceOrder.__struct_fields__.index("client_id") + 1]
LOTS_FIELD = PLACED_FIELDS.index("lots")  # the order's quantity, which a reduce-only cut changes
ORDER_COLUMNS: tuple[str, ...] = (
    "id",
    *PLACED_FIELDS,
    "created_us",
    "status",
    "expiry_reason",
    "filled_lots",
    "filled_quote",
    "updated_us",
)
# what an order's later events change (a trigger that fires keeps its id and its created_us; a
# resting reduce-only order cut to its position changes its quantity)
ORDER_MUTABLE = ("lots", "status", "expiry_reason", "filled_lots", "filled_quote", "updated_us")
OPEN_STATUSES = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.TRIGGER_PENDING)
NO_CLIENT_ID = -1

POSITION_FIELDS = (
    "lots",
    "cost",
    "entry_cost",
    "realized",
    "funding",
    "fees",
    "liquidation_fees",
    "closed_lots",
    "liquidated",
    "closing_price",
    "closed_us",
)
POSITION_COLUMNS = ("id", "account", "market", "state", *POSITION_FIELDS, "opened_us")

# append-only tables, their columns in row order
TABLES: dict[str, tuple[str, ...]] = {
    "trades": ("id", "market", "price", "lots", "buyer_is_maker", "buy_order", "sell_order", "ts_us"),
    "fills": (
        "trade_id",
        "is_maker",
        "account",
        "order_id",
        "market",
        "side",
        "price",
        "lots",
        "fee",
        "fee_asset",
        "client_id",
        "ts_us",
        "fill_type",
        "liquidated",
    ),
    "capital": ("id", "seq", "account", "kind", "asset", "amount", "ref", "ts_us"),
    "accounts": ("id", "parent", "label", "created_us"),
    "funding": ("id", "account", "market", "hour", "rate_wad", "quantity"),
    "settlements": ("id", "account", "quantity", "realized", "ts_us", "source"),
    **lending.TABLES,
}
FUNDING_RATE_COLUMNS = ("market", "hour", "rate_wad", "mark")
CANDLE_COLUMNS = ("market", "kind", "bucket", "open", "high", "low", "close")
CANDLE_US = 60_000_000  # index/mark candles are kept per minute; longer klines are built from them
# tables whose ids the projector gives
COUNTED = ("capital", "funding", "settlements", "positions", *lending.COUNTED)
# tables written by upsert from ``Batch.upserts``: (columns, conflict key, columns an update changes)
# the accounts in liquidation (``active`` 1), so a restarted writer still knows whose taker fills are the engine's
LIQUIDATING_COLUMNS = ("account", "active")
UPSERTS = {
    **lending.UPSERTS,
    "liquidating": (LIQUIDATING_COLUMNS, "account", ("active",)),
    # what each account's unsettled balance is made of, by settlement source (store.settlement_sources)
    "unsettled_sources": (sources.COLUMNS, "account, source", ("amount",)),
}


def placed_row(order: PlaceOrder) -> tuple[Any, ...]:
    """The ``PLACED_FIELDS`` of a placement, in column order (flags as 0/1)."""
    return tuple(int(v) if isinstance(v, bool) else v for v in msgspec.structs.astuple(order)[: len(PLACED_FIELDS)])


class OrderRow:
    """An open order's history row (placement, status, fills so far), kept until it closes."""

    __slots__ = ("created_us", "filled_lots", "filled_quote", "id", "placed", "reason", "status", "updated_us")

    def __init__(self, order_id: int, placed: tuple[Any, ...], created_us: int, status: str) -> None:
        self.id = order_id
        self.placed = placed
        self.created_us = created_us
        self.status = status
        self.reason = ""
        self.filled_lots = 0
        self.filled_quote = 0
        self.updated_us = created_us

    def values(self) -> tuple[Any, ...]:
        return (
            self.id,
            *self.placed,
            self.created_us,
            self.status,
            self.reason,
            self.filled_lots,
            self.filled_quote,
            self.updated_us,
        )


class PositionRow:
    """One position's life in the read model, rebuilt from fills, transfers and funding alone
    (``core.perps.position.Position`` does the entry-cost arithmetic, so it matches the engine)."""

    __slots__ = (
        "account",
        "closed_lots",
        "closed_us",
        "closing_price",
        "fees",
        "funding",
        "id",
        "liquidated",
        "liquidation_fees",
        "market",
        "opened_us",
        "pos",
        "realized",
    )

    def __init__(self, row_id: int, account: int, market: str, opened_us: int) -> None:
        self.id = row_id
        self.account = account
        self.market = market
        self.opened_us = opened_us
        self.pos = Position(0)
        self.realized = 0  # PnL of the closed parts: exit notional - entry notional removed
        self.funding = 0
        self.fees = 0
        self.liquidation_fees = 0
        self.closed_lots = 0
        self.liquidated = 0
        self.closing_price = 0
        self.closed_us = 0

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> PositionRow:
        row = cls(r["id"], r["account"], r["market"], r["opened_us"])
        row.pos.lots, row.pos.cost, row.pos.entry_cost = r["lots"], r["cost"], r["entry_cost"]
        for name in POSITION_FIELDS[3:]:
            setattr(row, name, r[name])
        return row

    def fill(self, lots: int, price: int, lta: int) -> None:
        pos = self.pos
        old, entry_old = pos.lots, pos.entry_cost
        pos.apply_fill(lots, lots * price * lta)
        if old and (old > 0) != (lots > 0):
            closed = min(abs(lots), abs(old))
            removed = entry_old if abs(lots) >= abs(old) else entry_old - pos.entry_cost
            self.realized += (1 if old > 0 else -1) * closed * price * lta - removed
            self.closed_lots += closed
            self.closing_price = price

    def values(self) -> tuple[Any, ...]:
        p = self.pos
        state = "Open" if p.lots else "Closed"
        return (
            self.id,
            self.account,
            self.market,
            state,
            p.lots,
            p.cost,
            p.entry_cost,
            self.realized,
            self.funding,
            self.fees,
            self.liquidation_fees,
            self.closed_lots,
            self.liquidated,
            self.closing_price,
            self.closed_us,
            self.opened_us,
        )


@dataclass
class Batch:
    """Rows for one transaction: every command with ``after_seq`` < seq <= ``last_seq``."""

    after_seq: int
    last_seq: int
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLES})
    funding_rates: dict[tuple[str, int], tuple[Any, ...]] = field(default_factory=dict)
    # (market, "Index" | "Mark", minute start in µs) -> [open, high, low, close] within the batch
    candles: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)
    orders: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # final values, by id
    positions: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    upserts: dict[str, dict[Any, tuple[Any, ...]]] = field(default_factory=lambda: {t: {} for t in UPSERTS})

    def merge(self, later: Batch) -> None:
        """Append a later batch (``later.after_seq == self.last_seq``): one transaction for both."""
        assert later.after_seq == self.last_seq, "batches merge in seq order"
        self.last_seq = later.last_seq
        for table, rows in later.rows.items():
            self.rows[table].extend(rows)
        self.funding_rates.update(later.funding_rates)
        for key, (o, h, lo, c) in later.candles.items():
            mine = self.candles.get(key)
            self.candles[key] = [o, h, lo, c] if mine is None else [mine[0], max(mine[1], h), min(mine[2], lo), c]
        self.orders.update(later.orders)
        self.positions.update(later.positions)
        for table, rows_by_key in later.upserts.items():
            self.upserts[table].update(rows_by_key)


@dataclass
class Loaded:
    """What the projector needs from the database at start-up."""

    last_seq: int
    open_orders: list[dict[str, Any]]  # rows of orders in OPEN_STATUSES
    open_positions: list[dict[str, Any]]  # rows of positions with state 'Open'
    max_ids: dict[str, int]  # table in COUNTED (and TRANSFER_COUNTER) -> its largest id (0 when empty)
    open_lending: list[dict[str, Any]] = field(default_factory=list)  # bl_positions rows with state 'Open'
    liquidating: list[int] = field(default_factory=list)  # accounts in liquidation
    unsettled_sources: list[dict[str, Any]] = field(default_factory=list)  # rows of that table


class Projector:
    """The in-memory half of a read store (loop thread only): events in, batches out."""

    def __init__(self, spec: ExchangeSpec, loaded: Loaded) -> None:
        self.base_assets = {m.symbol: m.base for m in spec.markets}
        self.quote_assets = {m.symbol: m.quote for m in spec.markets}
        self.lot_tick_atoms = {m.symbol: m.lot_tick_atoms for m in spec.markets}
        self.perps = {m.symbol for m in spec.markets if m.market_type == "PERP"}
        self.last_seq = loaded.last_seq
        self.next_id = {t: loaded.max_ids.get(t, 0) + 1 for t in (*COUNTED, TRANSFER_COUNTER)}
        self.liquidating: set[int] = set(loaded.liquidating)
        self.settle_sources = sources.Attribution(
            loaded.unsettled_sources, spec.fee_account, spec.risk.liquidity_fund_account
        )
        self.open_orders: dict[int, OrderRow] = {}
        for r in loaded.open_orders:
            row = OrderRow(r["id"], tuple(r[c] for c in PLACED_FIELDS), r["created_us"], r["status"])
            row.reason, row.filled_lots, row.filled_quote = r["expiry_reason"], r["filled_lots"], r["filled_quote"]
            row.updated_us = r["updated_us"]
            self.open_orders[row.id] = row
        # order id -> client id, for every open order that has one
        self.client_ids: dict[int, int] = {
            i: o.placed[-1]
            for i, o in self.open_orders.items()
            if o.placed[-1] >= 0 and o.status != OrderStatus.TRIGGER_PENDING
        }
        self.open_positions: dict[tuple[int, str], PositionRow] = {}
        for r in loaded.open_positions:
            pos = PositionRow.from_row(r)
            self.open_positions[(pos.account, pos.market)] = pos
        self.lending = lending.LendingProjection(loaded.open_lending, self._new_id)
        self._batch = Batch(self.last_seq, self.last_seq)
        self._orders: dict[int, OrderRow] = {}  # touched in the open batch
        self._positions: dict[int, PositionRow] = {}

    def _new_id(self, table: str) -> int:
        i = self.next_id[table]
        self.next_id[table] = i + 1
        return i

    def take(self) -> Batch | None:
        """The open batch with its rows frozen (None when no command was projected since the last
        take); a new batch opens after it."""
        b = self._batch
        if b.last_seq == b.after_seq:
            return None
        b.orders = {i: o.values() for i, o in self._orders.items()}
        b.positions = {i: p.values() for i, p in self._positions.items()}
        b.upserts["unsettled_sources"].update({(a, s): (a, s, v) for a, s, v in self.settle_sources.take()})
        self._batch = Batch(b.last_seq, b.last_seq)
        self._orders, self._positions = {}, {}
        return b

    @property
    def batch_start(self) -> int:
        """The first seq of the open batch."""
        return self._batch.after_seq + 1

    def discard(self) -> None:
        """Forget the open batch's rows (the store was abandoned: nothing more is written)."""
        self.last_seq = self._batch.after_seq
        self._batch = Batch(self.last_seq, self.last_seq)
        self._orders, self._positions = {}, {}

    def project(self, seq: int, ts_us: int, events: list[Event]) -> bool:
        """Add one command's events to the open batch; False (and nothing added) when ``seq`` was
        projected already."""
        if seq <= self.last_seq:
            return False
        rows = self._batch.rows
        # a settlement's own orders are collateral sales (``SettlePnl`` is the one command with PnlSettled)
        settling = any(type(ev) is PnlSettled for ev in events)
        for ev in events:
            if isinstance(ev, OrderAccepted):
                self._accept(ev.order_id, ev.order, ev.ts_us, OrderStatus.NEW)
            elif isinstance(ev, TriggerAccepted):
                self._accept(ev.order_id, ev.order, ev.ts_us, OrderStatus.TRIGGER_PENDING)
            elif isinstance(ev, TradeExecuted):
                self._project_trade(ev, settling)
                if ev.market in self.perps:
                    self._project_perp_fill(ev)
                    self.settle_sources.fees(
                        ev.taker_account, ev.maker_account, ev.taker_fee, ev.maker_fee, ev.liquidation_fee
                    )
            elif isinstance(ev, OrderClosed):
                self._close(ev, ts_us)
            elif isinstance(ev, OrderModified):
                self._modify(ev, ts_us)
            elif isinstance(ev, Deposited):
                rows["capital"].append(
                    (self._new_id("capital"), seq, ev.account, "deposit", ev.asset, ev.amount, ev.tx_id, ts_us)
                )
            elif isinstance(ev, Withdrawn):
                rows["capital"].append(
                    (self._new_id("capital"), seq, ev.account, "withdrawal", ev.asset, ev.amount, ev.request_id, ts_us)
                )
            elif isinstance(ev, AccountCreated):
                rows["accounts"].append((ev.account, ev.parent, ev.label, ts_us))
            elif isinstance(ev, FundingPaid):
                self._project_funding(ev)
            elif isinstance(ev, PnlSettled):
                realized = ev.realized  # kept on the settlement's first row
                for source, amount in self.settle_sources.settle(ev.account, ev.realized, ev.paid, ev.unsettled):
                    rows["settlements"].append(
                        (self._new_id("settlements"), ev.account, amount, realized, ts_us, source)
                    )
                    realized = 0
            elif isinstance(ev, LossSocialized):
                self.settle_sources.add(ev.counterparty, sources.LIABILITY_TRANSFER, -ev.amount)
                self.settle_sources.add(ev.account, sources.LIABILITY_TRANSFER, ev.amount)
            elif isinstance(ev, BadDebt):
                self.settle_sources.add(self.settle_sources.fund_account, sources.LIABILITY_TRANSFER, -ev.covered)
                self.settle_sources.add(ev.account, sources.LIABILITY_TRANSFER, ev.covered)
            elif isinstance(ev, PositionTransferred):
                self._project_transfer(ev, ts_us)
            elif isinstance(ev, LiquidationStarted):
                self.liquidating.add(ev.account)
                self._batch.upserts["liquidating"][ev.account] = (ev.account, 1)
            elif isinstance(ev, LiquidationEnded):
                self.liquidating.discard(ev.account)
                self._batch.upserts["liquidating"][ev.account] = (ev.account, 0)
            elif isinstance(ev, PreMarketPositionSettled):  # closed at the listing price (core.premarket)
                row = self._position(ev.account, ev.market, ts_us)
                row.fill(-ev.lots, ev.price, self.lot_tick_atoms[ev.market])
                self._settle_position(row, ts_us)
            elif isinstance(ev, IndexPriceSet):
                self._candle(ev.market, "Index", ev.index_price, ts_us)
                self._candle(ev.market, "Mark", ev.mark_price, ts_us)
            elif isinstance(ev, (BorrowLendExecuted, InterestPaid, InterestAccrued, DustConverted)):
                self.lending.project(ev, ts_us, rows, self._batch.upserts)
        self.last_seq = self._batch.last_seq = seq
        return True

    def _candle(self, market: str, kind: str, price: int, ts_us: int) -> None:
        key = (market, kind, ts_us // CANDLE_US * CANDLE_US)
        candle = self._batch.candles.get(key)
        if candle is None:
            self._batch.candles[key] = [price, price, price, price]
        else:
            candle[1], candle[2], candle[3] = max(candle[1], price), min(candle[2], price), price

    # orders

    def _accept(self, order_id: int, order: PlaceOrder, ts_us: int, status: str) -> None:
        row = self.open_orders.get(order_id)
        if row is None:  # a new order (a trigger that fires keeps its pending row, created_us and all)
            row = self.open_orders[order_id] = OrderRow(order_id, placed_row(order), ts_us, status)
        row.status, row.updated_us = status, ts_us
        if status == OrderStatus.NEW and order.client_id >= 0:
            self.client_ids[order_id] = order.client_id
        self._orders[order_id] = row

    def _modify(self, ev: OrderModified, ts_us: int) -> None:
        row = self.open_orders.get(ev.order_id)
        if row is not None:  # its quantity is the cut one from now on
            placed = list(row.placed)
            placed[LOTS_FIELD] = ev.lots
            row.placed, row.updated_us = tuple(placed), ts_us
            self._orders[row.id] = row

    def _close(self, ev: OrderClosed, ts_us: int) -> None:
        self.client_ids.pop(ev.order_id, None)
        row = self.open_orders.pop(ev.order_id, None)
        if row is None:
            return
        row.status, row.reason, row.updated_us = ev.status, ev.reason, ts_us
        row.filled_lots, row.filled_quote = ev.filled_lots, ev.filled_quote_atoms
        self._orders[row.id] = row

    def _taker_kind(self, ev: TradeExecuted, settling: bool) -> tuple[str, int]:
        """The taker's ``fill_type`` and ``liquidated`` flag: an account being liquidated places no
        order itself, so its taker fills are the engine's (on a perp book: the position's slice;
        on a spot book: selling collateral or buying back a debt); a settlement's are collateral sales."""
        if ev.liquidation_fee or ev.taker_account in self.liquidating:
            return (BOOK_LIQUIDATION if ev.market in self.perps else SPOT_LIQUIDATION), 1
        return (COLLATERAL_CONVERSION if settling else USER), 0

    def _project_trade(self, ev: TradeExecuted, settling: bool) -> None:
        rows = self._batch.rows
        taker_buys = ev.taker_side == "Bid"
        base, quote = self.base_assets[ev.market], self.quote_assets[ev.market]
        buy_order, sell_order = (
            (ev.taker_order_id, ev.maker_order_id) if taker_buys else (ev.maker_order_id, ev.taker_order_id)
        )
        rows["trades"].append(
            (ev.trade_id, ev.market, ev.price, ev.lots, int(not taker_buys), buy_order, sell_order, ev.ts_us)
        )
        maker_side = "Ask" if taker_buys else "Bid"
        spot = ev.market not in self.perps
        taker_kind, taker_liquidated = self._taker_kind(ev, settling)
        for is_maker, account, order_id, side, fee, kind, liquidated in (
            (0, ev.taker_account, ev.taker_order_id, ev.taker_side, ev.taker_fee, taker_kind, taker_liquidated),
            (1, ev.maker_account, ev.maker_order_id, maker_side, ev.maker_fee, USER, 0),
        ):
            fee_asset = base if side == "Bid" and spot else quote
            client_id = self.client_ids.get(order_id, NO_CLIENT_ID)
            fill = (ev.trade_id, is_maker, account, order_id, ev.market, side, ev.price, ev.lots, fee, fee_asset)
            rows["fills"].append((*fill, client_id, ev.ts_us, kind, liquidated))
        quote_atoms = ev.lots * ev.price * self.lot_tick_atoms[ev.market]
        for order_id in (ev.taker_order_id, ev.maker_order_id):
            row = self.open_orders.get(order_id)
            if row is None:
                continue
            row.filled_lots += ev.lots
            row.filled_quote += quote_atoms
            if row.status == OrderStatus.NEW:
                row.status = OrderStatus.PARTIALLY_FILLED
            row.updated_us = ev.ts_us
            self._orders[order_id] = row

    # positions, from events only: perp fills, liquidation transfers, funding

    def _position(self, account: int, market: str, ts_us: int) -> PositionRow:
        row = self.open_positions.get((account, market))
        if row is None:
            row = PositionRow(self._new_id("positions"), account, market, ts_us)
            self.open_positions[(account, market)] = row
        self._positions[row.id] = row
        return row

    def _settle_position(self, row: PositionRow, ts_us: int) -> None:
        if row.pos.lots == 0:
            row.closed_us = ts_us
            self.open_positions.pop((row.account, row.market), None)

    def _project_perp_fill(self, ev: TradeExecuted) -> None:
        lta = self.lot_tick_atoms[ev.market]
        sign = 1 if ev.taker_side == "Bid" else -1
        taker = self._position(ev.taker_account, ev.market, ev.ts_us)
        maker = self._position(ev.maker_account, ev.market, ev.ts_us)
        taker.fill(sign * ev.lots, ev.price, lta)
        maker.fill(-sign * ev.lots, ev.price, lta)
        taker.fees += ev.taker_fee
        maker.fees += ev.maker_fee
        if ev.taker_account in self.liquidating:
            taker.liquidated = 1
            taker.liquidation_fees += ev.liquidation_fee  # the engine's own figure (TradeExecuted)
        self._settle_position(taker, ev.ts_us)
        if maker is not taker:
            self._settle_position(maker, ev.ts_us)

    def _project_transfer(self, ev: PositionTransferred, ts_us: int) -> None:
        self._transfer_fills(ev, ts_us)
        lta = self.lot_tick_atoms[ev.market]
        row = self._position(ev.account, ev.market, ts_us)
        row.liquidated = 1
        row.fill(-ev.lots, ev.price, lta)
        self._settle_position(row, ts_us)
        row = self._position(ev.counterparty, ev.market, ts_us)
        row.fill(ev.lots, ev.counterparty_price, lta)
        self._settle_position(row, ts_us)

    def _transfer_fills(self, ev: PositionTransferred, ts_us: int) -> None:
        """A backstop or ADL transfer as two fill rows (one trade id): the liquidated account's
        (``is_maker`` 0, at ``price``) and the counterparty's (``is_maker`` 1, at
        ``counterparty_price``). No order (``order_id`` 0) and no fee: the engine charges none on a
        transfer (the price difference is the liquidity fund's)."""
        trade_id = TRANSFER_TRADE_IDS + self._new_id(TRANSFER_COUNTER)
        sells = ev.lots > 0
        lots, quote = abs(ev.lots), self.quote_assets[ev.market]
        for is_maker, account, side, price, liquidated in (
            (0, ev.account, "Ask" if sells else "Bid", ev.price, 1),
            (1, ev.counterparty, "Bid" if sells else "Ask", ev.counterparty_price, 0),
        ):
            fill = (trade_id, is_maker, account, 0, ev.market, side, price, lots, 0, quote, NO_CLIENT_ID, ts_us)
            self._batch.rows["fills"].append((*fill, ev.kind, liquidated))

    def _project_funding(self, ev: FundingPaid) -> None:
        """One market's funding: each holder's share by the engine's own rule (payers' amounts
        rounded up, receivers' down) from the positions this read model has rebuilt."""
        self._batch.funding_rates[(ev.market, ev.hour)] = (ev.market, ev.hour, ev.rate_wad, ev.mark_price)
        unit = ev.mark_price * self.lot_tick_atoms[ev.market]
        funding = self._batch.rows["funding"]
        for (account, market), row in sorted(self.open_positions.items()):
            if market != ev.market or not row.pos.lots:
                continue
            amount = ev.rate_wad * row.pos.lots * unit
            quantity = -ceil_div(amount, WAD) if amount > 0 else -amount // WAD
            row.funding += quantity
            self.settle_sources.add(account, sources.FUNDING, quantity)
            funding.append((self._new_id("funding"), account, market, ev.hour, ev.rate_wad, quantity))
            self._positions[row.id] = row
        # the payers' rounding surplus goes to the liquidity fund (core.perps.funding)
        self.settle_sources.add(self.settle_sources.fund_account, sources.FUNDING, ev.paid - ev.received)
