"""The seam between the exchange and its read models: two narrow protocols.

``ReadModels`` is what a reader needs (the API's history endpoints, a gateway process): queries
only, each a coroutine, so a store whose database is a round trip away never blocks the caller's
event loop. ``Store`` adds the writer's side, held by the one process that projects (the
sequencer's): ``project`` each released command's events (in memory, microseconds), ``commit`` once
per released group (SQLite writes the batch now; PostgreSQL hands it to its writer thread and
returns), and ``visible_seq`` says how far reads answer with what was projected. The service
resolves a request only once ``visible_seq`` covers its command, so a client reads its own writes:
an order's fills are in the order history by the time the order's response is sent.

Both backends: ``store.sqlite.SqliteStore`` (embedded, the default) and
``store.postgres.PostgresStore`` (``--store postgresql://...``); ``store.open_store`` picks one.
``store.open_read_models`` opens the queries alone (``SqliteReadModels``, ``PostgresReadModels``)
for a process that reads what another projects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from rucksack.exchange.core.events import Event
from rucksack.exchange.store.lending import LendingQueries


class ReadModels(LendingQueries, Protocol):
    """History queries: orders, fills, trades, tickers, klines, capital, funding, settlements,
    positions, subaccounts, and the borrow/lend ones (``store.lending``). Rows are dicts of exact
    integers and strings."""

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
    ) -> list[dict[str, Any]]: ...

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
        """The account's fill rows; ``fill_type`` one of Backpack's ``fillType`` values (None: all)."""
        ...

    async def trades(self, market: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]: ...

    async def ticker(self, market: str, since_us: int) -> dict[str, Any]: ...

    async def klines(self, market: str, interval_us: int, start_us: int, end_us: int) -> list[dict[str, Any]]: ...

    async def price_klines(
        self, market: str, kind: str, interval_us: int, start_us: int, end_us: int
    ) -> list[dict[str, Any]]:
        """Index (``kind`` "Index") or mark ("Mark") candles: ``period`` (start, µs), ``open``,
        ``high``, ``low``, ``close`` in ticks, for the periods starting in [start_us, end_us)."""
        ...

    async def capital(
        self,
        account: int,
        kind: str,
        *,
        from_us: int | None = None,
        to_us: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]: ...

    async def subaccounts(self, parent: int) -> dict[int, tuple[str, int]]: ...

    async def funding_rates(self, market: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]: ...

    async def funding_payments(
        self,
        account: int,
        *,
        symbol: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]: ...

    async def settlements(
        self,
        account: int,
        *,
        sources: tuple[str, ...] | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]: ...

    async def position_history(
        self,
        account: int,
        *,
        symbol: str | None = None,
        state: str | None = None,
        limit: int = 100,
        offset: int = 0,
        ascending: bool = False,
    ) -> list[dict[str, Any]]: ...

    # blocking: for custody's start-up reconciliation and the reserves cut (rare)
    def deposit_totals(self, ref_prefix: str, upto_seq: int) -> dict[str, int]: ...

    def withdrawal_debited(self, ref: str) -> bool: ...

    def close(self) -> None: ...


class Store(ReadModels, Protocol):
    """A read store the writer projects into (loop thread only, except ``on_visible``)."""

    # called (from any thread) when ``visible_seq`` advanced or ``failed`` was set asynchronously
    on_visible: Callable[[], None] | None

    @property
    def last_seq(self) -> int:
        """The last seq projected (the next start projects the journal after what is written)."""

    @property
    def visible_seq(self) -> int:
        """The last seq whose rows every reader of the database sees."""

    @property
    def failed(self) -> BaseException | None:
        """Why projection stopped (then nothing more is written), or None."""

    @property
    def failed_seq(self) -> int:
        """The first seq not written when ``failed`` was set."""

    def project(self, seq: int, ts_us: int, events: list[Event]) -> None:
        """Add one durable command's events to the open batch (skipped if ``seq`` was projected)."""

    def commit(self) -> None:
        """End the open batch: it becomes visible now (SQLite) or soon (PostgreSQL); never raises
        (a failure sets ``failed``)."""

    def wait_visible(self) -> None:
        """Block until every committed batch is visible (or the store failed)."""

    def lead(self) -> None:
        """This process took over as the writer: a store it shares with the old writer (opened with
        ``follower``) writes what that one had not written, then writes as a writer's does."""

    def abandon(self, exc: BaseException) -> None:
        """A projection raised: drop the open batch and refuse every later write."""
