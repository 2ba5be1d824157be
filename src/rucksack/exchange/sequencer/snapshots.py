"""Snapshot files: the engine's canonical state at an exact sequence number.

A file ``snapshot-<seq>.bin`` holds a small MessagePack header (format, seq, state hash) and the
snapshot body. Files are written to a temporary name, fsynced and renamed, so a crash never
leaves a half-written snapshot under a real name. Loading verifies the stored hash; a damaged
snapshot is skipped in favour of an older one (the journal still holds everything after it).
A snapshot is only taken once the journal is durable up to its sequence number. Files are
owner-only (0600). The ``keep`` newest are kept; older ones are deleted once a newer one is
safely on disk (the journal itself is never trimmed: it is the complete record).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec

from rucksack.exchange.core.state import Snapshot, decode_snapshot, encode_snapshot

FORMAT = "rucksack-snapshot-1"


class SnapshotHeader(msgspec.Struct, frozen=True):
    format: str
    seq: int
    state_hash: str


class SnapshotFile(msgspec.Struct, frozen=True):
    header: SnapshotHeader
    body: bytes


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SnapshotFile)


class SnapshotStore:
    def __init__(self, directory: Path, keep: int = 3) -> None:
        self.directory = directory
        self.keep = keep
        self.skipped: list[str] = []
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for partial in directory.glob("snapshot-*.tmp"):  # a crash mid-write left it; never a snapshot
            partial.unlink(missing_ok=True)

    def save(self, snapshot: Snapshot) -> tuple[Path, str]:
        body = encode_snapshot(snapshot)
        digest = hashlib.sha256(body).hexdigest()
        data = _encoder.encode(SnapshotFile(SnapshotHeader(FORMAT, snapshot.seq, digest), body))
        final = self.path_of(snapshot.seq)
        tmp = final.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        dfd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        for old in self.paths()[self.keep :]:
            old.unlink(missing_ok=True)
        return final, digest

    def path_of(self, seq: int) -> Path:
        """Where the snapshot at ``seq`` is (or would be) written."""
        return self.directory / f"snapshot-{seq:012d}.bin"

    def paths(self) -> list[Path]:
        """Snapshot files, newest first."""
        return sorted(self.directory.glob("snapshot-*.bin"), reverse=True)

    def load_latest(self, max_seq: int | None = None) -> tuple[Snapshot, str] | None:
        """Newest intact snapshot (optionally at or below ``max_seq``) and its state hash."""
        for path in self.paths():
            try:
                file = _decoder.decode(path.read_bytes())
                if file.header.format != FORMAT:
                    raise ValueError(f"unknown format {file.header.format}")
                digest = hashlib.sha256(file.body).hexdigest()
                if digest != file.header.state_hash:
                    raise ValueError("state hash mismatch")
                snapshot = decode_snapshot(file.body)
                if snapshot.seq != file.header.seq:
                    raise ValueError("sequence number mismatch")
            except (OSError, ValueError, msgspec.DecodeError) as exc:
                self.skipped.append(f"{path.name}: {exc}")
                continue
            if max_seq is not None and snapshot.seq > max_seq:
                continue
            return snapshot, digest
        return None
