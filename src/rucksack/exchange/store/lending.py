"""Borrow/lend read models: movements, interest payments, positions, pool rates and dust
conversions, projected from the engine's events the same way on every backend.

Tables (amounts are exact integers: atoms of the row's asset, rates in WAD):

- ``borrow_lend`` (append-only): one row per ``BorrowLendExecuted`` -- Backpack's
  ``history/borrowLend`` (event type, source, quantity, the position it moved and its net quantity
  afterwards);
- ``interest`` (append-only): one row per ``InterestPaid`` -- every hourly accrual of every
  position and every borrow's entry fee (``history/interest``); signed: > 0 earned, < 0 paid;
- ``bl_positions`` (upserted by id): one row per position's life, opened when an account's net
  position in an asset leaves 0 and closed when it returns to 0 (``history/borrowLend/positions``).
  ``quantity`` is the net position (> 0 lent, < 0 borrowed) after the last movement or accrual,
  ``cumulative_interest`` the sum of its interest rows, ``rate_sum_ppb``/``payments`` the sum and
  count of the APRs of its hourly accruals (parts per billion, each rounded down) for the average;
- ``pool_rates`` (upserted by asset and hour): each pool's totals, APRs and utilization as each hour
  closed (``InterestAccrued``), for ``borrowLend/markets/history``;
- ``dust`` (append-only): one row per ``DustConverted`` (``history/dust``).

Ids come from the projector's counters (``Projector.new_id``): the same journal gives the same ids
on every backend. A position's state follows the ``net`` each event carries, so a movement that
lands exactly on 0 closes it, and the next one opens a new position with a new id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rucksack.exchange.core.events import BorrowLendExecuted, DustConverted, InterestAccrued, InterestPaid

PPB = 10**9  # WAD / PPB: a rate's parts per billion

TABLES: dict[str, tuple[str, ...]] = {
    "borrow_lend": (
        "id",
        "account",
        "kind",
        "source",
        "asset",
        "quantity",
        "position_id",
        "position_quantity",
        "ts_us",
    ),
    "interest": ("id", "account", "asset", "position_id", "payment_type", "rate_wad", "quantity", "hour", "ts_us"),
    "dust": ("id", "account", "asset", "quantity", "usdc", "ts_us"),
}
BL_POSITION_COLUMNS = (
    "id",
    "account",
    "asset",
    "side",
    "state",
    "quantity",
    "source",
    "cumulative_interest",
    "rate_sum_ppb",
    "payments",
    "created_us",
    "updated_us",
    "closed_us",
)
POOL_RATE_COLUMNS = ("asset", "hour", "borrowed", "lent", "borrow_apr", "lend_apr", "utilization")
COUNTED = ("borrow_lend", "interest", "dust", "bl_positions")
OPEN_BL_POSITIONS = "SELECT * FROM bl_positions WHERE state = 'Open'"
# upserted tables: (columns, conflict key, columns an update changes)
UPSERTS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "bl_positions": (BL_POSITION_COLUMNS, "id", BL_POSITION_COLUMNS[3:-3] + BL_POSITION_COLUMNS[-2:]),
    "pool_rates": (POOL_RATE_COLUMNS, "asset, hour", POOL_RATE_COLUMNS[2:]),
}


def schema(integer: str, amount: str, key: str) -> str:
    """The tables' DDL: ``integer`` for ids and times, ``amount`` for atoms and rates (SQLite:
    INTEGER; PostgreSQL: BIGINT and exact NUMERIC), ``key`` an id column's type."""
    return f"""
CREATE TABLE borrow_lend (
    id {key}, account {integer} NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, asset TEXT NOT NULL,
    quantity {amount} NOT NULL, position_id {integer} NOT NULL, position_quantity {amount} NOT NULL,
    ts_us {integer} NOT NULL
);
CREATE INDEX borrow_lend_by_account ON borrow_lend (account, id);
CREATE TABLE interest (
    id {key}, account {integer} NOT NULL, asset TEXT NOT NULL, position_id {integer} NOT NULL,
    payment_type TEXT NOT NULL, rate_wad {amount} NOT NULL, quantity {amount} NOT NULL, hour {integer} NOT NULL,
    ts_us {integer} NOT NULL
);
CREATE INDEX interest_by_account ON interest (account, id);
CREATE TABLE dust (
    id {key}, account {integer} NOT NULL, asset TEXT NOT NULL, quantity {amount} NOT NULL,
    usdc {amount} NOT NULL, ts_us {integer} NOT NULL
);
CREATE INDEX dust_by_account ON dust (account, id);
CREATE TABLE bl_positions (
    id {key}, account {integer} NOT NULL, asset TEXT NOT NULL, side TEXT NOT NULL, state TEXT NOT NULL,
    quantity {amount} NOT NULL, source TEXT NOT NULL, cumulative_interest {amount} NOT NULL,
    rate_sum_ppb {amount} NOT NULL, payments {integer} NOT NULL, created_us {integer} NOT NULL,
    updated_us {integer} NOT NULL, closed_us {integer} NOT NULL
);
CREATE INDEX bl_positions_by_account ON bl_positions (account, id);
CREATE INDEX bl_positions_open ON bl_positions (state, account, asset);
CREATE TABLE pool_rates (
    asset TEXT NOT NULL, hour {integer} NOT NULL, borrowed {amount} NOT NULL, lent {amount} NOT NULL,
    borrow_apr {amount} NOT NULL, lend_apr {amount} NOT NULL, utilization {amount} NOT NULL,
    PRIMARY KEY (asset, hour)
);
"""


class BlPosition:
    """One borrow/lend position's row while it is open."""

    __slots__ = (
        "account",
        "asset",
        "closed_us",
        "created_us",
        "id",
        "interest",
        "payments",
        "quantity",
        "rate_sum_ppb",
        "side",
        "source",
        "updated_us",
    )

    def __init__(self, row_id: int, account: int, asset: str, source: str, ts_us: int) -> None:
        self.id = row_id
        self.side = "Lend"
        self.account = account
        self.asset = asset
        self.source = source
        self.quantity = 0
        self.interest = 0
        self.rate_sum_ppb = 0
        self.payments = 0
        self.created_us = self.updated_us = ts_us
        self.closed_us = 0

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> BlPosition:
        row = cls(r["id"], r["account"], r["asset"], r["source"], r["created_us"])
        row.side = r["side"]
        row.quantity, row.interest = r["quantity"], r["cumulative_interest"]
        row.rate_sum_ppb, row.payments, row.updated_us = r["rate_sum_ppb"], r["payments"], r["updated_us"]
        return row

    def values(self) -> tuple[Any, ...]:
        state = "Closed" if self.closed_us else "Open"
        return (
            self.id,
            self.account,
            self.asset,
            self.side,
            state,
            self.quantity,
            self.source,
            self.interest,
            self.rate_sum_ppb,
            self.payments,
            self.created_us,
            self.updated_us,
            self.closed_us,
        )


class LendingProjection:
    """The projector's borrow/lend half: events in, rows into the open batch's tables."""

    def __init__(self, open_rows: list[dict[str, Any]], new_id: Callable[[str], int]) -> None:
        self.new_id = new_id
        self.open: dict[tuple[int, str], BlPosition] = {}
        for r in open_rows:
            pos = BlPosition.from_row(r)
            self.open[(pos.account, pos.asset)] = pos

    def project(
        self,
        ev: BorrowLendExecuted | InterestPaid | InterestAccrued | DustConverted,
        ts_us: int,
        rows: dict[str, list[tuple[Any, ...]]],
        upserts: dict[str, dict[Any, tuple[Any, ...]]],
    ) -> None:
        if isinstance(ev, BorrowLendExecuted):
            self._moved(ev, ts_us, rows, upserts)
        elif isinstance(ev, InterestPaid):
            self._interest(ev, ts_us, rows, upserts)
        elif isinstance(ev, InterestAccrued):
            upserts["pool_rates"][(ev.asset, ev.hour)] = (
                ev.asset,
                ev.hour,
                ev.borrowed,
                ev.lent,
                ev.borrow_apr,
                ev.lend_apr,
                ev.utilization,
            )
        else:
            rows["dust"].append((self.new_id("dust"), ev.account, ev.asset, ev.quantity, ev.usdc, ts_us))

    def _moved(
        self,
        ev: BorrowLendExecuted,
        ts_us: int,
        rows: dict[str, list[tuple[Any, ...]]],
        upserts: dict[str, dict[Any, tuple[Any, ...]]],
    ) -> None:
        key = (ev.account, ev.asset)
        pos = self.open.get(key)
        if pos is not None and ev.net and (pos.side == "Lend") != (ev.net > 0):  # turned over: a new position
            self._close(pos, ts_us, upserts)
            pos = None
        if pos is None and ev.net:
            pos = self.open[key] = BlPosition(self.new_id("bl_positions"), ev.account, ev.asset, ev.source, ts_us)
            pos.side = "Lend" if ev.net > 0 else "Borrow"
        position_id = pos.id if pos is not None else 0
        rows["borrow_lend"].append(
            (
                self.new_id("borrow_lend"),
                ev.account,
                ev.kind,
                ev.source,
                ev.asset,
                ev.amount,
                position_id,
                ev.net,
                ts_us,
            )
        )
        if pos is None:
            return
        pos.quantity, pos.updated_us = ev.net, ts_us
        if ev.net:
            upserts["bl_positions"][pos.id] = pos.values()
        else:
            self._close(pos, ts_us, upserts)

    def _close(self, pos: BlPosition, ts_us: int, upserts: dict[str, dict[Any, tuple[Any, ...]]]) -> None:
        pos.closed_us = ts_us
        self.open.pop((pos.account, pos.asset), None)
        upserts["bl_positions"][pos.id] = pos.values()

    def _interest(
        self,
        ev: InterestPaid,
        ts_us: int,
        rows: dict[str, list[tuple[Any, ...]]],
        upserts: dict[str, dict[Any, tuple[Any, ...]]],
    ) -> None:
        pos = self.open.get((ev.account, ev.asset))
        position_id = pos.id if pos is not None else 0
        rows["interest"].append(
            (
                self.new_id("interest"),
                ev.account,
                ev.asset,
                position_id,
                ev.payment_type,
                ev.rate_wad,
                ev.quantity,
                ev.hour,
                ts_us,
            )
        )
        if pos is None:
            return
        pos.interest += ev.quantity
        if ev.payment_type != "EntryFee":  # the entry fee is in the borrow's own net already
            pos.quantity += ev.quantity
            pos.rate_sum_ppb += ev.rate_wad // PPB
            pos.payments += 1
        pos.updated_us = ts_us
        upserts["bl_positions"][pos.id] = pos.values()


def _page(ascending: bool) -> str:
    return "ASC" if ascending else "DESC"


def _where(base: str, args: list[Any], filters: tuple[tuple[str, Any], ...]) -> str:
    for clause, value in filters:
        if value is not None:
            base += " AND " + clause
            args.append(value)
    return base


class LendingReadModels:
    """The borrow/lend queries (mixed into ``SqlReadModels``, which provides ``_fetch``)."""

    async def _fetch(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def borrow_lend_history(
        self,
        account: int,
        *,
        kind: str | None = None,
        sources: tuple[str, ...] = (),
        position_id: int | None = None,
        asset: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        args: list[Any] = [account]
        sql = _where(
            "SELECT * FROM borrow_lend WHERE account = ?",
            args,
            (("kind = ?", kind), ("position_id = ?", position_id), ("asset = ?", asset)),
        )
        if sources:
            sql += f" AND source IN ({', '.join('?' * len(sources))})"
            args.extend(sources)
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    async def interest_history(
        self,
        account: int,
        *,
        asset: str | None = None,
        position_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        args: list[Any] = [account]
        sql = _where(
            "SELECT * FROM interest WHERE account = ?", args, (("asset = ?", asset), ("position_id = ?", position_id))
        )
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    async def borrow_lend_positions(
        self,
        account: int,
        *,
        asset: str | None = None,
        side: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        args: list[Any] = [account]
        sql = _where(
            "SELECT * FROM bl_positions WHERE account = ?",
            args,
            (("asset = ?", asset), ("side = ?", side), ("state = ?", state)),
        )
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])

    async def pool_rates(self, asset: str | None, since_hour: int, every: int = 1) -> list[dict[str, Any]]:
        """Each pool's hourly rows from ``since_hour`` on (``every``: only hours divisible by it), oldest first."""
        args: list[Any] = [since_hour]
        sql = _where("SELECT * FROM pool_rates WHERE hour >= ?", args, (("asset = ?", asset),))
        if every > 1:
            sql += " AND hour % ? = 0"
            args.append(every)
        return await self._fetch(sql + " ORDER BY asset, hour", args)

    async def dust_history(
        self,
        account: int,
        *,
        row_id: int | None = None,
        asset: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        args: list[Any] = [account]
        sql = _where("SELECT * FROM dust WHERE account = ?", args, (("id = ?", row_id), ("asset = ?", asset)))
        sql += f" ORDER BY id {_page(ascending)} LIMIT ? OFFSET ?"
        return await self._fetch(sql, [*args, limit, offset])


class LendingQueries(Protocol):
    """The borrow/lend queries every read model answers (``store.protocol.ReadModels``)."""

    async def borrow_lend_history(
        self,
        account: int,
        *,
        kind: str | None = None,
        sources: tuple[str, ...] = (),
        position_id: int | None = None,
        asset: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]: ...

    async def interest_history(
        self,
        account: int,
        *,
        asset: str | None = None,
        position_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]: ...

    async def borrow_lend_positions(
        self,
        account: int,
        *,
        asset: str | None = None,
        side: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]: ...

    async def pool_rates(self, asset: str | None, since_hour: int, every: int = 1) -> list[dict[str, Any]]: ...

    async def dust_history(
        self,
        account: int,
        *,
        row_id: int | None = None,
        asset: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]: ...
