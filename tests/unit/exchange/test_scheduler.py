"""The scheduler's ticks are journaled commands: the hourly pair once per wall-clock hour, the
risk pair as a sweep every period and a settlement every ``settle_every`` sweeps."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rucksack.exchange.core.commands import AccrueInterest, ApplyFunding, Command, LiquidationSweep, SettlePnl
from rucksack.exchange.core.events import Event
from rucksack.exchange.scheduler import HOUR_US, accrual_ticks, risk_ticks
from rucksack.exchange.service import ExchangeService


class Recording(ExchangeService):
    """The real service, remembering what the scheduler submitted."""

    sent: list[Command]

    async def submit(self, command: Command) -> list[Event]:
        self.sent.append(command)
        return await super().submit(command)


def run_for(service: Recording, ticks: Coroutine[Any, Any, None], seconds: float) -> None:
    async def scenario() -> None:
        service.start()
        task = asyncio.ensure_future(ticks)
        await asyncio.sleep(seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_hourly_commands_once_per_hour(tmp_path: Path) -> None:
    now = [5 * HOUR_US + 1]
    service = Recording(tmp_path / "d", sandbox=False, clock=lambda: now[0])
    service.sent = []
    run_for(service, accrual_ticks(service, period=0.01), 0.2)
    assert service.sent == [AccrueInterest(5), ApplyFunding(5)]  # many passes, one hour: once
    assert service.engine.last_accrual_hour == 5 and service.engine.last_funding_hour == 5
    service.close()


def test_a_settlement_every_settle_every_sweeps(tmp_path: Path) -> None:
    service = Recording(tmp_path / "d", sandbox=False)
    service.sent = []
    run_for(service, risk_ticks(service, sweep_period=0.01, settle_every=3), 0.3)
    sweeps = [c for c in service.sent if isinstance(c, LiquidationSweep)]
    settles = [c for c in service.sent if isinstance(c, SettlePnl)]
    assert len(sweeps) >= 3 and len(settles) == len(sweeps) // 3
    assert service.engine.last_seq >= len(service.sent)  # every one journaled and applied
    service.close()
