"""``rucksack serve``: the exchange behind Backpack's API on one host and port.

Single process: the sequencer and engine run in the asyncio event loop thread (the only
writer), the journal's flusher thread does the fsyncs, uvicorn serves HTTP. The data directory
holds the journal, snapshots, read models and, in sandbox mode, the admin token.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import uvicorn

from rucksack.exchange.api.app import create_app
from rucksack.exchange.api.service import ExchangeService
from rucksack.exchange.core.commands import AccrueInterest
from rucksack.exchange.makers import make_feed, publish_index_prices, run_makers


async def accrual_ticks(service: ExchangeService, period: float = 10.0) -> None:
    """The scheduler's interest tick: a journaled AccrueInterest once per wall-clock hour."""
    while True:
        hour = service.clock() // 3_600_000_000
        if hour != service.engine.last_accrual_hour:
            await service.submit(AccrueInterest(hour))
        await asyncio.sleep(period)


def serve(
    data_dir: Path,
    host: str,
    port: int,
    feed: str = "sim",
    makers: bool = True,
    sandbox: bool = True,
    seed: int = 7,
    fsync: bool = True,
) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    service = ExchangeService(data_dir, sandbox=sandbox, fsync=fsync)
    if not fsync:
        sys.stderr.write("rucksack: WARNING --unsafe-no-fsync: acknowledged orders can be lost on power failure\n")
    rec = service.exchange.recovered
    sys.stderr.write(
        f"rucksack: recovered seq {service.engine.last_seq} (snapshot {rec.snapshot_seq}, {rec.replayed} "
        f"replayed, {service.exchange.journal.torn_bytes_truncated} torn bytes truncated); "
        f"{'sandbox' if sandbox else 'production'} mode; http://{host}:{port}\n"
    )
    service.feed = make_feed(service, feed, seed)
    background = [lambda: run_makers(service, service.feed, seed)] if makers and service.feed else []  # type: ignore[arg-type]
    background.append(lambda: accrual_ticks(service))
    feed_ = service.feed
    if feed_ is not None:
        background.append(lambda: publish_index_prices(service, feed_))
    app = create_app(service, background)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run()
    return 0
