"""A read-model projection that raises never drops events silently (issue 13, finding 4): the
batch rolls back, writes halt loudly, the hub still hears every durable command, and the next
start projects the rest from the journal."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from rucksack.exchange.api.routes.market import status
from rucksack.exchange.core.commands import CreateAccount, Deposit
from rucksack.exchange.core.events import Deposited, Event
from rucksack.exchange.sequencer.sequencer import SequencerHalted
from rucksack.exchange.service import ExchangeService


def test_a_failing_projection_halts_writes_and_loses_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "d"

    async def scenario() -> None:
        service = ExchangeService(data, sandbox=False)
        service.start()
        heard: list[tuple[int, list[Event]]] = []
        service.listeners.append(lambda seq, ts, events, steps: heard.append((seq, events)))
        await service.submit(CreateAccount("a"))
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
