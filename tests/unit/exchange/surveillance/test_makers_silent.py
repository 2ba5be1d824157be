"""Normal activity raises nothing: the demo makers (two-sided ladders cancelled and re-quoted each
round, a taker sending market orders both ways) and the seeded index feed, run for real through an
``ExchangeService``, then the journal replayed through every detector.

The service's clock is a fake one advancing 0.2 s a reading, so a few seconds of wall time cover
several minutes of exchange time across a whole hour (the close) and many pump windows (scaled to
60 s here so four baselines and a judged window fit).
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from pathlib import Path

import msgspec

from rucksack.exchange.config import default_config_text
from rucksack.exchange.feeds.index import make_feed, publish_index_prices
from rucksack.exchange.makers import run_makers
from rucksack.exchange.service import ExchangeService
from rucksack.exchange.surveillance import Thresholds, replay, thresholds_from_toml

SECOND = 1_000_000
START = 1_700_002_800 * SECOND - 90 * SECOND  # 90 s before a whole hour


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        self.now += SECOND // 5
        return self.now


async def _run(data_dir: Path, clock: FakeClock, seconds: float) -> None:
    service = ExchangeService(data_dir, clock=clock, fsync=False)
    service.start()
    feed = make_feed(service, "sim", 7)
    service.feed = feed
    tasks = [
        asyncio.ensure_future(run_makers(service, feed, seed=7, period=0.0)),
        asyncio.ensure_future(publish_index_prices(service, feed, period=0.02)),
    ]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    service.close()


def test_the_demo_makers_raise_no_alert(tmp_path: Path) -> None:
    clock = FakeClock()
    asyncio.run(_run(tmp_path, clock, 6.0))
    assert clock.now - START > 120 * SECOND  # the run crossed the hour
    shipped = thresholds_from_toml(default_config_text())
    assert shipped == Thresholds()  # the shipped [surveillance] table is the documented defaults
    thresholds = msgspec.structs.replace(shipped, pump_window_seconds=60, pump_min_rise=Decimal("0.02"))
    from rucksack.exchange.sequencer.datadir import read_spec

    monitor, seq = replay(tmp_path, read_spec(tmp_path), thresholds)
    trades = sum(1 for _ in monitor.tape.resting)  # markets with orders seen
    assert seq > 1000 and trades >= 2
    assert monitor.alert_list() == []
    # the depth the spoofing detector reads equals the resting orders it folded
    levels: dict[tuple[str, str], dict[int, int]] = {}
    for book in monitor.tape.resting.values():
        for o in book.values():
            side = levels.setdefault((o.market, o.side), {})
            side[o.price] = side.get(o.price, 0) + o.remaining
    assert {k: v for k, v in monitor.tape.depth.levels.items() if v} == {k: v for k, v in levels.items() if v}
