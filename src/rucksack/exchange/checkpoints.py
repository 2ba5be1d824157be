"""The exchange's side of the public chain of commitments (docs/reserves.md, "The chain of commitments").

A **checkpoint** at seq S is a signed record (layout and checks: ``rucksack.reserves.chain``) of the
state hash at S, the Merkle root of the segment of the journal since the previous checkpoint, the
previous record's hash and, when a reserves snapshot is cut at S, its liabilities root. The writer
cuts one at every periodic engine snapshot, at least hourly (``server.hourly_checkpoints``), with
every reserves snapshot and on an operator's demand, and journals it as ``PublishCheckpoint`` (after
S: the record is about the state it cannot be part of). The chain is therefore in the journal: every
node (restarted writer, standby, the new writer after a failover) files the records it reads.

What this module keeps, per node:

- the segment in progress: one leaf per command applied after the head record's seq, one per
  order it accepted and one per side of each trade (``leaves_of``: a pure function of the journaled
  command and its events, so an auditor replaying the journal derives the same leaves);
- ``DATA/chain/records/<seq>.json``: each record as published (canonical JSON);
- ``DATA/chain/segments/<seq>.msgpack``: that record's leaf hashes and the users' leaves (for their
  inclusion proofs); ``DATA/chain/base/``: the engine snapshot each checkpoint was cut from.

Sync: the leaves of the segment in progress are complete only if this node saw every command after
the head record. At start it replays the journal from the newest engine snapshot at or below the
head's seq (or from genesis) to find them; a node that cannot (a standby seeded after the head)
becomes synced at the next record it files. Filing a record it holds the whole segment of, a node
checks the record's segment root against its own leaves (a standby thereby audits the writer).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
from nacl.signing import SigningKey

from rucksack.exchange.api.wire import Wire
from rucksack.exchange.core.commands import PublishCheckpoint, Stamped
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import CheckpointPublished, Event, OrderAccepted, TradeExecuted
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.state import Snapshot, restore
from rucksack.exchange.sequencer.journal import encode_entry
from rucksack.reserves.chain import GENESIS, VERSION, merkle_root, record_hash, signed_message
from rucksack.reserves.signing import canonical_json

log = logging.getLogger(__name__)

CHAIN_DIR = "chain"
HOUR_US = 3_600_000_000
CHECKPOINT_EVERY = 100_000
"""Commands in the segment in progress that force a checkpoint (and its snapshot) even between
periodic snapshots: the writer keeps each command and its events until its segment is sealed."""


class CheckpointUnavailable(RuntimeError):
    """This node cannot publish a checkpoint now (a standby, halted, not synced, one being sealed)."""


class Cut(NamedTuple):
    """A checkpoint's capture: the engine snapshot at its seq and the segment's commands."""

    snapshot: Snapshot
    items: list[tuple[Stamped, list[Event]]]


def chain_key(data_dir: Path) -> SigningKey:
    """The exchange's long-lived ED25519 key, shared with the reserves snapshots
    (``DATA/reserves/private/signing.key``, made on first use; every node of a replicated
    deployment must hold the same one)."""
    from rucksack.exchange.reserves_export import signing_key_path
    from rucksack.reserves.build import load_signing_key

    return load_signing_key(signing_key_path(data_dir), create=True)


class Leaf(NamedTuple):
    seq: int
    hash: bytes
    account: int  # -1: a command leaf (nobody's own record)
    doc: dict[str, Any] | None


_json = msgspec.json.Encoder()


def _leaf(doc: dict[str, Any]) -> bytes:
    """``rucksack.reserves.chain.leaf_hash`` for a leaf whose keys are already sorted and whose
    strings are ASCII: msgspec then writes exactly ``canonical_json`` (compact, in key order), ten
    times faster than ``json.dumps(sort_keys=True)`` on the command path (tests/unit/exchange/
    test_checkpoints.py checks the two agree)."""
    return hashlib.sha256(b"\x00" + _json.encode(doc)).digest()


def leaves_of(wire: Wire, entry: Stamped, events: list[Event]) -> list[Leaf]:
    """The segment leaves of one journaled command: the command, then its accepted orders, then
    both sides of each of its trades (``rucksack.reserves.chain`` gives the hashing). Every dict is
    written with its keys in sorted order (see ``_leaf``)."""
    seq = entry.seq
    digest = hashlib.sha256(encode_entry(entry)).hexdigest()
    command = {"kind": "command", "seq": seq, "sha256": digest, "ts_us": entry.ts_us}
    out = [Leaf(seq, _leaf(command), -1, None)]
    for ev in events:
        if type(ev) is OrderAccepted:
            o = ev.order
            m = wire.markets[o.market]
            doc = {
                "account": o.account,
                "clientId": o.client_id if o.client_id >= 0 else None,
                "kind": "order",
                "orderId": str(ev.order_id),
                "orderType": o.order_type,
                "price": m.price(o.price) if o.price else None,
                "quantity": m.qty(o.lots) if o.lots else None,
                "seq": seq,
                "side": o.side,
                "symbol": o.market,
            }
            out.append(Leaf(seq, _leaf(doc), o.account, doc))
        elif type(ev) is TradeExecuted:
            m = wire.markets[ev.market]
            price, quantity = m.price(ev.price), m.qty(ev.lots)
            maker_side = "Ask" if ev.taker_side == "Bid" else "Bid"
            for account, order_id, side, is_maker in (
                (ev.taker_account, ev.taker_order_id, ev.taker_side, False),
                (ev.maker_account, ev.maker_order_id, maker_side, True),
            ):
                doc = {
                    "account": account,
                    "isMaker": is_maker,
                    "kind": "fill",
                    "orderId": str(order_id),
                    "price": price,
                    "quantity": quantity,
                    "seq": seq,
                    "side": side,
                    "symbol": ev.market,
                    "tradeId": ev.trade_id,
                }
                out.append(Leaf(seq, _leaf(doc), account, doc))
    return out


class SegmentFile(msgspec.Struct):
    first: int
    last: int
    hashes: bytes  # 32 bytes per leaf, in order
    users: list[tuple[int, int, str]]  # (leaf index, account, canonical JSON of the leaf)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


Applied = tuple[Stamped, list[Event]]
"""A command as applied and its events (immutable once applied): what a segment's leaves come from."""


class Checkpointer:
    """The chain as this node knows it, and the commands of the segment in progress.

    The command path only appends (command, events) (``applied``): leaves are hashed when a checkpoint
    is sealed, in the snapshot thread on the writer (``make_record``), or when a follower files a
    record (``file``). Everything but ``make_record`` runs in the event loop's thread."""

    def __init__(self, data_dir: Path, spec: ExchangeSpec) -> None:
        self.root = data_dir / CHAIN_DIR
        self.wire = Wire(spec)
        self.spec = spec
        self.records: list[dict[str, Any]] = []
        for path in sorted((self.root / "records").glob("*.json")):
            self.records.append(json.loads(path.read_bytes()))
        self.pending: list[Applied] = []
        self.known_after: int | None = None  # the pending commands are complete for every seq above this
        self.mismatch: str | None = None  # a filed record whose segment root differs from ours
        self._sealed: tuple[int, str] | None = None  # (seq, root) of the record this writer sealed last

    # -- what the node sees ------------------------------------------------------------------

    @property
    def head(self) -> dict[str, Any] | None:
        return self.records[-1] if self.records else None

    @property
    def head_seq(self) -> int:
        return int(self.records[-1]["seq"]) if self.records else 0

    @property
    def synced(self) -> bool:
        return self.known_after is not None and self.known_after <= self.head_seq

    def track_from(self, seq: int) -> None:
        """Every command after ``seq`` will be handed to :meth:`applied`."""
        self.pending = []
        self.known_after = seq

    def applied(self, entry: Stamped, events: list[Event]) -> None:
        """A command was applied (writer or follower): it joins the segment in progress."""
        if self.known_after is not None:
            self.pending.append((entry, events))
            if len(self.pending) > 2 * CHECKPOINT_EVERY and not self.synced:  # no record is coming to use them
                self.track_from(entry.seq)

    def released(self, events: list[Event]) -> None:
        """A durable command's events: file the records among them."""
        for ev in events:
            if type(ev) is CheckpointPublished:
                self.file(ev.record)

    def leaves(self, items: list[Applied]) -> list[Leaf]:
        return [leaf for entry, events in items for leaf in leaves_of(self.wire, entry, events)]

    def file(self, record_json: str) -> None:
        """A record entered the journal: keep it, write its files, start the next segment."""
        record = json.loads(record_json)
        seq = int(record["seq"])
        if seq <= self.head_seq:  # filed already (recovery replays what was filed before a restart)
            self._drop_upto(self.head_seq)
            return
        first = self.head_seq + 1
        if self._sealed == (seq, record["segment"]["root"]):
            pass  # this writer sealed it: its segment file is written already
        elif self.synced:
            mine = self.leaves([item for item in self.pending if first <= item[0].seq <= seq])
            root = merkle_root([leaf.hash for leaf in mine]).hex()
            if root != record["segment"]["root"] or len(mine) != record["segment"]["size"]:
                self.mismatch = f"record {seq}: segment root {record['segment']['root']}, this node's {root}"
                log.critical("chain: %s", self.mismatch)
            else:
                self._write_segment(first, seq, mine)
        _write_atomic(self.root / "records" / f"{seq:012d}.json", canonical_json(record))
        self.records.append(record)
        self._drop_upto(seq)

    def _drop_upto(self, seq: int) -> None:
        pending = self.pending
        cut = 0
        while cut < len(pending) and pending[cut][0].seq <= seq:
            cut += 1
        del pending[:cut]

    def _write_segment(self, first: int, last: int, leaves: list[Leaf]) -> None:
        users = [(i, leaf.account, _json.encode(leaf.doc).decode()) for i, leaf in enumerate(leaves) if leaf.doc]
        segment = SegmentFile(first, last, b"".join(leaf.hash for leaf in leaves), users)
        _write_atomic(self.root / "segments" / f"{last:012d}.msgpack", msgspec.msgpack.encode(segment))

    # -- the writer's cut ----------------------------------------------------------------------

    def segment_upto(self, seq: int) -> list[Applied]:
        """The commands of the segment from the head record up to ``seq`` (synced nodes only)."""
        if not self.synced:
            raise RuntimeError("this node has not seen every command since the last checkpoint")
        first = self.head_seq + 1
        return [item for item in self.pending if first <= item[0].seq <= seq]

    def make_record(
        self, seq: int, ts_us: int, state_hash: str, items: list[Applied], key: SigningKey, liabilities_root: str | None
    ) -> PublishCheckpoint:
        """Hash the segment's leaves, write its file and sign the record for the state at ``seq``
        (the snapshot thread: reads only the head, which nothing else changes while a cut is sealed)."""
        head = self.head
        first = self.head_seq + 1
        leaves = self.leaves(items)
        root = merkle_root([leaf.hash for leaf in leaves]).hex()
        self._write_segment(first, seq, leaves)
        record: dict[str, Any] = {
            "version": VERSION,
            "seq": seq,
            "ts_us": ts_us,
            "state_hash": state_hash,
            "segment": {"first": first, "last": seq, "size": len(leaves), "root": root},
            "prev_hash": record_hash(head) if head is not None else GENESIS,
            "liabilities_root": liabilities_root,
            "public_key": key.verify_key.encode().hex(),
        }
        record["signature"] = key.sign(signed_message(record)).signature.hex()
        self._sealed = (seq, root)
        return PublishCheckpoint(seq, canonical_json(record).decode())

    def save_base(self, snapshot_path: Path) -> None:
        """Keep the engine snapshot a checkpoint was cut from (a hard link: pruning the periodic
        snapshots does not remove it); the two newest are kept."""
        base = self.root / "base"
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = base / snapshot_path.name
        if not target.exists():
            os.link(snapshot_path, target)
        for old in sorted(base.glob("snapshot-*.bin"), reverse=True)[2:]:
            old.unlink(missing_ok=True)

    def proofs(self, account: int, from_seq: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        return own_proofs(self.root.parent, account, from_seq, limit)


# -- reading the files (what the API serves; a gateway process reads the same data dir) ------------


def _seq_of(path: Path) -> int:
    return int(path.name.split(".")[0])


def read_records(data_dir: Path, from_seq: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """The filed records at or after ``from_seq``, oldest first, at most ``limit``."""
    paths = [p for p in sorted((data_dir / CHAIN_DIR / "records").glob("*.json")) if _seq_of(p) >= from_seq]
    return [json.loads(p.read_bytes()) for p in paths[:limit]]


def newest_seq(data_dir: Path) -> int | None:
    """The newest filed record's seq, or None before the first."""
    paths = sorted((data_dir / CHAIN_DIR / "records").glob("*.json"))
    return _seq_of(paths[-1]) if paths else None


def record_at(data_dir: Path, seq: int) -> dict[str, Any] | None:
    path = data_dir / CHAIN_DIR / "records" / f"{seq:012d}.json"
    return json.loads(path.read_bytes()) if path.is_file() else None


def own_proofs(data_dir: Path, account: int, from_seq: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Inclusion proofs of ``account``'s own leaves in the checkpoints at or after ``from_seq``."""
    from rucksack.reserves.chain import inclusion_path

    out: list[dict[str, Any]] = []
    if limit <= 0:
        return out
    for path in sorted((data_dir / CHAIN_DIR / "segments").glob("*.msgpack")):
        seq = _seq_of(path)
        if seq < from_seq or not (data_dir / CHAIN_DIR / "records" / f"{seq:012d}.json").is_file():
            continue  # (a segment whose record never entered the journal is not served)
        segment = msgspec.msgpack.decode(path.read_bytes(), type=SegmentFile)
        mine = [(i, doc) for i, owner, doc in segment.users if owner == account]
        if not mine:
            continue
        hashes = [segment.hashes[i : i + 32] for i in range(0, len(segment.hashes), 32)]
        for index, doc in mine:
            out.append(
                {
                    "checkpoint": seq,
                    "leaf": json.loads(doc),
                    "index": index,
                    "size": len(hashes),
                    "path": [h.hex() for h in inclusion_path(hashes, index)],
                }
            )
            if len(out) >= limit:
                return out
    return out


def sync_checkpointer(checkpointer: Checkpointer, data_dir: Path, upto: int) -> None:
    """At start: replay the journal from the newest engine snapshot at or below the head record's
    seq (periodic or a checkpoint's base; genesis when the journal starts there) up to ``upto``,
    so the segment in progress is complete. A data dir without one (a standby seeded from a newer
    replicated snapshot) stays unsynced until the next record it files."""
    from rucksack.exchange.sequencer.datadir import JOURNAL_NAME, SNAPSHOT_DIR, journal_base
    from rucksack.exchange.sequencer.journal import ScanResult, read_journal
    from rucksack.exchange.sequencer.snapshots import SnapshotStore

    head = checkpointer.head_seq
    bases = [SnapshotStore(data_dir / SNAPSHOT_DIR).load_latest(max_seq=head)]
    if (checkpointer.root / "base").is_dir():
        bases.append(SnapshotStore(checkpointer.root / "base").load_latest(max_seq=head))
    found = [b[0] for b in bases if b is not None]
    base = max(found, key=lambda snap: snap.seq) if found else None
    if base is None and journal_base(data_dir) > 0:
        log.warning("chain: no engine snapshot at or before checkpoint %d; synced at the next record", head)
        checkpointer.track_from(upto)  # every command from here on: complete once a record past it is filed
        return
    entries = read_journal(data_dir / JOURNAL_NAME, ScanResult(), after_seq=base.seq if base is not None else 0)
    replay_leaves(checkpointer, base, entries, upto)


def replay_leaves(
    checkpointer: Checkpointer, base: Snapshot | None, entries: list[Stamped] | Any, upto: int
) -> Engine | None:
    """Bring ``checkpointer``'s segment in progress up to ``upto`` by replaying ``entries`` (the
    journal after ``base``, or from genesis when ``base`` is None); files the records met on the way."""
    engine = restore(checkpointer.spec, base) if base is not None else Engine(checkpointer.spec)
    checkpointer.track_from(engine.last_seq)
    for entry in entries:
        if entry.seq > upto:
            break
        events = engine.apply(entry.command, entry.seq, entry.ts_us)
        checkpointer.applied(entry, events)
        checkpointer.released(events)
    return engine


__all__ = [
    "CHAIN_DIR",
    "CHECKPOINT_EVERY",
    "HOUR_US",
    "CheckpointUnavailable",
    "Checkpointer",
    "Cut",
    "Leaf",
    "SegmentFile",
    "chain_key",
    "leaves_of",
    "newest_seq",
    "own_proofs",
    "read_records",
    "record_at",
    "replay_leaves",
    "sync_checkpointer",
]
