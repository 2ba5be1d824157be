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
from rucksack.exchange.store.postgres import TABLES, PostgresReadModels, PostgresStore
from rucksack.exchange.store.protocol import ReadModels, Store
from rucksack.exchange.store.sqlite import SqliteReadModels, SqliteStore

T = TypeVar("T")
Opener = Callable[[ExchangeSpec], Store]
ReaderOpener = Callable[[], ReadModels]


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
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str | Path:
    """Where this test's store lives: a SQLite file, or this module's database emptied."""
    if backend == "sqlite":
        return tmp_path / "read.sqlite"
    dsn: str = request.getfixturevalue("pg_dsn")
    asyncio.run(_empty(dsn))
    return dsn


@pytest.fixture
def opened() -> Iterator[list[ReadModels]]:
    """Every store and reader a test opened, closed at its end."""
    stores: list[ReadModels] = []
    yield stores
    for store in stores:
        store.close()


@pytest.fixture
def open_store(location: str | Path, opened: list[ReadModels]) -> Opener:
    """Opens the backend's store (the same database each call: reopening sees what was written)."""

    def opener(spec: ExchangeSpec) -> Store:
        store: Store = PostgresStore(location, spec) if isinstance(location, str) else SqliteStore(location, spec)
        opened.append(store)
        return store

    return opener


@pytest.fixture
def open_reader(location: str | Path, opened: list[ReadModels]) -> ReaderOpener:
    """Opens the queries alone on the same database (what a gateway holds)."""

    def opener() -> ReadModels:
        reader: ReadModels = PostgresReadModels(location) if isinstance(location, str) else SqliteReadModels(location)
        opened.append(reader)
        return reader

    return opener
