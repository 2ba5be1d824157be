"""SQLite read models: order history, fills, public trades, deposits and withdrawals.

Built only from events (never from engine internals), one transaction per released batch, with
the last projected sequence number stored in the same transaction. The database is therefore
always a consistent prefix of the journal and can be deleted at any time: on start-up the
exchange replays the journal from the newest snapshot at or below ``last_seq`` and feeds the
events after it back into the projector (see ``sequencer.datadir.recover``).

The projector keeps the client id of every open order that has one in memory (``client_ids``,
filled from ``OrderAccepted``, dropped on ``OrderClosed``; reloaded from the open rows of
``orders`` at start-up), so a fill's client id costs no query.

Schema changes bump ``SCHEMA_VERSION``; a database with another version is rebuilt from the
journal. WAL with ``synchronous=NORMAL``: an OS crash may lose the newest read-model rows, never
journal data, and the rebuild covers the gap.

Integers: each value stored fits SQLite's signed 64 bits because the core bounds every price,
quantity and amount (``core.markets``, "Representable bounds"); sums over many rows (volumes,
deposit totals) are taken as two exact partial sums of the high and low 32 bits
(:func:`wide_sum`), so they cannot overflow SQLite's ``SUM``.

A projection that raises is never skipped over: :meth:`ReadStore.abandon` rolls the open batch
back (so ``last_seq`` stays at the last command projected whole) and refuses every later write;
the service then halts writes, and the next start projects again from the journal.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import msgspec

from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.enums import OrderStatus
from rucksack.exchange.core.events import (
    AccountCreated,
    Deposited,
    Event,
    FundingPaid,
    LiquidationEnded,
    LiquidationStarted,
    OrderAccepted,
    OrderClosed,
    PnlSettled,
    PositionTransferred,
    TradeExecuted,
    TriggerAccepted,
    Withdrawn,
)
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.numeric import WAD, ceil_div
from rucksack.exchange.core.perps.position import Position

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, account INTEGER NOT NULL, market TEXT NOT NULL, side TEXT NOT NULL,
    order_type TEXT NOT NULL, price INTEGER NOT NULL, lots INTEGER NOT NULL, quote_atoms INTEGER NOT NULL,
    tif TEXT NOT NULL, post_only INTEGER NOT NULL, stp TEXT NOT NULL, client_id INTEGER NOT NULL,
    created_us INTEGER NOT NULL, status TEXT NOT NULL, expiry_reason TEXT NOT NULL DEFAULT '',
    filled_lots INTEGER NOT NULL DEFAULT 0, filled_quote INTEGER NOT NULL DEFAULT 0, updated_us INTEGER NOT NULL
);
CREATE INDEX orders_by_account ON orders (account, id);
CREATE TABLE fills (
    trade_id INTEGER NOT NULL, is_maker INTEGER NOT NULL, account INTEGER NOT NULL, order_id INTEGER NOT NULL,
    market TEXT NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL, lots INTEGER NOT NULL,
    fee INTEGER NOT NULL, fee_asset TEXT NOT NULL, client_id INTEGER NOT NULL, ts_us INTEGER NOT NULL,
    PRIMARY KEY (trade_id, is_maker)
);
CREATE INDEX fills_by_account ON fills (account, ts_us);
CREATE TABLE trades (
    id INTEGER PRIMARY KEY, market TEXT NOT NULL, price INTEGER NOT NULL, lots INTEGER NOT NULL,
    buyer_is_maker INTEGER NOT NULL, buy_order INTEGER NOT NULL, sell_order INTEGER NOT NULL, ts_us INTEGER NOT NULL
);
CREATE INDEX trades_by_market ON trades (market, ts_us);
CREATE TABLE capital (
    id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL, account INTEGER NOT NULL, kind TEXT NOT NULL,
    asset TEXT NOT NULL, amount INTEGER NOT NULL, ref TEXT NOT NULL, ts_us INTEGER NOT NULL
);
CREATE INDEX capital_by_account ON capital (account, kind, id);
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY, parent INTEGER NOT NULL, label TEXT NOT NULL, created_us INTEGER NOT NULL
);
CREATE INDEX accounts_by_parent ON accounts (parent, id);
CREATE TABLE funding_rates (
    market TEXT NOT NULL, hour INTEGER NOT NULL, rate_wad INTEGER NOT NULL, mark INTEGER NOT NULL,
    PRIMARY KEY (market, hour)
);
CREATE TABLE funding (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account INTEGER NOT NULL, market TEXT NOT NULL, hour INTEGER NOT NULL,
    rate_wad INTEGER NOT NULL, quantity INTEGER NOT NULL
);
CREATE INDEX funding_by_account ON funding (account, id);
CREATE TABLE settlements (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account INTEGER NOT NULL, quantity INTEGER NOT NULL,
    realized INTEGER NOT NULL, ts_us INTEGER NOT NULL
);
CREATE INDEX settlements_by_account ON settlements (account, id);
CREATE TABLE positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account INTEGER NOT NULL, market TEXT NOT NULL, state TEXT NOT NULL,
    lots INTEGER NOT NULL, cost INTEGER NOT NULL, entry_cost INTEGER NOT NULL, realized INTEGER NOT NULL,
    funding INTEGER NOT NULL, fees INTEGER NOT NULL, liquidation_fees INTEGER NOT NULL,
    closed_lots INTEGER NOT NULL, liquidated INTEGER NOT NULL, closing_price INTEGER NOT NULL,
    opened_us INTEGER NOT NULL, closed_us INTEGER NOT NULL
);
CREATE INDEX positions_by_account ON positions (account, id);
CREATE INDEX positions_open ON positions (state, market);
"""

# the columns of ``orders`` that copy the placement: the leading fields of ``PlaceOrder`` up to
# ``client_id``, in its order (the engine refuses to run if that order ever changes), so one
# ``astuple`` slice is the row
PLACED_FIELDS: tuple[str, ...] = PlaceOrder.__struct_fields__[: PlaceOrder.__struct_fields__.index("client_id") + 1]
INSERT_ORDER = (
    f"INSERT INTO orders (id, {', '.join(PLACED_FIELDS)}, created_us, status, updated_us)"
    f" VALUES (?,{'?,' * len(PLACED_FIELDS)}?,'{OrderStatus.NEW}',?)"
    # a trigger that fires keeps its id: its TriggerPending row becomes the order's (created_us kept)
    f" ON CONFLICT(id) DO UPDATE SET status='{OrderStatus.NEW}', updated_us=excluded.updated_us"
)
INSERT_TRIGGER = (  # a pending trigger order has a history row from the start, like any order
    f"INSERT INTO orders (id, {', '.join(PLACED_FIELDS)}, created_us, status, updated_us)"
    f" VALUES (?,{'?,' * len(PLACED_FIELDS)}?,'{OrderStatus.TRIGGER_PENDING}',?)"
)
OPEN_STATUSES = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
WIDE_SHIFT = 32  # wide_sum's split: each partial sum has 2**31 rows of headroom


def wide_sum(expr: str, name: str) -> str:
    """SQL for two exact partial sums of ``expr`` (each row's value fits in 64 bits), named
    ``name_hi`` and ``name_lo``; :func:`join_wide` puts them together."""
    return f"SUM(({expr}) >> {WIDE_SHIFT}) AS {name}_hi, SUM(({expr}) & {(1 << WIDE_SHIFT) - 1}) AS {name}_lo"


def join_wide(row: dict[str, Any], name: str) -> int:
    """Replace ``row``'s two partial sums of ``name`` by the exact total (0 when no rows)."""
    hi, lo = row.pop(f"{name}_hi"), row.pop(f"{name}_lo")
    total = ((hi or 0) << WIDE_SHIFT) + (lo or 0)
    row[name] = total
    return total


NO_CLIENT_ID = -1


def placed_row(order: PlaceOrder) -> tuple[Any, ...]:
    """The ``PLACED_FIELDS`` of a placement, in column order."""
    return msgspec.structs.astuple(order)[: len(PLACED_FIELDS)]


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
        "pos",
        "realized",
    )

    def __init__(self, row_id: int, account: int, market: str) -> None:
        self.id = row_id
        self.account = account
        self.market = market
        self.pos = Position(0)
        self.realized = 0  # PnL of the closed parts: exit notional - entry notional removed
        self.funding = 0
        self.fees = 0
        self.liquidation_fees = 0
        self.closed_lots = 0
        self.liquidated = 0
        self.closing_price = 0
        self.closed_us = 0

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

    def values(self) -> tuple[int, ...]:
        p = self.pos
        return (
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
        )


class ReadStore:
    """The projector (writes) and the queries behind the history endpoints (reads)."""

    def __init__(self, path: Path, spec: ExchangeSpec) -> None:
        self.path = path
        self.base_assets = {m.symbol: m.base for m in spec.markets}
        self.quote_assets = {m.symbol: m.quote for m in spec.markets}
        self.lot_tick_atoms = {m.symbol: m.lot_tick_atoms for m in spec.markets}
        self.perps = {m.symbol for m in spec.markets if m.market_type == "PERP"}
        self.db = self._open()
        self._dirty = False
        self.failed: BaseException | None = None  # set by abandon(): no more writes
        self.liquidating: set[int] = set()
        # order id -> client id, for every open order that has one (so fills need no query)
        self.client_ids: dict[int, int] = dict(
            self.db.execute(
                "SELECT id, client_id FROM orders WHERE status IN (?, ?) AND client_id >= 0", OPEN_STATUSES
            ).fetchall()
        )
        # open positions, (account, market) -> row: kept in memory, written through on every change
        self.open_positions: dict[tuple[int, str], PositionRow] = {}
        for r in self._rows("SELECT * FROM positions WHERE state='Open'", []):
            row = PositionRow(r["id"], r["account"], r["market"])
            row.pos.lots, row.pos.cost, row.pos.entry_cost = r["lots"], r["cost"], r["entry_cost"]
            for name in POSITION_FIELDS[3:]:
                setattr(row, name, r[name])
            self.open_positions[(row.account, row.market)] = row

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = None
        try:
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = row[0] if row else None
        except sqlite3.DatabaseError:
            version = None
        if version != SCHEMA_VERSION:
            db.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?), ('last_seq', 0)", (SCHEMA_VERSION,))
        return db

    @property
    def last_seq(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='last_seq'").fetchone()
        return int(row[0])

    # ---------------------------------------------------------------- projection

    def project(self, seq: int, ts_us: int, events: list[Event]) -> None:
        """Apply one command's events (inside the open batch transaction)."""
        if self.failed is not None:
            raise RuntimeError("the read model was abandoned after a projection failure") from self.failed
        db = self.db
        if not self._dirty:
            db.execute("BEGIN")
            self._dirty = True
        for ev in events:
            if isinstance(ev, OrderAccepted):
                o = ev.order
                db.execute(INSERT_ORDER, (ev.order_id, *placed_row(o), ev.ts_us, ev.ts_us))
                if o.client_id >= 0:
                    self.client_ids[ev.order_id] = o.client_id
            elif isinstance(ev, TriggerAccepted):
                db.execute(INSERT_TRIGGER, (ev.order_id, *placed_row(ev.order), ev.ts_us, ev.ts_us))
            elif isinstance(ev, TradeExecuted):
                self._project_trade(ev)
                if ev.market in self.perps:
                    self._project_perp_fill(ev)
            elif isinstance(ev, OrderClosed):
                self.client_ids.pop(ev.order_id, None)
                db.execute(
                    "UPDATE orders SET status=?, expiry_reason=?, filled_lots=?, filled_quote=?, updated_us=?"
                    " WHERE id=?",
                    (ev.status, ev.reason, ev.filled_lots, ev.filled_quote_atoms, ts_us, ev.order_id),
                )
            elif isinstance(ev, Deposited):
                db.execute(
                    "INSERT INTO capital (seq, account, kind, asset, amount, ref, ts_us) VALUES (?,?,?,?,?,?,?)",
                    (seq, ev.account, "deposit", ev.asset, ev.amount, ev.tx_id, ts_us),
                )
            elif isinstance(ev, Withdrawn):
                db.execute(
                    "INSERT INTO capital (seq, account, kind, asset, amount, ref, ts_us) VALUES (?,?,?,?,?,?,?)",
                    (seq, ev.account, "withdrawal", ev.asset, ev.amount, ev.request_id, ts_us),
                )
            elif isinstance(ev, AccountCreated):
                db.execute("INSERT INTO accounts VALUES (?,?,?,?)", (ev.account, ev.parent, ev.label, ts_us))
            elif isinstance(ev, FundingPaid):
                self._project_funding(ev)
            elif isinstance(ev, PnlSettled):
                if ev.paid or ev.realized:
                    db.execute(
                        "INSERT INTO settlements (account, quantity, realized, ts_us) VALUES (?,?,?,?)",
                        (ev.account, ev.paid, ev.realized, ts_us),
                    )
            elif isinstance(ev, PositionTransferred):
                lta = self.lot_tick_atoms[ev.market]
                row = self._position(ev.account, ev.market, ts_us)
                row.liquidated = 1
                row.fill(-ev.lots, ev.price, lta)
                self._save_position(row, ts_us)
                row = self._position(ev.counterparty, ev.market, ts_us)
                row.fill(ev.lots, ev.counterparty_price, lta)
                self._save_position(row, ts_us)
            elif isinstance(ev, LiquidationStarted):
                self.liquidating.add(ev.account)
            elif isinstance(ev, LiquidationEnded):
                self.liquidating.discard(ev.account)
        db.execute("UPDATE meta SET value=? WHERE key='last_seq'", (seq,))

    # positions, from events only: perp fills, liquidation transfers, funding

    def _position(self, account: int, market: str, ts_us: int) -> PositionRow:
        row = self.open_positions.get((account, market))
        if row is None:
            cur = self.db.execute(
                "INSERT INTO positions (account, market, state, lots, cost, entry_cost, realized, funding, fees,"
                " liquidation_fees, closed_lots, liquidated, closing_price, opened_us, closed_us)"
                " VALUES (?,?,'Open',0,0,0,0,0,0,0,0,0,0,?,0)",
                (account, market, ts_us),
            )
            row = PositionRow(int(cur.lastrowid or 0), account, market)
            self.open_positions[(account, market)] = row
        return row

    def _save_position(self, row: PositionRow, ts_us: int) -> None:
        closed = row.pos.lots == 0
        if closed:
            row.closed_us = ts_us
            del self.open_positions[(row.account, row.market)]
        self.db.execute(
            "UPDATE positions SET " + ", ".join(f"{f}=?" for f in POSITION_FIELDS) + ", state=? WHERE id=?",
            (*row.values(), "Closed" if closed else "Open", row.id),
        )

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
        self._save_position(taker, ev.ts_us)
        if maker is not taker:
            self._save_position(maker, ev.ts_us)

    def _project_funding(self, ev: FundingPaid) -> None:
        """One market's funding: each holder's share by the engine's own rule (payers' amounts
        rounded up, receivers' down) from the positions this read model has rebuilt."""
        db = self.db
        db.execute(
            "INSERT OR REPLACE INTO funding_rates VALUES (?,?,?,?)", (ev.market, ev.hour, ev.rate_wad, ev.mark_price)
        )
        unit = ev.mark_price * self.lot_tick_atoms[ev.market]
        for (account, market), row in sorted(self.open_positions.items()):
            if market != ev.market or not row.pos.lots:
                continue
            amount = ev.rate_wad * row.pos.lots * unit
            quantity = -ceil_div(amount, WAD) if amount > 0 else -amount // WAD
            row.funding += quantity
            db.execute(
                "INSERT INTO funding (account, market, hour, rate_wad, quantity) VALUES (?,?,?,?,?)",
                (account, market, ev.hour, ev.rate_wad, quantity),
            )
            db.execute("UPDATE positions SET funding=? WHERE id=?", (row.funding, row.id))

    def _project_trade(self, ev: TradeExecuted) -> None:
        db = self.db
        taker_buys = ev.taker_side == "Bid"
        base, quote = self.base_assets[ev.market], self.quote_assets[ev.market]
        buy_order, sell_order = (
            (ev.taker_order_id, ev.maker_order_id) if taker_buys else (ev.maker_order_id, ev.taker_order_id)
        )
        db.execute(
            "INSERT INTO trades VALUES (?,?,?,?,?,?,?,?)",
            (ev.trade_id, ev.market, ev.price, ev.lots, int(not taker_buys), buy_order, sell_order, ev.ts_us),
        )
        client_ids = self.client_ids
        maker_side = "Ask" if taker_buys else "Bid"
        for is_maker, account, order_id, side, fee in (
            (0, ev.taker_account, ev.taker_order_id, ev.taker_side, ev.taker_fee),
            (1, ev.maker_account, ev.maker_order_id, maker_side, ev.maker_fee),
        ):
            db.execute(
                "INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    ev.trade_id,
                    is_maker,
                    account,
                    order_id,
                    ev.market,
                    side,
                    ev.price,
                    ev.lots,
                    fee,
                    base if side == "Bid" and ev.market not in self.perps else quote,
                    client_ids.get(order_id, NO_CLIENT_ID),
                    ev.ts_us,
                ),
            )
        for order_id in (ev.taker_order_id, ev.maker_order_id):
            db.execute(
                "UPDATE orders SET filled_lots = filled_lots + ?, filled_quote = filled_quote + ?, status = CASE"
                f" WHEN status = '{OrderStatus.NEW}' THEN '{OrderStatus.PARTIALLY_FILLED}' ELSE status END,"
                " updated_us=? WHERE id=?",
                (ev.lots, ev.lots * ev.price * self.lot_tick_atoms[ev.market], ev.ts_us, order_id),
            )

    def abandon(self, exc: BaseException) -> None:
        """A projection failed: roll the open batch back and refuse every later write, so the
        database stays a prefix of the journal (the next start projects the rest again)."""
        self.failed = exc
        if self._dirty:
            self._dirty = False
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (disk full)
                self.db.execute("ROLLBACK")

    def commit(self) -> None:
        if self._dirty and self.failed is None:
            self.db.execute("COMMIT")
            self._dirty = False

    def close(self) -> None:
        self.commit()
        self.db.close()

    # ---------------------------------------------------------------- queries

    def order_history(
        self,
        account: int,
        *,
        symbol: str | None = None,
        order_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM orders WHERE account=?"
        args: list[Any] = [account]
        if symbol:
            sql += " AND market=?"
            args.append(symbol)
        if order_id is not None:
            sql += " AND id=?"
            args.append(order_id)
        sql += f" ORDER BY id {'ASC' if ascending else 'DESC'} LIMIT ? OFFSET ?"
        args += [limit, offset]
        return self._rows(sql, args)

    def fills(
        self,
        account: int,
        *,
        symbol: str | None = None,
        order_id: int | None = None,
        from_us: int | None = None,
        to_us: int | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM fills WHERE account=?"
        args: list[Any] = [account]
        for clause, value in (
            ("market=?", symbol),
            ("order_id=?", order_id),
            ("ts_us>=?", from_us),
            ("ts_us<=?", to_us),
        ):
            if value is not None:
                sql += " AND " + clause
                args.append(value)
        direction = "ASC" if ascending else "DESC"
        sql += f" ORDER BY ts_us {direction}, trade_id {direction} LIMIT ? OFFSET ?"
        args += [limit, offset]
        return self._rows(sql, args)

    def trades(self, market: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Newest trades first (the caller reverses for display order)."""
        return self._rows(
            "SELECT * FROM trades WHERE market=? ORDER BY id DESC LIMIT ? OFFSET ?", [market, limit, offset]
        )

    def ticker(self, market: str, since_us: int) -> dict[str, Any]:
        row = self._rows(
            f"SELECT COUNT(*) AS n, MIN(price) AS low, MAX(price) AS high, {wide_sum('lots', 'lots')},"
            f" {wide_sum('lots * price', 'lot_ticks')} FROM trades WHERE market=? AND ts_us>=?",
            (market, since_us),
        )[0]
        first = self.db.execute(
            "SELECT price FROM trades WHERE market=? AND ts_us>=? ORDER BY id ASC LIMIT 1", (market, since_us)
        ).fetchone()
        last = self.db.execute("SELECT price FROM trades WHERE market=? ORDER BY id DESC LIMIT 1", (market,)).fetchone()
        return {
            "count": row["n"],
            "low": row["low"],
            "high": row["high"],
            "lots": join_wide(row, "lots"),
            "lot_ticks": join_wide(row, "lot_ticks"),
            "first": first[0] if first else None,
            "last": last[0] if last else None,
        }

    def klines(self, market: str, interval_us: int, start_us: int, end_us: int) -> list[dict[str, Any]]:
        # trade ids grow with time, so a bucket's first and last ids give its open and close
        sql = (
            "WITH b AS (SELECT (ts_us / :iv) * :iv AS bucket, COUNT(*) AS n, MIN(price) AS low, MAX(price) AS high,"
            f" {wide_sum('lots', 'lots')}, {wide_sum('lots * price', 'lot_ticks')},"
            " MIN(id) AS first_id, MAX(id) AS last_id"
            " FROM trades WHERE market = :m AND ts_us >= :s AND ts_us < :e GROUP BY bucket)"
            " SELECT b.*, f.price AS open, l.price AS close FROM b"
            " JOIN trades f ON f.id = b.first_id JOIN trades l ON l.id = b.last_id ORDER BY b.bucket"
        )
        rows = self._rows(sql, {"iv": interval_us, "m": market, "s": start_us, "e": end_us})
        for row in rows:
            join_wide(row, "lots")
            join_wide(row, "lot_ticks")
        return rows

    def capital(
        self,
        account: int,
        kind: str,
        *,
        from_us: int | None = None,
        to_us: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM capital WHERE account=? AND kind=?"
        args: list[Any] = [account, kind]
        if from_us is not None:
            sql += " AND ts_us>=?"
            args.append(from_us)
        if to_us is not None:
            sql += " AND ts_us<=?"
            args.append(to_us)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        args += [limit, offset]
        return self._rows(sql, args)

    def deposit_totals(self, ref_prefix: str, upto_seq: int) -> dict[str, int]:
        """Atoms deposited per asset with a reference starting ``ref_prefix``, at or before ``upto_seq``."""
        rows = self._rows(
            f"SELECT asset, {wide_sum('amount', 'total')} FROM capital"
            " WHERE kind='deposit' AND substr(ref, 1, ?) = ? AND seq <= ? GROUP BY asset",
            (len(ref_prefix), ref_prefix, upto_seq),
        )
        return {str(row["asset"]): join_wide(row, "total") for row in rows}

    def withdrawal_debited(self, ref: str) -> bool:
        """Whether a withdrawal with reference ``ref`` was debited (its event was projected)."""
        return bool(self._rows("SELECT 1 FROM capital WHERE kind='withdrawal' AND ref=?", [ref]))

    def subaccounts(self, parent: int) -> dict[int, tuple[str, int]]:
        rows = self._rows("SELECT id, label, created_us FROM accounts WHERE parent=?", [parent])
        return {r["id"]: (r["label"], r["created_us"]) for r in rows}

    def funding_rates(self, market: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT * FROM funding_rates WHERE market=? ORDER BY hour DESC LIMIT ? OFFSET ?", [market, limit, offset]
        )

    def funding_payments(
        self,
        account: int,
        *,
        symbol: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM funding WHERE account=?"
        args: list[Any] = [account]
        if symbol:
            sql += " AND market=?"
            args.append(symbol)
        sql += f" ORDER BY id {'ASC' if ascending else 'DESC'} LIMIT ? OFFSET ?"
        return self._rows(sql, [*args, limit, offset])

    def settlements(
        self, account: int, *, limit: int = 100, offset: int = 0, ascending: bool = False
    ) -> list[dict[str, Any]]:
        sql = f"SELECT * FROM settlements WHERE account=? ORDER BY id {'ASC' if ascending else 'DESC'} LIMIT ? OFFSET ?"
        return self._rows(sql, [account, limit, offset])

    def position_history(
        self,
        account: int,
        *,
        symbol: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM positions WHERE account=?"
        args: list[Any] = [account]
        for clause, value in (("market=?", symbol), ("state=?", state)):
            if value is not None:
                sql += " AND " + clause
                args.append(value)
        sql += f" ORDER BY id {'ASC' if ascending else 'DESC'} LIMIT ? OFFSET ?"
        return self._rows(sql, [*args, limit, offset])

    def _rows(self, sql: str, args: Any) -> list[dict[str, Any]]:
        cur = self.db.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
