"""``rucksack serve``: the exchange behind Backpack's API on one host and port.

``--gateways 0``: one process; the sequencer and engine run in the asyncio event loop thread (the
only writer), the journal's group commit runs from that loop, uvicorn serves HTTP on the port.

``--gateways N`` (N >= 1; the default is the number of cores): this process is the sequencer
(sequencer, engine, journal, read-model projection, scheduler, makers, index feed, custody) and
serves the API only on a private Unix socket (the routes gateways proxy); it binds the public port
and starts N gateway processes (``exchange.gateway``) that inherit that socket and serve it
together, links them over another Unix socket (``gateway.link``) and restarts any that exits
(``gateway.supervisor``).
Both sockets live in a private temporary directory, removed at exit (a fenced exit included).

``--link HOST:PORT`` (with ``--journal``): the sequencer process also serves its gateway link on
that loopback TCP address (port 0: any free one) and its private API on another free port of the
same host, and publishes both in the writer lease, so **independent gateways** (``rucksack
gateway``: ``gateway.discovery``) find the writer, link to it, and move to the next writer after a
failover. With ``--link`` and ``--gateways 0`` the process runs no gateways of its own and binds no
public port: the independent gateways are the venue's public port.

``--journal nats://...``: a primary takes the writer lease before it serves. A ``--standby`` with
gateways starts them at once (warm): they follow what it follows, serve reads and answer writes
503 until it takes over (``standby_then``), so a takeover costs the lease, not a state transfer.
Without gateways a standby serves nothing until it is the writer.

The data directory holds the journal, snapshots, read models and, in sandbox mode, the admin token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from rucksack.exchange.api.app import create_app
from rucksack.exchange.api.ws import MAX_FRAME
from rucksack.exchange.feeds.index import make_feed, publish_index_prices
from rucksack.exchange.liquidity import config_from_data_dir, run_liquidity
from rucksack.exchange.logs import configure as configure_logging
from rucksack.exchange.makers import run_makers
from rucksack.exchange.nft_perk import NftPerk, checksum
from rucksack.exchange.nft_perk import watch as watch_nft_holders
from rucksack.exchange.reserves_export import daily_snapshots
from rucksack.exchange.scheduler import accrual_ticks, day_ticks, risk_ticks
from rucksack.exchange.sequencer.datadir import DEFAULT_SNAPSHOT_EVERY
from rucksack.exchange.service import ExchangeLedger, ExchangeService
from rucksack.exchange.store import StoreUnavailable, redacted
from rucksack.exchange.surveillance.config import ThresholdError, thresholds_from_toml
from rucksack.exchange.surveillance.live import LiveSurveillance
from rucksack.exchange.surveillance.points import flag_ticks

if TYPE_CHECKING:
    from rucksack.exchange.replica.node import ReplicatedNode

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


def nft_perk(spec: str | None, chain_rpc: list[str], sandbox: bool) -> NftPerk | None:
    """``--nft-vip CHAIN:ADDRESS``: the ERC-721 collection whose holders get the NFT VIP level,
    checked through that chain's ``--chain-rpc`` node. A sandbox with an EVM devnet and no
    ``--nft-vip`` designates the devnet's own collection on ethereum. ``ValueError`` when the
    collection's chain has no node."""
    from rucksack.chains.registry import DEVNET_EVM_LADS, get_chain
    from rucksack.exchange.custody.service import chain_urls

    urls = chain_urls(chain_rpc)
    if spec is None:
        if not sandbox or "ethereum" not in urls:
            return None
        spec = f"ethereum:{DEVNET_EVM_LADS}"
    chain, _, address = spec.partition(":")
    try:
        if not get_chain(chain).is_evm:
            raise ValueError(f"--nft-vip: {chain} is not an EVM chain")
    except KeyError as exc:
        raise ValueError(f"--nft-vip: {exc.args[0]}") from None
    if chain not in urls:
        raise ValueError(f"--nft-vip: no --chain-rpc node for {chain}")
    return NftPerk(chain, checksum(address), urls[chain])


def production_feed(feed: str | None) -> str:
    """A production venue's index source: a CSV feed or the operator's prices (``manual``, the
    default); the simulated random walk is refused (``ValueError``)."""
    chosen = feed or "manual"
    if chosen == "sim":
        raise ValueError(
            "--production takes its index from a real source: --feed csv:PATH, or --feed manual (the default) "
            "with prices set by `rucksack operator price`; the simulated random walk is for the sandbox"
        )
    return chosen


def operator_public_key(text: str | None) -> str | None:
    """``--operator-key``: a base64 ED25519 public key, or a file holding one (``ValueError`` otherwise)."""
    if not text:
        return None
    path = Path(text)
    key = path.read_text(encoding="utf-8").strip() if path.is_file() else text.strip()
    from rucksack.exchange.api.auth import Verifier

    try:
        Verifier().verify_key(key)
    except Exception as exc:
        raise ValueError("--operator-key must be a base64 ED25519 public key (or a file holding one)") from exc
    return key


def serve(
    data_dir: Path,
    host: str,
    port: int,
    feed: str | None = None,
    makers: bool = True,
    sandbox: bool = True,
    seed: int = 7,
    fsync: bool = True,
    chain_rpc: list[str] | None = None,
    confirmations: int = 1,
    chain_poll: float = 1.0,
    sweep_every: int = 10,
    snapshot_every: int | None = None,
    operator_key: str | None = None,
    gateways: int = 0,
    store: str | None = None,
    journal: str | None = None,
    standby: bool = False,
    link: str | None = None,
    nft_vip: str | None = None,
    nft_check_every: float = 60.0,
    reserves_zk: bool = False,
    reserves_zk_workers: int = 1,
) -> int:
    """Run the exchange until stopped. Production (``sandbox=False``): no makers, no sandbox paths
    or admin token, no grants, the index from ``production_feed`` (docs/api.md "Production mode")."""
    pin_recursion_limit()
    if link is not None and journal is None:
        sys.stderr.write("rucksack serve: --link needs --journal (independent gateways find it in the writer lease)\n")
        return 2
    try:
        operator = operator_public_key(operator_key)
        feed = (feed or "sim") if sandbox else production_feed(feed)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"rucksack serve: {exc}\n")
        return 2
    makers = makers and sandbox  # the demo makers mint unbacked deposits: never in production
    configure_logging()  # one JSON object a line on stderr, secrets never (exchange/logs.py)
    every = DEFAULT_SNAPSHOT_EVERY if snapshot_every is None else snapshot_every
    os.umask(0o077)  # whatever the server writes (read models, reserves, custody seed) is the owner's alone
    seeded = None
    if journal is not None and standby and not (data_dir / "config.toml").exists():
        from rucksack.exchange.replica.snapshots import seed_data_dir

        seeded = seed_data_dir(data_dir, journal)  # a new standby starts from the latest snapshot
        if seeded is not None:
            sys.stderr.write(f"rucksack: seeded from the replicated snapshot at seq {seeded.seq}\n")
    # the replicated journal's group commit waits on the stream, so it runs in the journal's thread
    try:
        service = ExchangeService(
            data_dir,
            sandbox=sandbox,
            fsync=fsync,
            snapshot_every=every,
            store=store,
            inline_commit=journal is None,
            follower=journal is not None and standby,
        )
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
    node = None
    outside = None  # ``--link``: the link and the private API on loopback TCP, for independent gateways
    if link is not None:
        try:
            outside = link_sockets(link)
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"rucksack: cannot listen on --link {link}: {exc}\n")
            service.close()
            return 1
    if journal is not None:  # the replicated journal: connect and catch up with the stream
        from rucksack.exchange.replica.node import become_writer, connect_replicated

        start_after = seeded.stream_seq if seeded is not None else 0
        address = f"http://{host}:{port}"
        published = {"data_dir": str(data_dir.resolve())}
        if outside is not None:
            published |= {"link": sock_address(outside[0]), "api": f"http://{sock_address(outside[1])}"}
        node = connect_replicated(
            service, journal, standby=standby, address=address, start_after=start_after, published=published
        )
        # a clean stop (SIGTERM: uvicorn re-raises it once it has stopped, so no ``finally`` here
        # runs after it) gives the lease up as soon as the journal is closed: a standby takes over at once
        service.after_close.append(node.close)
    service.operator_key = operator
    service.feed = make_feed(service, feed, seed, start=sandbox)
    try:
        service.surveillance = start_surveillance(service, data_dir)  # exchange.surveillance (live + catch-up)
    except ThresholdError as exc:
        sys.stderr.write(f"rucksack serve: {exc}\n")
        return 2
    background: list[Callable[[], Awaitable[None]]] = []
    if makers and service.feed:
        background.append(lambda: run_makers(service, service.feed, seed))  # type: ignore[arg-type]
    liquidity = config_from_data_dir(data_dir)  # the liquidity vault (exchange/liquidity.py): sandbox for now
    if makers and service.feed and liquidity.enabled:
        background.append(lambda: run_liquidity(service, liquidity, service.clock))
    background.append(lambda: accrual_ticks(service))
    background.append(lambda: risk_ticks(service))
    background.append(lambda: day_ticks(service))  # fee tiers, points weeks, affiliate payouts
    live = service.surveillance
    if live is not None:  # surveillance's flagged trades earn no points (journaled FlagTrades)
        background.append(lambda: flag_ticks(live.monitor, lambda: service.engine, service.submit))
    # proof of reserves: tier (a) daily; tier (b) too with --reserves-zk (proved in the background)
    background.append(lambda: daily_snapshots(service, zk=reserves_zk, zk_workers=reserves_zk_workers))
    background.append(service.hourly_checkpoints)  # the public chain of commitments (exchange.checkpoints)
    feed_ = service.feed
    if feed_ is not None:
        background.append(lambda: publish_index_prices(service, feed_))
    try:
        service.nft_perk = nft_perk(nft_vip, chain_rpc or [], sandbox)
    except ValueError as exc:
        sys.stderr.write(f"rucksack serve: {exc}\n")
        return 2
    perk = service.nft_perk
    if perk is not None:
        background.append(lambda: watch_nft_holders(service, perk, nft_check_every))
    if chain_rpc:  # without it custody starts lazily, on the first deposit-address request
        custody = start_custody(service, chain_rpc, confirmations, chain_poll, sweep_every)
        if custody is not None:
            background.append(custody.run)
    try:
        if gateways > 0 or outside is not None:
            on_lead: list[Callable[[], None]] = []
            if node is not None and standby:  # warm gateways at once; the writer's jobs after the takeover
                service.standby = True
                background = [standby_then(node, service, background, on_lead)]
            elif node is not None and not become_writer(node, standby=False):
                return 2  # (one process: the takeover waits until the app is loaded, below)
            return _serve_with_gateways(
                service, background, data_dir, host, port, sandbox, gateways, store, outside, on_lead, node
            )
        app = create_app(service, background)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws_max_size=MAX_FRAME,
            log_config=None,  # uvicorn's records go through our JSON handler
        )
        if node is not None:  # everything loaded first, so that serving follows the takeover at once
            config.load()
            if not become_writer(node, standby=standby):
                return 2
            service.lead()
        uvicorn.Server(config).run()
        return 0
    finally:
        if node is not None:
            node.close()


def link_sockets(address: str) -> tuple[socket.socket, socket.socket]:
    """``--link HOST:PORT``: the gateway link's listening socket there, and the private API's on a
    free port of the same host (both loopback in the deployments documented: docs/deploy.md)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:7100")
    return listening(host, int(port)), listening(host, 0)


def listening(host: str, port: int) -> socket.socket:
    sock = socket.create_server((host, port), backlog=2048)
    sock.set_inheritable(False)
    return sock


def sock_address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


def standby_then(
    node: ReplicatedNode,
    service: ExchangeService,
    jobs: list[Callable[[], Awaitable[None]]],
    on_lead: list[Callable[[], None]] | None = None,
) -> Callable[[], Awaitable[None]]:
    """The hot standby behind warm gateways: follow the stream in the serving loop (the gateways
    apply what it releases and refuse writes, ``service.standby``), take over when the lease lapses,
    then accept commands and run the writer's ``jobs`` (makers, ticks, feed). If following fails,
    the process exits (its gateways with it): a standby that stopped following must not serve."""

    async def run() -> None:
        try:
            await node.follow_until_writer()
        except Exception:
            log.critical("the standby stopped following the replicated journal; exiting", exc_info=True)
            node.run_exit_hooks()
            logging.shutdown()
            os._exit(70)
        service.lead()
        for hook in on_lead or []:
            hook()
        where = f"at seq {node.engine.last_seq} (epoch {node.lease.revision})"
        sys.stderr.write(f"rucksack: writer {node.writer_id} {where}; its gateways accept writes\n")
        await asyncio.gather(*(job() for job in jobs))

    return run


def start_surveillance(service: ExchangeService, data_dir: Path) -> LiveSurveillance:
    """The market surveillance monitor: thresholds from the data dir's ``[surveillance]`` table,
    fed every released command, caught up from the journal in the background."""
    live = LiveSurveillance(data_dir, service.spec, thresholds_from_toml((data_dir / "config.toml").read_text("utf-8")))
    service.listeners.append(live.listener)
    live.start()
    return live


def _serve_with_gateways(
    service: ExchangeService,
    background: list[Callable[[], Awaitable[None]]],
    data_dir: Path,
    host: str,
    port: int,
    sandbox: bool,
    gateways: int,
    store: str | None,
    outside: tuple[socket.socket, socket.socket] | None = None,
    on_lead: list[Callable[[], None]] | None = None,
    node: ReplicatedNode | None = None,
) -> int:
    """The sequencer process: the link, the supervised gateways, the API on a private socket (and,
    with ``outside``, the link and the API on loopback TCP for independent gateways)."""
    from rucksack.exchange.gateway.link import GatewayLink
    from rucksack.exchange.gateway.process import public_socket
    from rucksack.exchange.gateway.supervisor import Supervisor

    public = None
    if gateways > 0:
        try:
            public = public_socket(host, port)  # bound here, once: a port in use stops the start now
        except OSError as exc:
            sys.stderr.write(f"rucksack: cannot listen on {host}:{port}: {exc}\n")
            service.close()
            return 1
    run_dir = Path(tempfile.mkdtemp(prefix="rucksack-"))  # 0700: the sockets are the owner's alone
    if node is not None:  # a fenced exit skips the finally below
        node.exit_hooks.append(lambda: shutil.rmtree(run_dir, ignore_errors=True))
    try:
        link = GatewayLink(service, run_dir / "link.sock", outside[0] if outside is not None else None)
        if on_lead is not None:
            on_lead.append(link.lead)
        internal = run_dir / "http.sock"
        jobs = [*background, link.serve]
        if public is not None:
            argv = [sys.executable, "-m", "rucksack.exchange.gateway", "--data-dir", str(data_dir), "--host", host]
            argv += ["--port", str(port), "--fd", str(public.fileno())]
            argv += ["--link", str(link.path), "--internal", str(internal)]
            if not sandbox:
                argv.append("--production")
            if store is not None:
                argv += ["--store", store]
            supervisor = Supervisor(argv, gateways, pass_fds=(public.fileno(),))
            # the supervisor first: at shutdown its gateways stop gracefully while the link still answers
            jobs = [*background, supervisor.run, link.serve]
        app = create_app(service, jobs, websockets=False)
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", ws_max_size=MAX_FRAME, log_config=None
        )
        sockets = [unix_listening(internal)] + ([outside[1]] if outside is not None else [])
        where = f"{gateways} gateway(s) on port {port}" if public is not None else "no gateways of its own"
        if outside is not None:
            where += f"; link {sock_address(outside[0])}, API {sock_address(outside[1])} for independent gateways"
        sys.stderr.write(f"rucksack: sequencer process; {where}\n")
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        if public is not None:
            public.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


def unix_listening(path: Path) -> socket.socket:
    """The private API's Unix socket (in the 0700 run directory: the owner's alone)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    sock.bind(str(path))
    sock.listen(2048)
    return sock
