"""PostgreSQL read models (``rucksack serve --store postgresql://...``): the same rows as the
SQLite store, projected by the same :mod:`.projector`, in a database every gateway can read.

Exact amounts: every price, quantity, fee, amount and rate column is ``NUMERIC`` (never a float);
ids, sequence numbers and times are ``BIGINT``. asyncpg returns ``NUMERIC`` as ``Decimal``; rows
come back with those as ``int`` (every value is integral), so callers see what SQLite gives them.
Sums are PostgreSQL's own ``SUM`` over ``NUMERIC``: exact at any size.

Idempotent by seq: ``meta.last_seq`` is written in each batch's transaction, and a batch is
written only if the row still holds the seq the batch continues from (read ``FOR UPDATE``), so a
replayed command never doubles a row and a second writer (a deposed primary) is refused whole.

Threads: asyncpg runs on this store's own event loop in its own thread (``pg-store``), so the
store works the same before the server's loop exists (recovery at start-up), inside it, and from
any other process's loop (a gateway). The loop thread projects in memory and ``commit`` hands the
frozen batch over without waiting; the writer takes every batch handed over since its last
transaction and writes them as one (a few multi-row statements, not a round trip per event), then
advances ``visible_seq`` and calls ``on_visible``. Queries run on a small pool beside the writer's
connection; a coroutine query awaits its result without blocking the caller's loop.

A hot standby shares the writer's database (``serve --standby --store postgresql://...``, opened
with ``follower=True``): it projects every command it follows in memory, as the writer does, but
writes nothing -- the database is the writer's -- and keeps the batches the database does not hold
yet (trimmed against ``meta.last_seq`` as it goes). When it takes over (``lead``) it writes those
first: a batch the dead writer had written whole is skipped, one it had written in part is written
with its inserts skipping the keys already there. That is safe because both projected the same
stream: a writer releases (projects) a command only once the stream holds it, so the rows, and the
ids the projector gives, are the same whoever wrote them. Any other mismatch is still a fence.

A write that fails (the server gone, a fence) sets ``failed``: nothing more is written, the
service halts writes, and the next start projects again from ``meta.last_seq``. The schema is
created on first use (under an advisory lock, so processes opening it together agree); a database
whose ``schema_version`` differs is emptied and rebuilt from the journal, as SQLite's is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg

from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.store.lending import OPEN_BL_POSITIONS
from rucksack.exchange.store.lending import schema as lending_schema
from rucksack.exchange.store.projector import OPEN_STATUSES, Batch, Loaded, Projector
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
    numbered,
)

SCHEMA_VERSION = 5
SCHEMA_LOCK = 0x7275636B  # pg_advisory_xact_lock key for schema creation ("ruck")
SHADOW_TRIM = 64  # a follower checks which of its batches the writer has written every this many
TABLES = (
    "meta, orders, fills, trades, capital, accounts, funding_rates, funding, settlements, positions, price_candles,"
    " borrow_lend, interest, dust, bl_positions, pool_rates, liquidating, unsettled_sources"
)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE orders (
    id BIGINT PRIMARY KEY, account BIGINT NOT NULL, market TEXT NOT NULL, side TEXT NOT NULL,
    order_type TEXT NOT NULL, price NUMERIC NOT NULL, lots NUMERIC NOT NULL, quote_atoms NUMERIC NOT NULL,
    tif TEXT NOT NULL, post_only SMALLINT NOT NULL, stp TEXT NOT NULL, client_id BIGINT NOT NULL,
    created_us BIGINT NOT NULL, status TEXT NOT NULL, expiry_reason TEXT NOT NULL DEFAULT '',
    filled_lots NUMERIC NOT NULL DEFAULT 0, filled_quote NUMERIC NOT NULL DEFAULT 0, updated_us BIGINT NOT NULL
);
CREATE INDEX orders_by_account ON orders (account, id);
CREATE INDEX orders_open ON orders (status) WHERE status IN ({OPEN_STATUS_LIST});
CREATE TABLE fills (
    trade_id BIGINT NOT NULL, is_maker SMALLINT NOT NULL, account BIGINT NOT NULL, order_id BIGINT NOT NULL,
    market TEXT NOT NULL, side TEXT NOT NULL, price NUMERIC NOT NULL, lots NUMERIC NOT NULL,
    fee NUMERIC NOT NULL, fee_asset TEXT NOT NULL, client_id BIGINT NOT NULL, ts_us BIGINT NOT NULL,
    fill_type TEXT NOT NULL, liquidated SMALLINT NOT NULL,
    PRIMARY KEY (trade_id, is_maker)
);
CREATE INDEX fills_by_account ON fills (account, ts_us);
CREATE TABLE liquidating (account BIGINT PRIMARY KEY, active SMALLINT NOT NULL);
CREATE TABLE trades (
    id BIGINT PRIMARY KEY, market TEXT NOT NULL, price NUMERIC NOT NULL, lots NUMERIC NOT NULL,
    buyer_is_maker SMALLINT NOT NULL, buy_order BIGINT NOT NULL, sell_order BIGINT NOT NULL, ts_us BIGINT NOT NULL
);
CREATE INDEX trades_by_market ON trades (market, ts_us);
CREATE INDEX trades_by_market_id ON trades (market, id);
CREATE TABLE capital (
    id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, account BIGINT NOT NULL, kind TEXT NOT NULL,
    asset TEXT NOT NULL, amount NUMERIC NOT NULL, ref TEXT NOT NULL, ts_us BIGINT NOT NULL
);
CREATE INDEX capital_by_account ON capital (account, kind, id);
CREATE INDEX capital_by_ref ON capital (kind, ref);
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY, parent BIGINT NOT NULL, label TEXT NOT NULL, created_us BIGINT NOT NULL
);
CREATE INDEX accounts_by_parent ON accounts (parent, id);
CREATE TABLE funding_rates (
    market TEXT NOT NULL, hour BIGINT NOT NULL, rate_wad NUMERIC NOT NULL, mark NUMERIC NOT NULL,
    PRIMARY KEY (market, hour)
);
CREATE TABLE funding (
    id BIGINT PRIMARY KEY, account BIGINT NOT NULL, market TEXT NOT NULL, hour BIGINT NOT NULL,
    rate_wad NUMERIC NOT NULL, quantity NUMERIC NOT NULL
);
CREATE INDEX funding_by_account ON funding (account, id);
CREATE TABLE settlements (
    id BIGINT PRIMARY KEY, account BIGINT NOT NULL, quantity NUMERIC NOT NULL,
    realized NUMERIC NOT NULL, ts_us BIGINT NOT NULL, source TEXT NOT NULL
);
CREATE TABLE unsettled_sources (
    account BIGINT NOT NULL, source TEXT NOT NULL, amount NUMERIC NOT NULL, PRIMARY KEY (account, source)
);
CREATE INDEX settlements_by_account ON settlements (account, id);
CREATE TABLE positions (
    id BIGINT PRIMARY KEY, account BIGINT NOT NULL, market TEXT NOT NULL, state TEXT NOT NULL,
    lots NUMERIC NOT NULL, cost NUMERIC NOT NULL, entry_cost NUMERIC NOT NULL, realized NUMERIC NOT NULL,
    funding NUMERIC NOT NULL, fees NUMERIC NOT NULL, liquidation_fees NUMERIC NOT NULL,
    closed_lots NUMERIC NOT NULL, liquidated SMALLINT NOT NULL, closing_price NUMERIC NOT NULL,
    opened_us BIGINT NOT NULL, closed_us BIGINT NOT NULL
);
CREATE INDEX positions_by_account ON positions (account, id);
CREATE INDEX positions_open ON positions (state, market);
CREATE TABLE price_candles (
    market TEXT NOT NULL, kind TEXT NOT NULL, bucket BIGINT NOT NULL,
    open NUMERIC NOT NULL, high NUMERIC NOT NULL, low NUMERIC NOT NULL, close NUMERIC NOT NULL,
    PRIMARY KEY (market, kind, bucket)
);
""" + lending_schema("BIGINT", "NUMERIC", "BIGINT PRIMARY KEY")
SCHEMA = SCHEMA.replace(
    "{OPEN_STATUS_LIST}",
    ", ".join(f"'{status}'" for status in OPEN_STATUSES),  # the projector's open statuses
)

T = TypeVar("T")


def plain(record: asyncpg.Record) -> dict[str, Any]:
    """A row as a dict, ``NUMERIC`` values as the exact integers they are."""
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in record.items()}


class PostgresReadModels(SqlReadModels):
    """The queries alone (what a gateway process holds): a small pool on the store's own thread
    and loop. It never writes and never touches the schema; opened before the writer has created
    the tables, its queries fail until the writer has."""

    def __init__(self, dsn: str, *, readers: int = 4) -> None:
        self.dsn = dsn
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-store", daemon=True)
        self._thread.start()
        try:
            self._call(self._open_pool(readers))
        except BaseException:
            self._stop_loop()
            raise

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the store's loop and wait for it (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _open_pool(self, readers: int) -> None:
        self._pool: asyncpg.Pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=readers)

    async def _shut(self) -> None:
        await self._pool.close()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def close(self) -> None:
        """Close the connections and the thread (again: nothing)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._shut())
        finally:
            self._stop_loop()

    async def _query(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        async with self._pool.acquire() as con:
            return [plain(r) for r in await con.fetch(numbered(sql), *args)]

    async def _fetch(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        future = asyncio.run_coroutine_threadsafe(self._query(sql, args), self._loop)
        return await asyncio.wrap_future(future)

    def _fetch_now(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        return self._call(self._query(sql, args))

    def _sum_sql(self, expr: str, name: str) -> str:
        return f"SUM({expr}) AS {name}"

    def _sum_value(self, row: dict[str, Any], name: str) -> int:
        total = int(row[name] or 0)
        row[name] = total
        return total


class PostgresStore(ProjectingState, PostgresReadModels):
    """The projector's batches written to PostgreSQL by a writer thread, and the queries over it."""

    def __init__(self, dsn: str, spec: ExchangeSpec, *, readers: int = 4, follower: bool = False) -> None:
        self.on_visible: Callable[[], None] | None = None
        self._following = follower  # a hot standby's: the writer writes, this one keeps ``_shadow``
        self._shadow: list[Batch] = []  # following: batches the database may not hold yet
        self._trimming = False
        self._overlap_until = 0  # batches from before the takeover may overlap the old writer's rows
        self._failed: BaseException | None = None
        self._failed_seq = 0
        self._cond = threading.Condition()
        self._pending: list[Batch] = []
        self._writing = False
        self._handed = 0  # the last seq handed to the writer
        self._tasks: set[asyncio.Task[None]] = set()
        super().__init__(dsn, readers=readers)
        try:
            loaded = self._call(self._connect())
        except BaseException:
            super().close()
            raise
        self.projector = Projector(spec, loaded)
        self._visible = self._handed = loaded.last_seq

    # ---------------------------------------------------------------- the store's thread

    async def _connect(self) -> Loaded:
        self._writer: asyncpg.Connection = await asyncpg.connect(self.dsn)
        con = self._writer
        async with con.transaction():
            await con.execute(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
            version = None
            if await con.fetchval("SELECT to_regclass('meta') IS NOT NULL"):
                version = await con.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
            if version != SCHEMA_VERSION:  # new, or another version: (re)built from the journal
                await con.execute("DROP TABLE IF EXISTS " + TABLES)
                await con.execute(SCHEMA)
                await con.execute("INSERT INTO meta VALUES ('schema_version', $1), ('last_seq', 0)", SCHEMA_VERSION)
            last_seq = int(await con.fetchval(READ_LAST_SEQ))
            orders = [plain(r) for r in await con.fetch(OPEN_ORDERS)]
            positions = [plain(r) for r in await con.fetch(OPEN_POSITIONS)]
            max_ids = plain(await con.fetchrow(MAX_IDS))
            lending = [plain(r) for r in await con.fetch(OPEN_BL_POSITIONS)]
            liquidating = [int(r["account"]) for r in await con.fetch(LIQUIDATING)]
            unsettled = [plain(r) for r in await con.fetch(UNSETTLED_SOURCES)]
        return Loaded(last_seq, orders, positions, max_ids, lending, liquidating, unsettled)

    async def _write(self, batch: Batch) -> None:
        con = self._writer
        async with con.transaction():
            found = int(await con.fetchval(READ_LAST_SEQ + " FOR UPDATE"))
            overlap = found != batch.after_seq
            if overlap and not batch.after_seq < min(found, self._overlap_until):
                raise StoreFenced(batch.after_seq, found)
            if found >= batch.last_seq:  # the old writer wrote all of it (taken over: see the docstring)
                return
            for sql, rows in batch_statements(batch, overlap=overlap):
                await con.executemany(numbered(sql), rows)
            await con.execute(numbered(WRITE_LAST_SEQ), batch.last_seq)

    async def _drain(self) -> None:
        """Write every batch handed over, as one transaction per wake-up, until none is left."""
        while True:
            with self._cond:
                if not self._pending or self._failed is not None:
                    self._writing = False
                    self._cond.notify_all()
                    return
                batches, self._pending = self._pending, []
            batch = batches[0]
            for later in batches[1:]:
                batch.merge(later)
            try:
                await self._write(batch)
            except Exception as exc:
                with self._cond:
                    self._failed, self._failed_seq = exc, batch.after_seq + 1
                    self._writing = False
                    self._cond.notify_all()
                self._notify()
                return
            with self._cond:
                self._visible = batch.last_seq
                self._cond.notify_all()
            self._notify()

    def _notify(self) -> None:
        callback = self.on_visible
        if callback is not None:
            callback()

    async def _shut(self) -> None:
        await super()._shut()
        if getattr(self, "_writer", None) is not None:  # None: the connection failed at start
            await self._writer.close()

    # ---------------------------------------------------------------- projection (loop thread)

    def commit(self) -> None:
        """Hand the open batch to the writer (no waiting); it is visible once ``visible_seq`` says so."""
        if self._failed is not None:
            return
        batch = self.projector.take()
        if batch is None:
            return
        with self._cond:
            if self._following:  # the writer writes it; nobody here waits for it
                self._shadow.append(batch)
                self._handed = self._visible = batch.last_seq
                if len(self._shadow) < SHADOW_TRIM or self._trimming:
                    return
                self._trimming = True
                self._loop.call_soon_threadsafe(self._start, self._trim)
                return
            self._pending.append(batch)
            self._handed = batch.last_seq
            if self._writing:
                return  # the writer takes it with whatever else is waiting
            self._writing = True
        self._loop.call_soon_threadsafe(self._start, self._drain)

    def _start(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:  # in the store's thread
        task = self._loop.create_task(job())
        self._tasks.add(task)  # the loop holds tasks weakly: keep it until it is done
        task.add_done_callback(self._tasks.discard)

    async def _trim(self) -> None:
        """Following: forget the batches the writer has written (``meta.last_seq`` covers them)."""
        try:
            found = int(await self._writer.fetchval(READ_LAST_SEQ))
        except Exception:  # kept for now; the next trim (or the takeover) reads it again
            found = 0
        with self._cond:
            self._shadow = [b for b in self._shadow if b.last_seq > found]
            self._trimming = False
            self._cond.notify_all()

    def lead(self) -> None:
        """This process took over as the writer: write what it projected while following that the
        database lacks (blocks for that transaction), then every batch as a writer does."""
        with self._cond:
            if not self._following:
                return
            self._cond.wait_for(lambda: not self._trimming)  # one operation at a time on the connection
            self._following = False
            shadow, self._shadow = self._shadow, []
            if not shadow:
                return
            self._overlap_until = shadow[-1].last_seq
            self._pending = shadow + self._pending
            self._visible = shadow[0].after_seq
            self._writing = True
        self._loop.call_soon_threadsafe(self._start, self._drain)
        self.wait_visible()

    def wait_visible(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._failed is not None or self._visible >= self._handed)

    def abandon(self, exc: BaseException) -> None:
        with self._cond:
            if self._failed is None:
                self._failed, self._failed_seq = exc, self.projector.batch_start
        self.projector.discard()

    def close(self) -> None:
        """Write what was committed, then close the connections and the thread (again: nothing)."""
        if self._closed:
            return
        self.commit()
        self.wait_visible()
        super().close()
