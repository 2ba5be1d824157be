"""The scheduler: the exchange's clock-driven commands, journaled like any other.

- every second a ``LiquidationSweep`` (and ``ExpireRfqs`` when an open RFQ's time is up, and
  ``CrankStrategies`` carrying the wall-clock time when a Scheduled strategy's slice is due, and
  ``CrankVaults`` when a vault redemption is due or an hourly NAV sample is), every
  ten seconds a ``SettlePnl`` (margin-model.md §14.3, §14.6);
- once per wall-clock hour ``AccrueInterest`` and ``ApplyFunding`` (each idempotent by hour, so a
  restart never pays twice);
- points and affiliates (core/growth): ``SamplePoints`` every hour, ``SnapshotPoints`` at Thursday
  00:00 UTC, ``DistributePoints`` and ``PayAffiliates`` at Friday 02:00 UTC (each carries the
  instant it is for and the core refuses it twice; ``growth_due``);
- every second ``CrankPreMarkets`` while a pre-market is not settled (its banded mark; a listing's
  reference samples and, once its window has passed, the settlement: core/premarket);
- ``ReleaseWithdrawals`` when a held withdrawal's security delay or a pending delay change is due
  (checked every second; core/compliance/withdrawals.py);
- at each UTC day boundary ``RecomputeFeeTiers(day)`` (core/tiers: every account to the tier of
  its 30-day volume; idempotent by day);
- the NFT VIP perk's holders re-checked on the chain (``exchange.nft_perk``): ``LapseNftVip`` for
  a token that left its address.

``due_now`` runs the clock-driven checks once: the sandbox calls it right after advancing the
clock (``POST /api/v1/sandbox/clock``), so what the advance made due is journaled at once.

They are ordinary commands through the sequencer, so replay from the journal is bit-identical;
the wall clock is read here, never in the core. Periodic snapshots are not ticks: they are due
every ``snapshot_every`` commands and taken by the service right after a release, between two
commands (``rucksack.exchange.service``). What the scheduler needs from the exchange is
:class:`Clocked` (the running service is one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import AccrueInterest, ApplyFunding, Command, LiquidationSweep, SettlePnl
from rucksack.exchange.core.compliance.commands import ReleaseWithdrawals
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.growth.commands import DistributePoints, PayAffiliates, SamplePoints, SnapshotPoints
from rucksack.exchange.core.growth.spec import DISTRIBUTION_DELAY_US, WEEK_US
from rucksack.exchange.core.premarket.commands import CrankPreMarkets
from rucksack.exchange.core.rfq.commands import ExpireRfqs
from rucksack.exchange.core.strategies.commands import CrankStrategies
from rucksack.exchange.core.tiers.commands import RecomputeFeeTiers
from rucksack.exchange.core.vaults.commands import CrankVaults

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


class Clocked(Protocol):
    """The wall clock (µs since the epoch), the engine's last accrual and funding hours, and a
    way to journal a command."""

    @property
    def clock(self) -> Callable[[], int]: ...

    @property
    def engine(self) -> Engine: ...

    async def submit(self, command: Command) -> list[Event]: ...


async def accrual_ticks(exchange: Clocked, period: float = 10.0) -> None:
    """Journaled AccrueInterest and ApplyFunding once per wall-clock hour."""
    while True:
        hour = exchange.clock() // HOUR_US
        if hour != exchange.engine.last_accrual_hour:
            await exchange.submit(AccrueInterest(hour))
        if hour != exchange.engine.last_funding_hour:
            await exchange.submit(ApplyFunding(hour))
        await asyncio.sleep(period)


def rfq_expiry_due(exchange: Clocked) -> bool:
    """An open RFQ's time is up by the wall clock (the core decides again by the command's time)."""
    book = queries.rfq_book(exchange.engine)
    now = exchange.clock()
    return any(book.rfqs[i].expiry_us <= now for i in book.open)


async def risk_ticks(exchange: Clocked, sweep_period: float = 1.0, settle_every: int = 10) -> None:
    """A journaled LiquidationSweep every ``sweep_period`` seconds, ExpireRfqs after it when an
    RFQ's time is up, and SettlePnl every ``settle_every`` sweeps."""
    n = 0
    while True:
        await exchange.submit(LiquidationSweep())
        if release_due(exchange.engine, exchange.clock()):
            await exchange.submit(ReleaseWithdrawals())
        if rfq_expiry_due(exchange):
            await exchange.submit(ExpireRfqs())
        now = exchange.clock()
        if strategy_slice_due(exchange.engine, now):
            await exchange.submit(CrankStrategies(now))
        if queries.vault_crank_due(exchange.engine, now):
            await exchange.submit(CrankVaults(now))
        if queries.premarkets_live(exchange.engine):
            await exchange.submit(CrankPreMarkets())
        n += 1
        if n % settle_every == 0:
            await exchange.submit(SettlePnl())
        await asyncio.sleep(sweep_period)


def strategy_slice_due(engine: Engine, now_us: int) -> bool:
    """A running strategy's next slice is due by ``now_us`` (the core decides again by the
    command's time)."""
    book = queries.strategy_book(engine)
    return any(book.strategies[i].due_us(book.strategies[i].slices_sent) <= now_us for i in book.running)


def release_due(engine: Engine, now_us: int) -> bool:
    """Whether a ``ReleaseWithdrawals`` would release something at ``now_us``."""
    comp = engine.compliance
    if any(not h.review and h.trigger_at_us <= now_us for h in comp.held.values()):
        return True
    return any(pending >= 0 and at <= now_us for _, pending, at in comp.delays.values())


async def day_boundary(exchange: Clocked) -> list[Event]:
    """``RecomputeFeeTiers`` for the clock's UTC day when the engine has not applied it yet."""
    day = exchange.clock() // DAY_US
    if day > queries.fee_tier_day(exchange.engine):
        return await exchange.submit(RecomputeFeeTiers(day))
    return []


async def due_now(exchange: Clocked) -> list[Event]:
    """The calendar's commands that are due now (the UTC day boundary, the points week and the
    affiliate payout), not left to the per-second ticks."""
    events = await day_boundary(exchange)
    for command in growth_due(exchange.engine, exchange.clock()):
        events += await exchange.submit(command)
    return events


async def day_ticks(exchange: Clocked, period: float = 10.0) -> None:
    """Every ``period`` seconds: whatever ``due_now`` finds due."""
    while True:
        await due_now(exchange)
        await asyncio.sleep(period)


def growth_due(engine: Engine, now_us: int) -> list[Command]:
    """What is due at ``now_us``: the hour's sample, the snapshot of the week that ended on the
    last Thursday 00:00 UTC, its distribution and the affiliate payout once Friday 02:00 UTC
    has passed (the core decides again by each command's time)."""
    book = queries.growth_book(engine)
    due: list[Command] = []
    hour = now_us // HOUR_US
    if hour > book.last_sample_hour:
        due.append(SamplePoints(hour))
    week_end = now_us // WEEK_US * WEEK_US
    snapshot = book.last_snapshot_us
    if week_end > snapshot:
        due.append(SnapshotPoints(week_end))
        snapshot = week_end
    if book.last_distributed_us < snapshot <= now_us - DISTRIBUTION_DELAY_US:
        due.append(DistributePoints(snapshot))
    paid_week = (now_us - DISTRIBUTION_DELAY_US) // WEEK_US * WEEK_US
    if paid_week > book.last_payout_us:
        due.append(PayAffiliates(paid_week))
    return due
