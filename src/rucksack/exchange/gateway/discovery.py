"""``rucksack gateway``: an independent gateway that finds the writer through its lease.

The venue's public port is served by independent gateway processes (each started on its own, e.g.
by systemd, any number of them on one host): each binds the port with ``SO_REUSEPORT`` (the kernel
spreads new connections over the processes bound to it, as nginx's ``reuseport`` and Envoy's
listeners do), so a gateway is started, stopped or restarted without touching the others or the
writer. It holds no state of its own: a replica engine from its writer's state transfer, the read
models (``--store postgresql://…``, or the writer's SQLite on the same host), the WebSocket hub.

Finding the writer: the writer lease (JetStream KV ``rucksack_writer``, key ``writer``;
``replica.lease``) holds, besides the writer's id, its gateway link's and private API's loopback
addresses (``serve --link``). The gateway reads it every ``POLL_S`` seconds and:

- not linked: links to the address the lease names (``Hello`` -> ``Welcome``: the state transfer)
  and ``attach``es its replica to it (resynced: see ``gateway.replica``);
- linked, and the lease names another writer (the old one stalled or is partitioned off): drops
  that link (``detach``) and links to the new one;
- the link drops (the writer died: SIGKILL closes its sockets at once): ``detach``, then as
  "not linked" -- the lease names the dead writer until it lapses (connections refused), then the
  new writer once it has taken the lease.

While not linked to a writer the gateway keeps serving reads from its replica (as of the last
command it applied) and answers every write 503 ``TRADING_PAUSED`` (``GET /api/v1/status``:
``Maintenance``); a write in flight when the link dropped is answered the same way: it was not
acknowledged, so it was applied once or not at all (a client retrying with its ``clientId`` finds
out which). An acknowledged write was durable on the stream's quorum before its answer, so the new
writer has it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import msgspec
import nats
import uvicorn
from nats.aio.client import Client
from nats.js.kv import KeyValue

from rucksack.exchange.api.app import create_app
from rucksack.exchange.api.ws import MAX_FRAME
from rucksack.exchange.config import load_spec_text
from rucksack.exchange.gateway.process import Upstream, start, with_proxy
from rucksack.exchange.gateway.protocol import Welcome
from rucksack.exchange.gateway.replica import GatewayService, Link, handshake
from rucksack.exchange.replica.link import LEASE_BUCKET, LEASE_KEY, parse_servers
from rucksack.exchange.store import open_read_models

log = logging.getLogger("rucksack.gateway.discovery")
POLL_S = 0.05  # how often the lease is read: bounds how late a moved lease is noticed
HANDSHAKE_S = 30.0  # at most this long for a state transfer from a writer that still holds the lease


class WriterWatch:
    """The lease as this gateway follows it, and the link to the writer it names."""

    def __init__(self, servers: str, store: str | None) -> None:
        self.servers = parse_servers(servers)
        self.store = store
        self.writer: str | None = None  # the writer this gateway is linked to (its lease id)
        self.wake = asyncio.Event()
        self._nc: Client | None = None
        self._kv: KeyValue | None = None

    async def holder(self) -> dict[str, Any] | None:
        """The lease's value, or None when nobody holds it or the cluster does not answer now."""
        try:
            if self._nc is None:
                self._nc = await nats.connect(
                    servers=self.servers,
                    name=f"rucksack-gateway-{os.getpid()}",
                    connect_timeout=2,
                    reconnect_time_wait=0.1,
                    max_reconnect_attempts=-1,
                    ping_interval=1,
                    max_outstanding_pings=2,
                    error_cb=_quiet,
                )
            if self._kv is None:
                self._kv = await self._nc.jetstream(timeout=2).key_value(LEASE_BUCKET)
            entry = await self._kv.get(LEASE_KEY)
            return dict(json.loads(entry.value or b"{}"))
        except Exception:  # no key (free), no bucket yet, a node electing: nothing to link to now
            return None

    async def link(self) -> tuple[dict[str, Any], Welcome, Link] | None:
        """Link to the writer the lease names: its value, state transfer and link; None if not now."""
        holder = await self.holder()
        if holder is None or not holder.get("link"):
            return None
        host, _, port = str(holder["link"]).rpartition(":")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port), limit=1 << 18), 1.0)
        except (OSError, TimeoutError):
            return None  # the lease still names a writer that died: it lapses within its TTL
        transfer = asyncio.ensure_future(handshake(reader, writer))
        waited = 0.0
        while not transfer.done():  # a stalled writer accepts but never answers: give up once it lost the lease
            await asyncio.wait({transfer}, timeout=0.25)
            waited += 0.25
            if transfer.done():
                break
            now = await self.holder()
            if waited > HANDSHAKE_S or now is None or now.get("writer") != holder.get("writer"):
                transfer.cancel()
                writer.close()
                log.warning("writer %s did not send its state; trying again", holder.get("writer"))
                return None
        try:
            welcome, link = transfer.result()
        except (OSError, ConnectionError, msgspec.DecodeError) as exc:
            writer.close()
            log.warning("writer %s did not send its state (%s); trying again", holder.get("writer"), exc)
            return None
        return holder, welcome, link

    async def first(self) -> tuple[dict[str, Any], Welcome, Link]:
        """Wait until a writer is there to link to (a gateway may start before any writer)."""
        while (found := await self.link()) is None:
            await asyncio.sleep(POLL_S * 4)
        return found

    async def follow(self, service: GatewayService, upstream: Upstream) -> None:
        """Keep the gateway linked to whoever holds the lease (the module docstring)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), POLL_S)
            self.wake.clear()
            if service.connected:
                holder = await self.holder()
                if holder is None or holder.get("writer") in (None, self.writer):
                    continue
                service.detach(f"the lease moved to writer {holder.get('writer')}")
            found = await self.link()
            if found is not None:
                self.attach(service, upstream, *found)

    def attach(
        self, service: GatewayService, upstream: Upstream, holder: dict[str, Any], welcome: Welcome, link: Link
    ) -> None:
        data_dir = Path(str(holder.get("data_dir", ".")))
        if self.store is None and data_dir != service.data_dir:  # SQLite: the new writer's own
            service.store.close()
            service.store = open_read_models(None, data_dir)  # type: ignore[assignment]  # reads only
            service.data_dir = data_dir
        upstream.point(str(holder.get("api", "")) or None)
        service.attach(welcome, link)
        self.writer = str(holder.get("writer"))
        log.warning("gateway linked to writer %s at seq %d", self.writer, welcome.seq)

    def on_link_lost(self, why: str) -> None:
        self.writer = None
        self.wake.set()


async def _quiet(exc: Exception) -> None:  # reconnects are expected (a node restarts)
    return None


def shared_socket(host: str, port: int) -> socket.socket:
    """The public port, bound with ``SO_REUSEPORT``: every independent gateway on this host binds
    it too (same user only: Linux refuses another user's), and the kernel spreads connections."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


async def run(args: argparse.Namespace) -> None:
    try:
        sock = shared_socket(args.host, args.port)
    except OSError as exc:
        sys.stderr.write(f"rucksack gateway: cannot listen on {args.host}:{args.port}: {exc}\n")
        raise SystemExit(1) from exc
    watch = WriterWatch(args.journal, args.store)
    sys.stderr.write(f"rucksack: gateway {os.getpid()} finding the writer through {args.journal}\n")
    holder, welcome, link = await watch.first()
    data_dir = Path(str(holder.get("data_dir", ".")))
    spec = load_spec_text(welcome.config)
    service = GatewayService(data_dir, spec, welcome, link, sandbox=args.sandbox, store=args.store)
    service.on_link_lost = watch.on_link_lost
    watch.writer = str(holder.get("writer"))
    upstream = Upstream()
    upstream.point(str(holder.get("api", "")) or None)
    app = with_proxy(create_app(service, [lambda: watch.follow(service, upstream)]), service, upstream)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", ws_max_size=MAX_FRAME, loop="none"
    )
    sys.stderr.write(
        f"rucksack: gateway {os.getpid()} serving http://{args.host}:{args.port}, "
        f"linked to writer {watch.writer} at seq {welcome.seq}\n"
    )
    await uvicorn.Server(config).serve(sockets=[sock])


def main(args: argparse.Namespace) -> int:
    return start(run(args))
