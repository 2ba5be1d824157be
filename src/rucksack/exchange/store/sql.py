"""The SQL both read stores run: the statements that write a :class:`~.projector.Batch` and the
queries behind the history endpoints, written once with ``?`` placeholders (PostgreSQL's store
numbers them, :func:`numbered`).

Backends differ in how sums are taken: SQLite's ``SUM`` is 64-bit, so its store sums the high and
low 32 bits apart (:func:`wide_sum`, exact because each value fits 64 bits); PostgreSQL's columns
are ``NUMERIC`` and its ``SUM`` is exact at any size. A store says which through ``_sum_sql`` and
``_sum_value``. Every query method is a coroutine (a PostgreSQL query is a round trip the caller's
event loop must not wait on); the two that custody and the reserves export call from synchronous
code (:meth:`SqlReadModels.withdrawal_debited`, :meth:`SqlReadModels.deposit_totals`) block, and
are rare.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from rucksack.exchange.core.events import Event
from rucksack.exchange.store.fill_types import FILL_TYPE_QUERIES, TRANSFER_TRADE_IDS
from rucksack.exchange.store.lending import LendingReadModels
from rucksack.exchange.store.projector import (
    CANDLE_COLUMNS,
    COUNTED,
    FUNDING_RATE_COLUMNS,
    OPEN_STATUSES,
    ORDER_COLUMNS,
    ORDER_MUTABLE,
    POSITION_COLUMNS,
    TABLES,
    TRANSFER_COUNTER,
    UPSERTS,
    Batch,
    Projector,
)

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


@functools.lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (no statement here has a ``?`` in a literal)."""
    counter = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _upsert(table: str, columns: tuple[str, ...], key: str, mutable: tuple[str, ...]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in mutable)
    return f"{_insert(table, columns)} ON CONFLICT ({key}) DO UPDATE SET {updates}"


INSERTS = {table: _insert(table, columns) for table, columns in TABLES.items()}
UPSERT_ORDER = _upsert("orders", ORDER_COLUMNS, "id", ORDER_MUTABLE)
UPSERT_POSITION = _upsert("positions", POSITION_COLUMNS, "id", POSITION_COLUMNS[3:-1])
# a minute already written keeps its open; its high and low widen; the later write's close wins
UPSERT_CANDLE = f"{_insert('price_candles', CANDLE_COLUMNS)} ON CONFLICT (market, kind, bucket) DO UPDATE SET " + (
    "high = CASE WHEN excluded.high > price_candles.high THEN excluded.high ELSE price_candles.high END, "
    "low = CASE WHEN excluded.low < price_candles.low THEN excluded.low ELSE price_candles.low END, "
    "close = excluded.close"
)
UPSERT_FUNDING_RATE = _upsert("funding_rates", FUNDING_RATE_COLUMNS, "market, hour", ("rate_wad", "mark"))
READ_LAST_SEQ = "SELECT value FROM meta WHERE key = 'last_seq'"
WRITE_LAST_SEQ = "UPDATE meta SET value = ? WHERE key = 'last_seq'"
OPEN_ORDERS = f"SELECT * FROM orders WHERE status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"
OPEN_POSITIONS = "SELECT * FROM positions WHERE state = 'Open'"
LIQUIDATING = "SELECT account FROM liquidating WHERE active = 1"
UNSETTLED_SOURCES = "SELECT account, source, amount FROM unsettled_sources WHERE amount <> 0"
MAX_IDS = (
    "SELECT "
    + ", ".join(f"(SELECT COALESCE(MAX(id), 0) FROM {t}) AS {t}" for t in COUNTED)
    + f", (SELECT COALESCE(MAX(trade_id) - {TRANSFER_TRADE_IDS}, 0) FROM fills WHERE trade_id > {TRANSFER_TRADE_IDS})"
    + f" AS {TRANSFER_COUNTER}"
)
UPSERT_SQL = {table: _upsert(table, columns, key, mutable) for table, (columns, key, mutable) in UPSERTS.items()}


def batch_statements(batch: Batch, *, overlap: bool = False) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements (``?`` placeholders) that write ``batch``, each with its rows: one per table
    with rows, in any order (each table's rows are independent of the others'). ``overlap``: part of
    the batch is already in the database (written by the writer before this one, from the same
    journal, so the same rows with the same keys): inserts skip a row whose key is there."""
    skip = " ON CONFLICT DO NOTHING" if overlap else ""
    out: list[tuple[str, list[tuple[Any, ...]]]] = [(INSERTS[t] + skip, rows) for t, rows in batch.rows.items() if rows]
    if batch.orders:
        out.append((UPSERT_ORDER, list(batch.orders.values())))
    if batch.positions:
        out.append((UPSERT_POSITION, list(batch.positions.values())))
    if batch.funding_rates:
        out.append((UPSERT_FUNDING_RATE, list(batch.funding_rates.values())))
    if batch.candles:
        out.append((UPSERT_CANDLE, [(*key, *ohlc) for key, ohlc in batch.candles.items()]))
    out.extend((UPSERT_SQL[table], list(rows.values())) for table, rows in batch.upserts.items() if rows)
    return out


class StoreFenced(RuntimeError):
    """The database's last projected seq is not the one this store continues from: another
    writer projected meanwhile (or the store was rebuilt), so this batch is refused whole."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"read store fenced: it continues from seq {expected} but the database is at {found}")


def _id_in(column: str, ids: Sequence[int] | None) -> str:
    """`` AND <column> IN (?, ...)`` for ``ids`` ('' when None); the ids go in as parameters."""
    return "" if not ids else f" AND {column} IN ({', '.join('?' * len(ids))})"


def _page(ascending: bool) -> str:
    return "ASC" if ascending else "DESC"


class ProjectingState:
    """What both writing stores keep about their projection: the projector (``last_seq``), the
    seq visible to readers, and the failure that stopped it (then ``project`` refuses)."""

    projector: Projector
    _visible: int
    _failed: BaseException | None
    _failed_seq: int

    @property
    def last_seq(self) -> int:
        return self.projector.last_seq

    @property
    def visible_seq(self) -> int:
        return self._visible

    @property
    def failed(self) -> BaseException | None:
        return self._failed

    @property
    def failed_seq(self) -> int:
        return self._failed_seq

    def project(self, seq: int, ts_us: int, events: list[Event]) -> None:
        if self._failed is not None:
            raise RuntimeError("the read model stopped after a projection failure") from self._failed
        self.projector.project(seq, ts_us, events)


class SqlReadModels(LendingReadModels):
    """The read-model queries over either database (subclasses provide ``_fetch``, ``_fetch_now``,
    ``_sum_sql`` and ``_sum_value``); the borrow/lend ones are in ``store.lending``."""

    async def _fetch(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _fetch_now(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _sum_sql(self, expr: str, name: str) -> str:
        raise NotImplementedError

    def _sum_value(self, row: dict[str, Any], name: str) -> int:
        raise NotImplementedError

    async def order_history(
        self,
        account: int,
        *,
        symbol: str | None = None,
        order_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
        order_ids: Sequence[int] | None = None,
    ) -> list[dict[str, Any]]:
        """``order_ids``: only these orders (a strategy's slices); empty: none."""
        if order_ids is not None and not order_ids:
            return []
        sql = "SELECT * FROM orders WHERE account = ?" + _id_in("id", order_ids)
        args: list[Any] = [account, *(order_ids or ())]
        for clause, value in (("market = ?", symbol or None), ("id = ?", order_id)):
            if value is not None:
                sql += " AND " + clause
                args.append(value)
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    async def fills(
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
        order_ids: Sequence[int] | None = None,
        fill_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """``fill_type``: one of Backpack's ``fillType`` values (``fill_types.FILL_TYPE_QUERIES``);
        None: every fill row of the account."""
        if order_ids is not None and not order_ids:
            return []
        sql = "SELECT * FROM fills WHERE account = ?" + _id_in("order_id", order_ids)
        args: list[Any] = [account, *(order_ids or ())]
        if fill_type is not None:
            kinds, liquidated_only = FILL_TYPE_QUERIES[fill_type]
            sql += f" AND fill_type IN ({', '.join('?' * len(kinds))})" + (
                " AND liquidated = 1" if liquidated_only else ""
            )
            args.extend(kinds)
        for clause, value in (
            ("market = ?", symbol),
            ("order_id = ?", order_id),
            ("ts_us >= ?", from_us),
            ("ts_us <= ?", to_us),
        ):
            if value is not None:
                sql += " AND " + clause
                args.append(value)
        direction = _page(ascending)
        sql += f" ORDER BY ts_us {direction}, trade_id {direction} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    async def trades(self, market: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Newest trades first (the caller reverses for display order)."""
        return await self._fetch(
            "SELECT * FROM trades WHERE market = ? ORDER BY id DESC LIMIT ? OFFSET ?", [market, limit, offset]
        )

    async def ticker(self, market: str, since_us: int) -> dict[str, Any]:
        (row,) = await self._fetch(
            f"SELECT COUNT(*) AS n, MIN(price) AS low, MAX(price) AS high, {self._sum_sql('lots', 'lots')},"
            f" {self._sum_sql('lots * price', 'lot_ticks')} FROM trades WHERE market = ? AND ts_us >= ?",
            [market, since_us],
        )
        first = await self._fetch(
            "SELECT price FROM trades WHERE market = ? AND ts_us >= ? ORDER BY id ASC LIMIT 1", [market, since_us]
        )
        last = await self._fetch("SELECT price FROM trades WHERE market = ? ORDER BY id DESC LIMIT 1", [market])
        return {
            "count": row["n"],
            "low": row["low"],
            "high": row["high"],
            "lots": self._sum_value(row, "lots"),
            "lot_ticks": self._sum_value(row, "lot_ticks"),
            "first": first[0]["price"] if first else None,
            "last": last[0]["price"] if last else None,
        }

    async def klines(self, market: str, interval_us: int, start_us: int, end_us: int) -> list[dict[str, Any]]:
        # trade ids grow with time, so a bucket's first and last ids give its open and close
        sql = (
            "WITH b AS (SELECT (ts_us / ?) * ? AS bucket, COUNT(*) AS n, MIN(price) AS low, MAX(price) AS high,"
            f" {self._sum_sql('lots', 'lots')}, {self._sum_sql('lots * price', 'lot_ticks')},"
            " MIN(id) AS first_id, MAX(id) AS last_id"
            " FROM trades WHERE market = ? AND ts_us >= ? AND ts_us < ? GROUP BY bucket)"
            " SELECT b.*, f.price AS open, l.price AS close FROM b"
            " JOIN trades f ON f.id = b.first_id JOIN trades l ON l.id = b.last_id ORDER BY b.bucket"
        )
        rows = await self._fetch(sql, [interval_us, interval_us, market, start_us, end_us])
        for row in rows:
            self._sum_value(row, "lots")
            self._sum_value(row, "lot_ticks")
        return rows

    async def price_klines(
        self, market: str, kind: str, interval_us: int, start_us: int, end_us: int
    ) -> list[dict[str, Any]]:
        # one-minute candles folded into the interval: the first minute's open, the last one's close
        sql = (
            "WITH b AS (SELECT (bucket / ?) * ? AS period, MIN(low) AS low, MAX(high) AS high,"
            " MIN(bucket) AS first_minute, MAX(bucket) AS last_minute FROM price_candles"
            " WHERE market = ? AND kind = ? AND bucket >= ? AND bucket < ? GROUP BY 1)"
            " SELECT b.*, f.open AS open, l.close AS close FROM b"
            " JOIN price_candles f ON f.market = ? AND f.kind = ? AND f.bucket = b.first_minute"
            " JOIN price_candles l ON l.market = ? AND l.kind = ? AND l.bucket = b.last_minute ORDER BY b.period"
        )
        return await self._fetch(
            sql, [interval_us, interval_us, market, kind, start_us, end_us, market, kind, market, kind]
        )

    async def capital(
        self,
        account: int,
        kind: str,
        *,
        from_us: int | None = None,
        to_us: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM capital WHERE account = ? AND kind = ?"
        args: list[Any] = [account, kind]
        for clause, value in (("ts_us >= ?", from_us), ("ts_us <= ?", to_us)):
            if value is not None:
                sql += " AND " + clause
                args.append(value)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    def deposit_totals(self, ref_prefix: str, upto_seq: int) -> dict[str, int]:
        """Atoms deposited per asset with a reference starting ``ref_prefix``, at or before ``upto_seq``."""
        rows = self._fetch_now(
            f"SELECT asset, {self._sum_sql('amount', 'total')} FROM capital"
            " WHERE kind = 'deposit' AND substr(ref, 1, ?) = ? AND seq <= ? GROUP BY asset",
            [len(ref_prefix), ref_prefix, upto_seq],
        )
        return {str(row["asset"]): self._sum_value(row, "total") for row in rows}

    def withdrawal_debited(self, ref: str) -> bool:
        """Whether a withdrawal with reference ``ref`` was debited (its event was projected)."""
        return bool(self._fetch_now("SELECT 1 AS one FROM capital WHERE kind = 'withdrawal' AND ref = ?", [ref]))

    async def subaccounts(self, parent: int) -> dict[int, tuple[str, int]]:
        rows = await self._fetch("SELECT id, label, created_us FROM accounts WHERE parent = ?", [parent])
        return {r["id"]: (r["label"], r["created_us"]) for r in rows}

    async def funding_rates(self, market: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        return await self._fetch(
            "SELECT * FROM funding_rates WHERE market = ? ORDER BY hour DESC LIMIT ? OFFSET ?", [market, limit, offset]
        )

    async def funding_payments(
        self,
        account: int,
        *,
        symbol: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM funding WHERE account = ?"
        args: list[Any] = [account]
        if symbol:
            sql += " AND market = ?"
            args.append(symbol)
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    async def settlements(
        self,
        account: int,
        *,
        sources: tuple[str, ...] | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM settlements WHERE account = ? AND quantity <> 0"
        args: list[Any] = [account]
        if sources is not None:
            sql += f" AND source IN ({', '.join('?' for _ in sources)})"
            args.extend(sources)
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    async def position_history(
        self,
        account: int,
        *,
        symbol: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM positions WHERE account = ?"
        args: list[Any] = [account]
        for clause, value in (("market = ?", symbol), ("state = ?", state)):
            if value is not None:
                sql += " AND " + clause
                args.append(value)
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])
