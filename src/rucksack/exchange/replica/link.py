"""One NATS connection on its own thread and event loop, and the JetStream names the venue uses.

The journal's flusher thread, the lease renewal and the standby's follower all talk to JetStream
through one :class:`NatsLink`: a daemon thread runs an asyncio loop holding the connection, and
other threads run coroutines on it with :meth:`NatsLink.call` (blocking, with a timeout). The
client reconnects to any node of the cluster within 0.1 s of losing one, forever.

Names: the journal stream ``RUCKSACK_JOURNAL`` (subject ``rucksack.journal``, file storage,
3 replicas, never trimmed: it is the replicated record), the lease bucket ``rucksack_writer``
(key ``writer``, history 1, a TTL) and the snapshot object store ``rucksack_snapshots``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, ObjectStoreConfig, StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError

T = TypeVar("T")

STREAM = "RUCKSACK_JOURNAL"
SUBJECT = "rucksack.journal"
LEASE_BUCKET = "rucksack_writer"
LEASE_KEY = "writer"
SNAPSHOT_BUCKET = "rucksack_snapshots"
REPLICAS = 3


def parse_servers(url: str) -> list[str]:
    """``nats://a:1,b:2`` or ``nats://a:1,nats://b:2`` -> ``["nats://a:1", "nats://b:2"]``."""
    servers = []
    for part in url.split(","):
        part = part.strip()
        if not part:
            continue
        servers.append(part if "://" in part else f"nats://{part}")
    if not servers or not all(s.startswith("nats://") for s in servers):
        raise ValueError(f"not a nats:// server list: {url!r}")
    return servers


class NatsLink:
    """A NATS connection served by its own thread; :meth:`call` runs a coroutine on it."""

    def __init__(self, url: str, name: str = "rucksack") -> None:
        self.servers = parse_servers(url)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="nats-link", daemon=True)
        self._thread.start()
        self.nc: Client = self.call(self._connect(name), timeout=30)
        self.js: JetStreamContext = self.nc.jetstream(timeout=2)

    async def _connect(self, name: str) -> Client:
        async def quiet(exc: Exception) -> None:  # reconnects are expected (a node restarts)
            return None

        return await nats.connect(
            servers=self.servers,
            name=name,
            connect_timeout=2,
            reconnect_time_wait=0.1,
            max_reconnect_attempts=-1,
            ping_interval=1,
            max_outstanding_pings=2,
            error_cb=quiet,
        )

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        """Run ``coro`` on the link's loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Start ``coro`` on the link's loop without waiting (a concurrent Future)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing after the cluster went away: nothing to flush
            self.call(self.nc.close(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


async def ensure_streams(js: JetStreamContext, lease_ttl: float, timeout: float = 20.0) -> None:
    """Create the journal stream, the lease bucket and the snapshot store if missing (idempotent;
    retried while a just-started cluster elects its leaders)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await _ensure(js, lease_ttl)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _ensure(js: JetStreamContext, lease_ttl: float) -> None:
    """Each one is created when missing; an existing one is used as it is (its creator chose)."""
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        config = StreamConfig(
            name=STREAM,
            subjects=[SUBJECT],
            storage=StorageType.FILE,
            num_replicas=REPLICAS,
            duplicate_window=120.0,
            allow_direct=True,
        )
        await js.add_stream(config)
    try:
        await js.key_value(LEASE_BUCKET)
    except BucketNotFoundError:
        await js.create_key_value(KeyValueConfig(bucket=LEASE_BUCKET, history=1, ttl=lease_ttl, replicas=REPLICAS))
    try:
        await js.object_store(SNAPSHOT_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        await js.create_object_store(SNAPSHOT_BUCKET, ObjectStoreConfig(replicas=REPLICAS))


async def _drop(js: JetStreamContext) -> None:
    for name in (STREAM, f"KV_{LEASE_BUCKET}", f"OBJ_{SNAPSHOT_BUCKET}"):
        with contextlib.suppress(Exception):  # not there: nothing to drop
            await js.delete_stream(name)


def drop_venue_streams(url: str) -> None:
    """Delete the journal stream, the lease bucket and the snapshot store (a fresh venue; tests)."""
    link = NatsLink(url, name="rucksack-drop")
    try:
        link.call(_drop(link.js), 30.0)
    finally:
        link.close()


__all__ = [
    "LEASE_BUCKET",
    "LEASE_KEY",
    "REPLICAS",
    "SNAPSHOT_BUCKET",
    "STREAM",
    "SUBJECT",
    "NatsLink",
    "drop_venue_streams",
    "ensure_streams",
    "parse_servers",
]
