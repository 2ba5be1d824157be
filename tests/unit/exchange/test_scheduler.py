"""The scheduler's ticks are journaled commands: the hourly pair once per wall-clock hour, the
risk pair as a sweep every period and a settlement every ``settle_every`` sweeps, an RFQ expiry
once an open RFQ is due, a strategy crank (carrying the clock) once a slice is due."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rucksack.exchange.core.commands import (
    AccrueInterest,
    ApplyFunding,
    Command,
    CreateAccount,
    LiquidationSweep,
    SettlePnl,
)
from rucksack.exchange.core.events import AccountCreated, Event
from rucksack.exchange.core.rfq.commands import ExpireRfqs, SubmitRfq
from rucksack.exchange.core.strategies.commands import CrankStrategies, CreateStrategy
from rucksack.exchange.scheduler import HOUR_US, accrual_ticks, rfq_expiry_due, risk_ticks, strategy_slice_due
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


def test_rfq_expiry_is_journaled_once_an_rfq_is_due(tmp_path: Path) -> None:
    now = [1_765_000_000_000_000]
    service = Recording(tmp_path / "d", sandbox=False, clock=lambda: now[0])
    service.sent = []

    async def scenario() -> None:
        service.start()
        [created] = [e for e in await service.submit(CreateAccount()) if isinstance(e, AccountCreated)]
        await service.submit(SubmitRfq(created.account, "SOL_USDC", "Bid", lots=10))
        assert not rfq_expiry_due(service)
        now[0] += service.spec.rfq_ttl_us
        task = asyncio.ensure_future(risk_ticks(service, sweep_period=0.01))
        await asyncio.sleep(0.1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert service.sent.count(ExpireRfqs()) == 1  # due once: the journaled expiry closed it
    assert service.engine.rfq.rfqs[1].status == "Expired"
    service.close()


def test_a_strategy_crank_carrying_the_clock_once_a_slice_is_due(tmp_path: Path) -> None:
    now = [1_765_000_000_000_000]
    service = Recording(tmp_path / "d", sandbox=False, clock=lambda: now[0])
    service.sent = []

    async def scenario() -> None:
        service.start()
        [created] = [e for e in await service.submit(CreateAccount()) if isinstance(e, AccountCreated)]
        await service.submit(CreateStrategy(created.account, "SOL_USDC", "Bid", 10, 60_000_000, 30_000_000, seed=1))
        task = asyncio.ensure_future(risk_ticks(service, sweep_period=0.01))
        await asyncio.sleep(0.1)  # the first slice was due at creation: one crank, nothing more due
        now[0] += 30_000_000  # the second (last) slice falls due
        await asyncio.sleep(0.1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    cranks = [c for c in service.sent if isinstance(c, CrankStrategies)]
    assert cranks[-1].now_us == now[0] and len(cranks) == 2
    assert not strategy_slice_due(service.engine, now[0])
    assert service.engine.strategies.strategies[1].status == "Completed"  # no liquidity: both skipped
    service.close()


def test_the_day_boundary_is_journaled_once_a_day_and_follows_a_clock_advance(tmp_path: Path) -> None:
    from rucksack.exchange.core.growth.commands import SamplePoints
    from rucksack.exchange.core.tiers.commands import RecomputeFeeTiers
    from rucksack.exchange.scheduler import DAY_US, day_ticks, due_now

    wall = [20_000 * DAY_US + 23 * HOUR_US]  # 23:00 UTC on day 20_000
    service = Recording(tmp_path / "d", sandbox=True, clock=lambda: wall[0])
    service.sent = []

    def tiers() -> list[Any]:
        return [c for c in service.sent if isinstance(c, RecomputeFeeTiers)]

    async def scenario() -> None:
        service.start()
        task = asyncio.ensure_future(day_ticks(service, period=0.01))
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert tiers() == [RecomputeFeeTiers(20_000)]  # many passes, one day: once
        # the same tick journals the points schedule (growth_due): each hour's sample once
        samples = [c for c in service.sent if isinstance(c, SamplePoints)]
        assert len(samples) == len(set(samples)) == 1
        service.clock.advance(HOUR_US)  # the sandbox clock: 00:00 UTC of the next day
        await due_now(service)
        assert tiers() == [RecomputeFeeTiers(20_000), RecomputeFeeTiers(20_001)]
        sent = len(service.sent)
        assert await due_now(service) == [] and len(service.sent) == sent  # nothing due twice

    asyncio.run(scenario())
    assert service.engine.last_ts_us >= 20_001 * DAY_US  # the journal stamps the advanced time
    service.close()
