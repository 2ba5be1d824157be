"""``rucksack serve``: the exchange behind Backpack's API on one host and port.

Single process: the sequencer and engine run in the asyncio event loop thread (the only
writer), the journal's flusher thread does the fsyncs, uvicorn serves HTTP. The data directory
holds the journal, snapshots, read models and, in sandbox mode, the admin token.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn

from rucksack.exchange.api.app import create_app
from rucksack.exchange.api.ws import MAX_FRAME
from rucksack.exchange.feeds.index import make_feed, publish_index_prices
from rucksack.exchange.makers import run_makers
from rucksack.exchange.reserves_export import daily_snapshots
from rucksack.exchange.scheduler import accrual_ticks, risk_ticks
from rucksack.exchange.sequencer.datadir import DEFAULT_SNAPSHOT_EVERY
from rucksack.exchange.service import ExchangeLedger, ExchangeService
from rucksack.exchange.store import StoreUnavailable, redacted

# CPython's default. Python's recursion guard must trip before the C stack runs out, and the JSON
# parsers recurse in C (payload.MAX_DEPTH keeps their input shallow in the first place)
RECURSION_LIMIT = 1000
log = logging.getLogger("rucksack.server")


def pin_recursion_limit(limit: int = RECURSION_LIMIT) -> None:
    """Set the process's recursion limit and keep every library from changing it.

    Importing py_ecc (custody's eth-account stack loads it) runs ``sys.setrecursionlimit(100000)``
    for the whole process; with that, a deeply nested request overflowed the C stack (SIGSEGV)
    before any RecursionError. The server never needs deeper recursion, so later calls are ignored.
    """
    sys.setrecursionlimit(limit)

    def keep(new: int) -> None:
        if new != limit:
            log.warning("kept the recursion limit at %d (a library asked for %d)", limit, new)

    setattr(sys, "setrecursionlimit", keep)  # noqa: B010 (a module attribute, replaced on purpose)


def start_custody(
    service: ExchangeService, chain_rpc: list[str], confirmations: int, poll: float, sweep_every: int = 10
) -> Any:
    """Exchange custody with deposit watchers and withdrawals (``--chain-rpc``). Production mode
    without ``RUCKSACK_CUSTODY_PASSWORD`` runs without custody (and says so)."""
    from rucksack.exchange.custody.seed import CustodySeedError
    from rucksack.exchange.custody.service import Custody, chain_urls

    try:
        custody = Custody(
            ExchangeLedger(service),
            chain_urls(chain_rpc),
            confirmations=confirmations,
            poll=poll,
            sweep_every=sweep_every,
        )
    except CustodySeedError as exc:
        sys.stderr.write(f"rucksack: custody disabled: {exc}\n")
        return None
    service.custody = custody
    sys.stderr.write(f"rucksack: custody watching {', '.join(custody.rpcs)}\n")
    return custody


def serve(
    data_dir: Path,
    host: str,
    port: int,
    feed: str = "sim",
    makers: bool = True,
    sandbox: bool = True,
    seed: int = 7,
    fsync: bool = True,
    chain_rpc: list[str] | None = None,
    confirmations: int = 1,
    chain_poll: float = 1.0,
    sweep_every: int = 10,
    snapshot_every: int | None = None,
    store: str | None = None,
) -> int:
    pin_recursion_limit()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    every = DEFAULT_SNAPSHOT_EVERY if snapshot_every is None else snapshot_every
    os.umask(0o077)  # whatever the server writes (read models, reserves, custody seed) is the owner's alone
    try:
        service = ExchangeService(data_dir, sandbox=sandbox, fsync=fsync, snapshot_every=every, store=store)
    except StoreUnavailable as exc:
        sys.stderr.write(f"rucksack: {exc}\n")
        return 2
    if not fsync:
        sys.stderr.write("rucksack: WARNING --unsafe-no-fsync: acknowledged orders can be lost on power failure\n")
    rec = service.exchange.recovered
    sys.stderr.write(
        f"rucksack: recovered seq {service.engine.last_seq} (snapshot {rec.snapshot_seq}, {rec.replayed} "
        f"replayed, {service.exchange.journal.torn_bytes_truncated} torn bytes truncated; "
        f"{f'a snapshot every {every} commands' if every > 0 else 'snapshots at shutdown only'}); "
        f"{'sandbox' if sandbox else 'production'} mode; read models in {redacted(store) if store else 'SQLite'}; http://{host}:{port}\n"
    )
    service.feed = make_feed(service, feed, seed)
    background: list[Callable[[], Awaitable[None]]] = []
    if makers and service.feed:
        background.append(lambda: run_makers(service, service.feed, seed))  # type: ignore[arg-type]
    background.append(lambda: accrual_ticks(service))
    background.append(lambda: risk_ticks(service))
    background.append(lambda: daily_snapshots(service))  # proof of reserves, tier (a)
    feed_ = service.feed
    if feed_ is not None:
        background.append(lambda: publish_index_prices(service, feed_))
    if chain_rpc:  # without it custody starts lazily, on the first deposit-address request
        custody = start_custody(service, chain_rpc, confirmations, chain_poll, sweep_every)
        if custody is not None:
            background.append(custody.run)
    app = create_app(service, background)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on", ws_max_size=MAX_FRAME
    )
    uvicorn.Server(config).run()
    return 0
