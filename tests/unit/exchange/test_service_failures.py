"""A read-model projection that raises never drops events silently (issue 13, finding 4): the
batch rolls back, writes halt loudly, the hub still hears every durable command, and the next
start projects the rest from the journal."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
import pytest

from rucksack.exchange.api.routes.market import status
from rucksack.exchange.core.commands import CreateAccount, Deposit
from rucksack.exchange.core.events import Deposited, Event
from rucksack.exchange.sequencer.sequencer import SequencerHalted
from rucksack.exchange.service import ExchangeService
from rucksack.exchange.store import StoreUnavailable
from rucksack.exchange.store.sql import StoreFenced


def test_a_failing_projection_halts_writes_and_loses_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "d"

    async def scenario() -> None:
        service = ExchangeService(data, sandbox=False)
        service.start()
        heard: list[tuple[int, list[Event]]] = []
        service.listeners.append(lambda seq, ts, events, steps: heard.append((seq, events)))
        await service.submit(CreateAccount("a", auto_lend=False))  # its balance stays available
        projected = service.store.last_seq
        healthy = service.store.project

        def failing(seq: int, ts_us: int, events: list[Event]) -> None:  # deliberately broken for deposits
            if any(isinstance(e, Deposited) and e.tx_id == "bad" for e in events):
                raise OverflowError("Python int too large to convert to SQLite INTEGER")
            healthy(seq, ts_us, events)

        service.store.project = failing  # type: ignore[method-assign]
        # two commands in one batch: the good one projects, the bad one fails, both roll back
        good, bad = await asyncio.gather(
            service.submit(Deposit(1000, "USDC", 5, "good")), service.submit(Deposit(1000, "USDC", 7, "bad"))
        )
        assert isinstance(good[0], Deposited) and isinstance(bad[0], Deposited)  # both applied and durable
        assert [seq for seq, _ in heard] == [projected, projected + 1, projected + 2]  # the hub heard all
        assert heard[-1][1] == bad
        assert service.store.last_seq == projected  # rolled back to a whole prefix, nothing skipped
        assert service.halted is not None and "command" in str(service.halted)
        assert (await status(service, {}))["status"] == "Maintenance"
        with pytest.raises(SequencerHalted):
            await service.submit(Deposit(1000, "USDC", 9, "after"))
        service.close()

    with caplog.at_level(logging.CRITICAL):
        asyncio.run(scenario())
    assert any("read model projection failed" in r.getMessage() for r in caplog.records)
    restarted = ExchangeService(data, sandbox=False)  # projects both deposits from the journal
    assert restarted.halted is None and restarted.store.last_seq == restarted.engine.last_seq
    assert sorted(row["ref"] for row in asyncio.run(restarted.store.capital(1000, "deposit"))) == ["bad", "good"]
    assert restarted.engine.ledger.available(1000, restarted.engine.asset_index["USDC"]) == 12
    restarted.close()


def test_a_postgresql_batch_that_fails_to_write_halts_writes(tmp_path: Path, pg_dsn: str) -> None:
    """The writer thread's failure (here: another writer moved ``meta.last_seq``, so the batch is
    fenced) halts the sequencer like a projection error; the waiting request is still answered
    (its command is durable), and a restart on a clean database projects everything again."""
    data = tmp_path / "d"

    async def scenario() -> None:
        service = ExchangeService(data, sandbox=False, store=pg_dsn)
        service.start()
        await service.submit(CreateAccount("a", auto_lend=False))
        rows = await service.store.subaccounts(0)
        assert list(rows) == [1000]  # read its own write: visible once submit returned
        con = await asyncpg.connect(pg_dsn)
        await con.execute("UPDATE meta SET value = value + 100 WHERE key = 'last_seq'")  # a usurper
        await con.close()
        (deposited,) = await service.submit(Deposit(1000, "USDC", 5, "fenced"))
        assert isinstance(deposited, Deposited)  # applied and durable, answered all the same
        assert isinstance(service.store.failed, StoreFenced)
        assert service.halted is not None and "command" in str(service.halted)
        with pytest.raises(SequencerHalted):
            await service.submit(Deposit(1000, "USDC", 9, "after"))
        service.close()

    asyncio.run(scenario())
    asyncio.run(_drop_meta(pg_dsn))  # the usurper's seq is wrong: rebuild the read models from the journal
    restarted = ExchangeService(data, sandbox=False, store=pg_dsn)
    assert restarted.halted is None and restarted.store.last_seq == restarted.engine.last_seq
    assert [r["ref"] for r in asyncio.run(restarted.store.capital(1000, "deposit"))] == ["fenced"]
    restarted.close()


async def _drop_meta(dsn: str) -> None:
    con = await asyncpg.connect(dsn)
    await con.execute("DROP TABLE IF EXISTS meta")
    await con.close()


def test_a_read_store_ahead_of_the_journal_is_refused(tmp_path: Path, pg_dsn: str) -> None:
    """Another venue's database (or one kept while the data directory was replaced) is ahead of
    this journal: the store would skip this venue's first commands as already projected, so the
    start stops and says why instead."""
    asyncio.run(_drop_meta(pg_dsn))

    async def venue(data: Path, commands: int) -> None:
        service = ExchangeService(data, sandbox=False, store=pg_dsn)
        service.start()
        for i in range(commands):
            await service.submit(CreateAccount(f"a{i}"))
        service.close()

    asyncio.run(venue(tmp_path / "first", 3))
    with pytest.raises(
        StoreUnavailable, match="read store is at command 3 but this data directory's journal ends at 0"
    ):
        ExchangeService(tmp_path / "second", sandbox=False, store=pg_dsn)
