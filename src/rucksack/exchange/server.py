"""``rucksack serve``: the exchange behind Backpack's API on one host and port.

``--gateways 0``: one process; the sequencer and engine run in the asyncio event loop thread (the
only writer), the journal's group commit runs from that loop, uvicorn serves HTTP on the port.

``--gateways N`` (N >= 1; the default is the number of cores): this process is the sequencer
(sequencer, engine, journal, read-model projection, scheduler, makers, index feed, custody) and
serves the API only on a private Unix socket (the routes gateways proxy); it binds the public port
and starts N gateway processes (``exchange.gateway``) that inherit that socket and serve it
together, links them over another Unix socket (``gateway.link``) and restarts any that exits
(``gateway.supervisor``).
Both sockets live in a private temporary directory, removed at exit.

The data directory holds the journal, snapshots, read models and, in sandbox mode, the admin token.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
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
    gateways: int = 0,
) -> int:
    pin_recursion_limit()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    every = DEFAULT_SNAPSHOT_EVERY if snapshot_every is None else snapshot_every
    os.umask(0o077)  # whatever the server writes (read models, reserves, custody seed) is the owner's alone
    service = ExchangeService(data_dir, sandbox=sandbox, fsync=fsync, snapshot_every=every)
    if not fsync:
        sys.stderr.write("rucksack: WARNING --unsafe-no-fsync: acknowledged orders can be lost on power failure\n")
    rec = service.exchange.recovered
    sys.stderr.write(
        f"rucksack: recovered seq {service.engine.last_seq} (snapshot {rec.snapshot_seq}, {rec.replayed} "
        f"replayed, {service.exchange.journal.torn_bytes_truncated} torn bytes truncated; "
        f"{f'a snapshot every {every} commands' if every > 0 else 'snapshots at shutdown only'}); "
        f"{'sandbox' if sandbox else 'production'} mode; http://{host}:{port}\n"
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
    if gateways <= 0:
        app = create_app(service, background)
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="on", ws_max_size=MAX_FRAME
        )
        uvicorn.Server(config).run()
        return 0
    return _serve_with_gateways(service, background, data_dir, host, port, sandbox, gateways)


def _serve_with_gateways(
    service: ExchangeService,
    background: list[Callable[[], Awaitable[None]]],
    data_dir: Path,
    host: str,
    port: int,
    sandbox: bool,
    gateways: int,
) -> int:
    """The sequencer process: the link, the supervised gateways, the API on a private socket."""
    from rucksack.exchange.gateway.link import GatewayLink
    from rucksack.exchange.gateway.process import public_socket
    from rucksack.exchange.gateway.supervisor import Supervisor

    try:
        public = public_socket(host, port)  # bound here, once: a port in use stops the start now
    except OSError as exc:
        sys.stderr.write(f"rucksack: cannot listen on {host}:{port}: {exc}\n")
        service.close()
        return 1
    run_dir = Path(tempfile.mkdtemp(prefix="rucksack-"))  # 0700: the sockets are the owner's alone
    try:
        link = GatewayLink(service, run_dir / "link.sock")
        internal = run_dir / "http.sock"
        argv = [sys.executable, "-m", "rucksack.exchange.gateway", "--data-dir", str(data_dir), "--host", host]
        argv += ["--port", str(port), "--fd", str(public.fileno())]
        argv += ["--link", str(link.path), "--internal", str(internal)]
        if not sandbox:
            argv.append("--production")
        supervisor = Supervisor(argv, gateways, pass_fds=(public.fileno(),))
        # the supervisor first: at shutdown its gateways stop gracefully while the link still answers
        app = create_app(service, [*background, supervisor.run, link.serve], websockets=False)
        config = uvicorn.Config(
            app, uds=str(internal), log_level="warning", access_log=False, lifespan="on", ws_max_size=MAX_FRAME
        )
        sys.stderr.write(f"rucksack: sequencer process; {gateways} gateway(s) on port {port}\n")
        uvicorn.Server(config).run()
    finally:
        public.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0
