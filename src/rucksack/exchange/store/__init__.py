"""Read models projected from released events: SQLite (embedded, the default) or PostgreSQL
(``--store postgresql://...``), behind the protocols in :mod:`.protocol`."""

from __future__ import annotations

from pathlib import Path

from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.store.protocol import ReadModels, Store

READ_DB_NAME = "read.sqlite"
__all__ = ["READ_DB_NAME", "ReadModels", "Store", "StoreUnavailable", "is_shared", "open_read_models", "open_store"]


class StoreUnavailable(RuntimeError):
    """The read store named cannot be used: an unknown kind, or a database that cannot be reached."""


def open_store(url: str | None, data_dir: Path, spec: ExchangeSpec, *, follower: bool = False) -> Store:
    """The read store ``url`` names: None (or ``sqlite``) for ``read.sqlite`` in the data dir,
    ``sqlite:PATH`` for another file, ``postgresql://...`` (or ``postgres://``) for PostgreSQL.
    ``follower``: a hot standby's; a PostgreSQL store is the writer's, written only after ``lead``."""
    if url is None or url == "sqlite":
        from rucksack.exchange.store.sqlite import SqliteStore

        return SqliteStore(data_dir / READ_DB_NAME, spec)
    if url.startswith("sqlite:"):
        from rucksack.exchange.store.sqlite import SqliteStore

        return SqliteStore(Path(url.removeprefix("sqlite:")), spec)
    if url.startswith(("postgresql://", "postgres://")):
        import asyncpg

        from rucksack.exchange.store.postgres import PostgresStore

        try:
            return PostgresStore(url, spec, follower=follower)
        except (OSError, asyncpg.PostgresError) as exc:  # refused, unreachable, no such database or role
            raise StoreUnavailable(f"cannot reach the PostgreSQL read store {redacted(url)}: {exc}") from exc
    raise StoreUnavailable(f"unknown read store {url!r}: use sqlite, sqlite:PATH or postgresql://...")


def is_shared(url: str | None) -> bool:
    """Whether ``url`` names a store other processes write too (PostgreSQL: a writer and its standby)."""
    return url is not None and url.startswith(("postgresql://", "postgres://"))


def open_read_models(url: str | None, data_dir: Path) -> ReadModels:
    """Queries alone over the store ``url`` names (as :func:`open_store`), for a process that reads
    what the writer projects (a gateway): it never writes, never changes the schema."""
    if url is None or url == "sqlite" or url.startswith("sqlite:"):
        from rucksack.exchange.store.sqlite import SqliteReadModels

        path = data_dir / READ_DB_NAME if url in (None, "sqlite") else Path(url.removeprefix("sqlite:"))
        return SqliteReadModels(path)
    if url.startswith(("postgresql://", "postgres://")):
        from rucksack.exchange.store.postgres import PostgresReadModels

        return PostgresReadModels(url)
    raise StoreUnavailable(f"unknown read store {url!r}: use sqlite, sqlite:PATH or postgresql://...")


def redacted(url: str) -> str:
    """A store URL fit for a log line: host, port and database, never a password."""
    if not url.startswith(("postgresql://", "postgres://")):
        return url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}"
