"""Every read-store test runs on both backends: SQLite (a file in the test's tmp dir) and
PostgreSQL (the session's cluster, this module's database, emptied before each test)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.store.postgres import TABLES, PostgresStore
from rucksack.exchange.store.protocol import Store
from rucksack.exchange.store.sqlite import SqliteStore

T = TypeVar("T")
Opener = Callable[[ExchangeSpec], Store]


def wait(coro: Any) -> Any:
    """A store query's result (the tests are synchronous)."""
    return asyncio.run(coro)


async def _empty(dsn: str) -> None:
    con = await asyncpg.connect(dsn)
    try:
        await con.execute("DROP TABLE IF EXISTS " + TABLES)
    finally:
        await con.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Opener]:
    """Opens the backend's store (the same database each call: reopening sees what was written)."""
    opened: list[Store] = []
    if backend == "postgresql":
        dsn = request.getfixturevalue("pg_dsn")
        asyncio.run(_empty(dsn))

        def opener(spec: ExchangeSpec) -> Store:
            store = PostgresStore(dsn, spec)
            opened.append(store)
            return store
    else:

        def opener(spec: ExchangeSpec) -> Store:
            store = SqliteStore(tmp_path / "read.sqlite", spec)
            opened.append(store)
            return store

    yield opener
    for store in opened:
        store.close()
