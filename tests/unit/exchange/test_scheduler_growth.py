"""The points and affiliate schedule (scheduler.growth_due) at explicit times: the hourly
sample, the snapshot at Thursday 00:00 UTC, the distribution and the payout at Friday 02:00
UTC, each once, and each accepted by the core at that time."""

from __future__ import annotations

from datetime import UTC, datetime

from rucksack.exchange.core.commands import Command
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.growth.commands import DistributePoints, PayAffiliates, SamplePoints, SnapshotPoints
from rucksack.exchange.core.growth.events import GrowthRejected
from rucksack.exchange.scheduler import HOUR_US, growth_due
from tests.conftest import default_spec

WED = int(datetime(2026, 11, 11, 12, tzinfo=UTC).timestamp()) * 1_000_000  # Wednesday 12:00 UTC
THU = int(datetime(2026, 11, 12, tzinfo=UTC).timestamp()) * 1_000_000  # Thursday 00:00 UTC
LAST_THU = THU - 7 * 24 * HOUR_US


def run(engine: Engine, now: int, seq: list[int]) -> list[Command]:
    due = growth_due(engine, now)
    for command in due:
        seq[0] += 1
        events = engine.apply(command, seq[0], now)
        assert not any(isinstance(e, GrowthRejected) for e in events), (command, events)
    return due


def test_the_weekly_schedule() -> None:
    engine = Engine(default_spec())
    seq = [0]
    # first start: this hour's sample, the snapshot of the week that ended last Thursday, its
    # distribution and payout (last Friday 02:00 has passed)
    assert run(engine, WED, seq) == [
        SamplePoints(WED // HOUR_US),
        SnapshotPoints(LAST_THU),
        DistributePoints(LAST_THU),
        PayAffiliates(LAST_THU),
    ]
    assert run(engine, WED + 10_000_000, seq) == []  # nothing twice
    assert run(engine, WED + HOUR_US, seq) == [SamplePoints(WED // HOUR_US + 1)]
    assert run(engine, THU - 1, seq) == [SamplePoints((THU - 1) // HOUR_US)]
    assert run(engine, THU, seq) == [SamplePoints(THU // HOUR_US), SnapshotPoints(THU)]
    friday_2am = THU + 26 * HOUR_US
    assert run(engine, friday_2am - 1, seq) == [SamplePoints((friday_2am - 1) // HOUR_US)]
    assert run(engine, friday_2am, seq) == [
        SamplePoints(friday_2am // HOUR_US),
        DistributePoints(THU),
        PayAffiliates(THU),
    ]
    assert run(engine, friday_2am + 1, seq) == []
