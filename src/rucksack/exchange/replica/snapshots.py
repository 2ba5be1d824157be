"""Snapshots in JetStream's object store: the writer uploads them, a new standby starts from one.

The object ``latest`` in the bucket ``rucksack_snapshots`` (3 replicas) is one MessagePack
:class:`SnapshotObject`: the snapshot file exactly as the writer's data dir holds it (header with
seq and SHA-256 state hash, verified again on load), the command seq it is at, the stream
sequence to continue after (the last message whose commands are all at or below that seq), and
the exchange configuration text the journal was written with. The writer uploads each new local
snapshot (periodic, ``--snapshot-every``) within a second of writing it.

A standby started on an **empty** data dir seeds it from ``latest``: ``config.toml``, the
snapshot file, and ``journal.base`` (the local journal starts after that seq; the commands before
it are in the snapshot and the replicated stream), then follows the stream from the stored
position. Its read models start there too: order, fill and trade history before the snapshot is
not in its SQLite (with shared read models -- PostgreSQL -- nothing is missing). Without an
object, it replays the stream from the start.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from pathlib import Path

import msgspec
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NotFoundError, ObjectNotFoundError, ServiceUnavailableError

from rucksack.exchange.replica.link import SNAPSHOT_BUCKET, NatsLink
from rucksack.exchange.sequencer.datadir import CONFIG_NAME, JOURNAL_BASE_NAME, SNAPSHOT_DIR, init_data_dir
from rucksack.exchange.sequencer.snapshots import SnapshotStore

log = logging.getLogger(__name__)

OBJECT = "latest"


class SnapshotObject(msgspec.Struct, frozen=True):
    seq: int
    stream_seq: int
    config: str
    file: bytes


def snapshot_seq(path: Path) -> int:
    """The seq in a snapshot file's name (``snapshot-<seq>.bin``)."""
    return int(path.stem.split("-")[1])


def stream_position(positions: deque[tuple[int, int]], seq: int) -> int:
    """The stream sequence of the last message whose commands are all at or below ``seq`` (0 when
    not known any more: the follower then reads from the start and skips what it has)."""
    found = 0
    for last_seq, stream_seq in positions:
        if last_seq <= seq:
            found = stream_seq
        else:
            break
    if positions and positions[0][0] > seq:
        return 0
    return found


async def upload_forever(link: NatsLink, data_dir: Path, positions: deque[tuple[int, int]], every: float = 1.0) -> None:
    """The writer's uploader: each newer local snapshot goes to the object store as ``latest``."""
    store = await link.js.object_store(SNAPSHOT_BUCKET)
    config = (data_dir / CONFIG_NAME).read_text(encoding="utf-8")
    uploaded = 0
    while True:
        await asyncio.sleep(every)
        paths = SnapshotStore(data_dir / SNAPSHOT_DIR).paths()
        if not paths or snapshot_seq(paths[0]) <= uploaded:
            continue
        seq = snapshot_seq(paths[0])
        try:
            obj = SnapshotObject(seq, stream_position(positions, seq), config, paths[0].read_bytes())
            await store.put(OBJECT, msgspec.msgpack.encode(obj))
            uploaded = seq
            log.info("snapshot at %d uploaded to the object store (stream %d)", seq, obj.stream_seq)
        except Exception:  # the next round tries again; the stream holds everything meanwhile
            log.exception("snapshot upload at %d failed", seq)


def seed_data_dir(data_dir: Path, url: str) -> SnapshotObject | None:
    """Seed an empty data dir from the object store's latest snapshot (None: there is none)."""
    link = NatsLink(url, name="rucksack-seed")
    try:
        obj = link.call(_download(link), 120.0)
    finally:
        link.close()
    if obj is None:
        return None
    init_data_dir(data_dir, obj.config)
    SnapshotStore(data_dir / SNAPSHOT_DIR)  # creates the directory, owner-only
    final = data_dir / SNAPSHOT_DIR / f"snapshot-{obj.seq:012d}.bin"
    _write(final, obj.file)
    _write(data_dir / JOURNAL_BASE_NAME, f"{obj.seq}\n".encode())
    return obj


# what a JetStream election looks like to a client (a node lost: 4-9 s in nats-server 2.9)
ELECTION = (NatsTimeout, NoRespondersError, ServiceUnavailableError)
DOWNLOAD_PATIENCE_S = 60.0


async def _download(link: NatsLink) -> SnapshotObject | None:
    """The latest snapshot object, waiting out a JetStream election (None: there is none)."""
    deadline = asyncio.get_running_loop().time() + DOWNLOAD_PATIENCE_S
    while True:
        try:
            store = await link.js.object_store(SNAPSHOT_BUCKET)
            result = await store.get(OBJECT)
        except (ObjectNotFoundError, NotFoundError):
            return None
        except ELECTION:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("the snapshot store did not answer (an election?); trying again")
            await asyncio.sleep(0.5)
            continue
        return msgspec.msgpack.decode(result.data or b"", type=SnapshotObject)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


__all__ = ["SnapshotObject", "seed_data_dir", "stream_position", "upload_forever"]
