"""SQLite read models (the embedded default): order history, fills, public trades, capital,
subaccounts, funding, settlements and positions.

Built only from events (never from engine internals) by the shared :mod:`.projector`; each released
group is one transaction, with the last projected sequence number stored in the same transaction.
The database is therefore always a consistent prefix of the journal and can be deleted at any time:
on start-up the exchange replays the journal from the newest snapshot at or below ``last_seq`` and
feeds the events after it back into the projector (see ``sequencer.datadir.recover``).

Schema changes bump ``SCHEMA_VERSION``; a database with another version is rebuilt from the
journal. WAL with ``synchronous=NORMAL``: an OS crash may lose the newest read-model rows, never
journal data, and the rebuild covers the gap. A commit is visible at once (``visible_seq``).

Integers: each value stored fits SQLite's signed 64 bits because the core bounds every price,
quantity and amount (``core.markets``, "Representable bounds"); sums over many rows (volumes,
deposit totals) are taken as two exact partial sums of the high and low 32 bits
(:func:`~.sql.wide_sum`), so they cannot overflow SQLite's ``SUM``.

A batch that fails to write is never skipped over: it is rolled back (so ``last_seq`` in the
database stays at the last command projected whole), ``failed`` is set and every later write is
refused; the service then halts writes, and the next start projects again from the journal.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.store.lending import OPEN_BL_POSITIONS
from rucksack.exchange.store.lending import schema as lending_schema
from rucksack.exchange.store.projector import Loaded, Projector
from rucksack.exchange.store.sql import (
    LIQUIDATING,
    MAX_IDS,
    OPEN_ORDERS,
    OPEN_POSITIONS,
    READ_LAST_SEQ,
    UNSETTLED_SOURCES,
    WRITE_LAST_SEQ,
    ProjectingState,
    SqlReadModels,
    StoreFenced,
    batch_statements,
    join_wide,
    wide_sum,
)

SCHEMA_VERSION = 6

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
    fill_type TEXT NOT NULL, liquidated INTEGER NOT NULL,
    PRIMARY KEY (trade_id, is_maker)
);
CREATE INDEX fills_by_account ON fills (account, ts_us);
CREATE TABLE liquidating (account INTEGER PRIMARY KEY, active INTEGER NOT NULL);
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
    realized INTEGER NOT NULL, ts_us INTEGER NOT NULL, source TEXT NOT NULL
);
CREATE TABLE unsettled_sources (
    account INTEGER NOT NULL, source TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (account, source)
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
CREATE TABLE price_candles (
    market TEXT NOT NULL, kind TEXT NOT NULL, bucket INTEGER NOT NULL,
    open INTEGER NOT NULL, high INTEGER NOT NULL, low INTEGER NOT NULL, close INTEGER NOT NULL,
    PRIMARY KEY (market, kind, bucket)
);
""" + lending_schema("INTEGER", "INTEGER", "INTEGER PRIMARY KEY")


class SqliteReadModels(SqlReadModels):
    """The queries alone, over a read-only connection (what a reader in another process holds; WAL
    lets it read while the writer writes)."""

    def __init__(self, path: Path, db: sqlite3.Connection | None = None) -> None:
        self.path = path
        self.db = db or sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        self._closed = False

    def close(self) -> None:
        """Close the file (again: nothing)."""
        if not self._closed:
            self._closed = True
            self.db.close()

    async def _fetch(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        return self._rows(sql, args)

    def _fetch_now(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        return self._rows(sql, args)

    def _sum_sql(self, expr: str, name: str) -> str:
        return wide_sum(expr, name)

    def _sum_value(self, row: dict[str, Any], name: str) -> int:
        return join_wide(row, name)

    def _rows(self, sql: str, args: Any) -> list[dict[str, Any]]:
        cur = self.db.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


class SqliteStore(ProjectingState, SqliteReadModels):
    """The projector's batches written to one SQLite file, and the queries over it."""

    def __init__(self, path: Path, spec: ExchangeSpec) -> None:
        super().__init__(path, self._open(path))
        self.on_visible: Callable[[], None] | None = None
        self._failed: BaseException | None = None
        self._failed_seq = 0
        last_seq = int(self.db.execute(READ_LAST_SEQ).fetchone()[0])
        (max_ids,) = self._rows(MAX_IDS, [])
        self.projector = Projector(
            spec,
            Loaded(
                last_seq,
                self._rows(OPEN_ORDERS, []),
                self._rows(OPEN_POSITIONS, []),
                max_ids,
                self._rows(OPEN_BL_POSITIONS, []),
                [r["account"] for r in self._rows(LIQUIDATING, [])],
                self._rows(UNSETTLED_SOURCES, []),
            ),
        )
        self._visible = last_seq

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
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
                Path(str(path) + suffix).unlink(missing_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?), ('last_seq', 0)", (SCHEMA_VERSION,))
        return db

    @property
    def client_ids(self) -> dict[int, int]:
        return self.projector.client_ids

    # ---------------------------------------------------------------- projection

    def commit(self) -> None:
        if self._failed is not None:
            return
        batch = self.projector.take()
        if batch is None:
            return
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            found = int(db.execute(READ_LAST_SEQ).fetchone()[0])
            if found != batch.after_seq:
                raise StoreFenced(batch.after_seq, found)
            for sql, rows in batch_statements(batch):
                db.executemany(sql, rows)
            db.execute(WRITE_LAST_SEQ, (batch.last_seq,))
            db.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (disk full)
                db.execute("ROLLBACK")
            self._failed, self._failed_seq = exc, batch.after_seq + 1
            return
        self._visible = batch.last_seq

    def wait_visible(self) -> None:
        """Nothing to wait for: a commit is visible when ``commit`` returns."""

    def lead(self) -> None:
        """Nothing to do: this file is this process's own (a standby writes it while following)."""

    def abandon(self, exc: BaseException) -> None:
        """A projection failed: drop the open batch and refuse every later write, so the database
        stays a prefix of the journal (the next start projects the rest again)."""
        if self._failed is None:
            self._failed, self._failed_seq = exc, self.projector.batch_start
        self.projector.discard()

    def close(self) -> None:
        """Write the open batch and close the file (again: nothing)."""
        if not self._closed:
            self.commit()
            super().close()


ReadStore = SqliteStore  # the name other modules and older tests know it by
