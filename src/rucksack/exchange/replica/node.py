"""A venue process on the replicated journal: follow the stream, take the lease, then write.

Every ``rucksack serve --journal nats://...`` process starts as a follower: it applies every
command of the stream after its own state to its engine through the sequencer's follow path
(local journal, group commit, read models: the same code as a writer's commands), so its state
hash equals the writer's at every sequence number. Then:

- without ``--standby`` it takes the lease at once, or exits non-zero naming the holder;
- with ``--standby`` it keeps following until the lease lapses (the writer died or stalled) and
  takes it then.

Taking over: acquire the lease, read the stream to its end, and append this writer's marker with
the expected-last-sequence of the last message applied; if anything was appended meanwhile (the
deposed writer's last group), the marker is refused, so read on and try again. Once the marker is
in, no earlier writer can append (:mod:`rucksack.exchange.replica.stream`) and this process
serves the API. A writer that loses its lease or finds an append refused is fenced: ``on_fenced``
(the server halts writes and exits; a supervisor restarts it as a standby on a fresh data dir).

Snapshots: the writer uploads each periodic snapshot it writes to the object store, with the
command seq and the stream sequence to continue from (``rucksack_snapshots``, object ``latest``);
a follower whose data dir is empty starts from it (see :mod:`rucksack.exchange.replica.snapshots`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from rucksack.exchange.core.commands import Stamped
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.replica.lease import DEFAULT_TTL, Lease
from rucksack.exchange.replica.link import STREAM, SUBJECT, NatsLink, ensure_streams
from rucksack.exchange.replica.snapshots import upload_forever
from rucksack.exchange.replica.stream import TRANSIENT, Fenced, StreamWriter, decode_group, header_int
from rucksack.exchange.sequencer.datadir import Exchange

log = logging.getLogger(__name__)

BATCH = 256


class Followed(Protocol):
    """What the follower drives (the service): the exchange and its release of durable events."""

    @property
    def exchange(self) -> Exchange: ...

    def catch_up(self) -> None: ...

    def follow(self, entry: Stamped) -> None: ...


class LeaseHeld(RuntimeError):
    """A primary (no ``--standby``) found the lease held by another writer."""


class ReplicatedNode:
    def __init__(
        self,
        service: Followed,
        url: str,
        *,
        address: str = "",
        lease_ttl: float = DEFAULT_TTL,
        on_fenced: Callable[[str], None] | None = None,
        start_after: int = 0,
        published: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self.exchange = service.exchange
        self.writer_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.link = NatsLink(url, name=f"rucksack-{self.writer_id}")
        self.link.call(ensure_streams(self.link.js, lease_ttl), timeout=30)
        self.lease = Lease(self.link, self.writer_id, address, lease_ttl, published)
        self.fenced: str | None = None
        self._on_fenced = on_fenced
        self.stream = StreamWriter(self.link, self.writer_id, self.lease.valid, self._fence)
        self.exchange.journal.replica = self.stream
        self.stream_seq = start_after  # stream sequence of the last message applied (or to start after)
        self.positions = self.stream.groups  # (last command seq, stream seq) of recent messages
        self.markers: list[int] = []  # epochs seen, in order
        self._sub: Any = None
        self._idle_fetches = 0
        self.exit_hooks: list[Callable[[], None]] = []  # run before an abrupt exit (fenced): cleanup
        self.closed = False

    def run_exit_hooks(self) -> None:
        for hook in self.exit_hooks:
            with contextlib.suppress(Exception):  # exiting anyway: the others still run
                hook()

    @property
    def engine(self) -> Engine:
        return self.exchange.engine

    # -- following ------------------------------------------------------------------------------

    def poll(self, timeout: float = 0.2) -> int:
        """Apply what the stream holds after ``stream_seq`` (one fetch); return messages applied."""
        return self._apply_all(self._fetch(timeout))

    def _apply_all(self, msgs: list[Any]) -> int:
        for msg in msgs:
            self._apply(int(msg.metadata.sequence.stream), msg.headers, msg.data)
        if msgs:
            self.service.catch_up()  # local group commit + read models, before anything reads them
        return len(msgs)

    def _apply(self, stream_seq: int, headers: dict[str, str] | None, data: bytes) -> None:
        if stream_seq != self.stream_seq + 1:
            raise RuntimeError(f"stream message {stream_seq} does not follow {self.stream_seq}")
        if not data:  # a writer's marker
            self.markers.append(header_int(headers, "Rk-Epoch"))
        for entry in decode_group(data):
            if entry.seq > self.exchange.sequencer.seq:
                self.service.follow(entry)
        self.stream_seq = stream_seq
        self.positions.append((self.exchange.sequencer.seq, stream_seq))

    def _fetch(self, timeout: float) -> list[Any]:
        try:
            return list(self.link.call(self._fetch_async(timeout), timeout + 3.0))
        except TRANSIENT:
            self._reset()
            return []
        except Exception as exc:  # consumer gone with its node: make a new one
            log.warning("stream fetch failed (%s); resubscribing at %d", exc, self.stream_seq + 1)
            self._reset()
            return []

    async def _fetch_async(self, timeout: float) -> list[Any]:
        if self._sub is None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.stream_seq + 1,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=10.0,
                mem_storage=True,
                num_replicas=1,
            )
            self._sub = await self.link.js.pull_subscribe(SUBJECT, stream=STREAM, config=config)
        try:
            msgs = await self._sub.fetch(BATCH, timeout=timeout)
        except TRANSIENT:
            self._idle_fetches += 1
            if self._idle_fetches >= 10 and await self._stream_last() > self.stream_seq:
                raise  # idle while the stream has more: the consumer went with its node
            return []
        self._idle_fetches = 0
        return list(msgs)

    def _reset(self) -> None:
        sub, self._sub = self._sub, None
        self._idle_fetches = 0
        if sub is not None:
            with contextlib.suppress(Exception):  # its node is gone; the server drops it after inactive_threshold
                self.link.call(sub.unsubscribe(), 2.0)

    async def _stream_last(self) -> int:
        info = await self.link.js.stream_info(STREAM)
        return int(info.state.last_seq)

    def stream_last(self) -> int:
        return self.link.call(self._stream_last(), 5.0)

    def catch_up_to_end(self, timeout: float = 30.0) -> None:
        """Apply the stream up to its last message as of now."""
        deadline = time.monotonic() + timeout
        end = self.stream_last()
        while self.stream_seq < end:
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream catch-up stuck at {self.stream_seq} of {end}")
            self.poll(0.2)

    # -- becoming the writer --------------------------------------------------------------------

    def run_until_writer(self, standby: bool, on_follow: Callable[[], None] | None = None) -> None:
        """Follow the stream; take over when the lease is free (a primary refuses when it is held)."""
        if not standby:
            holder = self.link.call(self.lease.holder(), 5.0)
            if holder is not None or not self.link.call(self.lease.try_acquire(), 5.0):
                who = holder or {}
                raise LeaseHeld(f"the writer lease is held by {who.get('writer')} at {who.get('address')}")
            self._take_over()
            return
        while True:
            if self.link.call(self.lease.try_take_over(), 5.0):
                self._take_over()
                return
            self.poll(0.1)
            if on_follow is not None:
                on_follow()

    async def follow_until_writer(self) -> None:
        """:meth:`run_until_writer` for a standby inside an event loop that serves meanwhile (the
        sequencer process behind warm gateways): the waits on NATS run in a worker thread, the
        commands are applied in the loop's thread (the engine's only writer), and the takeover
        itself (short: the rest of the stream, the marker) in the loop's thread too."""
        while True:
            if await asyncio.to_thread(self.link.call, self.lease.try_take_over(), 5.0):
                self._take_over()
                return
            self._apply_all(await asyncio.to_thread(self._fetch, 0.1))

    def _take_over(self) -> None:
        started = time.monotonic()
        for _ in range(100):
            self.catch_up_to_end()
            try:
                self.stream.take_over(self.stream_seq, epoch=self.lease.revision)
            except Fenced:
                continue  # the deposed writer's last group landed first: read it, then try again
            self.stream_seq = self.stream.stream_last
            self.link.spawn(self.lease.renew_forever(self._fence))
            self.link.spawn(upload_forever(self.link, self.exchange.path, self.positions))
            log.warning(
                "writer %s took over at seq %d (stream %d, epoch %d) in %.3f s",
                self.writer_id,
                self.engine.last_seq,
                self.stream_seq,
                self.lease.revision,
                time.monotonic() - started,
            )
            return
        raise RuntimeError("could not append the takeover marker")

    def _fence(self, why: str) -> None:
        if self.fenced is None:
            self.fenced = why
            self.exchange.sequencer.halt(Fenced(why))
            log.critical("writer %s fenced: %s; it appends nothing more", self.writer_id, why)
            if self._on_fenced is not None:
                self._on_fenced(why)

    def close(self) -> None:
        """At a clean shutdown, after the exchange closed (every group appended): give the lease
        up, so a standby takes over at once instead of after the TTL, and disconnect. Idempotent."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):  # the cluster is gone: the lease lapses by itself
            self.link.call(self.lease.release(), 5.0)
        self.link.close()


def read_stream(url: str, after: int = 0) -> list[tuple[int, dict[str, str], list[Stamped]]]:
    """Every message of the replicated journal after stream sequence ``after``: (stream seq,
    headers, entries). For checks (the chaos command), not for serving."""
    link = NatsLink(url, name="rucksack-reader")
    try:
        return link.call(_read_all(link, after), 120.0)
    finally:
        link.close()


def replay_stream(url: str, spec: ExchangeSpec) -> Engine:
    """A fresh engine with every command of the stream applied (from scratch); ValueError when a
    command seq is missing or written twice."""
    engine = Engine(spec)
    for stream_seq, _, entries in read_stream(url):
        for entry in entries:
            if entry.seq != engine.last_seq + 1:
                raise ValueError(f"stream message {stream_seq} holds seq {entry.seq} after {engine.last_seq}")
            engine.apply(entry.command, entry.seq, entry.ts_us)
    return engine


async def _read_all(link: NatsLink, after: int) -> list[tuple[int, dict[str, str], list[Stamped]]]:
    info = await link.js.stream_info(STREAM)
    end = int(info.state.last_seq)
    out: list[tuple[int, dict[str, str], list[Stamped]]] = []
    if end <= after:
        return out
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=after + 1,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=10.0,
        mem_storage=True,
        num_replicas=1,
    )
    sub = await link.js.pull_subscribe(SUBJECT, stream=STREAM, config=config)
    while not out or out[-1][0] < end:
        for msg in await sub.fetch(BATCH, timeout=5.0):
            out.append((int(msg.metadata.sequence.stream), dict(msg.headers or {}), decode_group(msg.data)))
    await sub.unsubscribe()
    return out


def connect_replicated(
    service: Followed,
    url: str,
    *,
    standby: bool,
    address: str,
    start_after: int = 0,
    published: dict[str, str] | None = None,
) -> ReplicatedNode:
    """``serve --journal``: connect to the cluster and apply the stream up to its end. A writer
    that is fenced later halts and exits with status 75 (see :meth:`ReplicatedNode._fence`),
    after its ``exit_hooks``. ``published`` goes into the lease's value while this process holds
    it (where independent gateways find its link: ``gateway.discovery``)."""

    def exit_fenced(why: str) -> None:
        sys.stderr.write(f"rucksack: fenced ({why}): this writer stops; restart it as a standby\n")
        sys.stderr.flush()
        node.run_exit_hooks()
        os._exit(75)

    node = ReplicatedNode(
        service, url, address=address, on_fenced=exit_fenced, start_after=start_after, published=published
    )
    role = "standby" if standby else "primary"
    sys.stderr.write(f"rucksack: {role} {node.writer_id} following {url} from seq {node.engine.last_seq}\n")
    started = time.monotonic()
    node.catch_up_to_end(timeout=600.0)
    elapsed = time.monotonic() - started
    sys.stderr.write(f"rucksack: caught up with the stream at seq {node.engine.last_seq} in {elapsed:.2f} s\n")
    return node


def become_writer(node: ReplicatedNode, *, standby: bool) -> bool:
    """Follow until this process holds the lease and has appended its marker; False when a
    primary found the lease held (said on stderr)."""
    try:
        node.run_until_writer(standby)
    except LeaseHeld as exc:
        sys.stderr.write(f"rucksack: {exc}; start with --standby to follow it\n")
        node.close()
        return False
    sys.stderr.write(f"rucksack: writer {node.writer_id} at seq {node.engine.last_seq} (epoch {node.lease.revision})\n")
    return True


__all__ = ["LeaseHeld", "ReplicatedNode", "become_writer", "connect_replicated", "read_stream", "replay_stream"]
