"""Append-only command journal: framed, checksummed records, group commit.

File layout (format 2): an 8-byte magic ``RKJOURN2`` then records, each ``<u32 length><u32 crc32>
<u32 epoch>`` followed by ``length`` bytes of payload (a MessagePack
:class:`~rucksack.exchange.core.commands.Stamped`); the checksum covers the epoch field and the
payload. The **writer epoch** is the number of the writer that appended the record: each time a
writer opens the data directory it takes the next epoch (``sequencer.writer_lock``), so the
epochs of a journal never decrease. Format 1 files (magic ``RKJOURN1``, ``<u32 length><u32
crc32>`` headers, no epoch: read as epoch 0) are still read; a writer that finds a format-1 active
file holding entries archives it as a segment (:meth:`JournalWriter.rotate`'s naming) and starts
a format-2 file, so no file ever mixes the two.

One history: along the whole journal (every segment, then the active file) sequence numbers are
contiguous, timestamps never go backwards and epochs never go backwards. A journal holding
records of two histories (two writers on one directory, files spliced together) breaks one of
these, and reading it raises :class:`JournalCorrupt` naming the file, byte offset and sequence
number where the second history begins; nothing is replayed past it.

Reading distinguishes two kinds of damage:
- a **torn tail** (a crash mid-write): the last record is incomplete, runs past the end of the
  file, fails its checksum with nothing after it, or is followed only by zero bytes. It was never
  acknowledged (acks follow the fsync), so it is reported and, on opening for writing, truncated;
- **corruption** anywhere else (a bad record followed by more data, a payload that does not
  decode, a gap in sequence numbers, a timestamp or epoch going backwards): :class:`JournalCorrupt`
  names the byte offset and nothing is skipped.

Segments: :meth:`JournalWriter.rotate` (called at periodic snapshots, when everything queued is
durable) renames the active file to ``journal-<first seq>-<last seq>.log`` beside it and starts a
new active file at the next sequence number. Archived segments are never deleted (the journal is
the complete record); :func:`read_journal` reads the archived segments, then the active file, and
skips unopened every segment that ends at or before the sequence number recovery starts from.
A torn tail is possible only in the active file; an archived segment that is incomplete, or a gap
between segments, is corruption.

Writing: :meth:`JournalWriter.append` frames and queues a record; everything queued is written
with one ``write`` and one ``fdatasync`` (group commit), after which ``durable_seq`` advances.
A command counts as acknowledged only once ``durable_seq`` covers it. Two ways to drive groups:

- ``threaded=True``: a flusher thread syncs whatever is queued, continuously (the in-process
  benchmarks and anything without an event loop);
- ``threaded=False``: the owner calls :meth:`JournalWriter.flush` — the server does it from its
  event loop once per loop iteration, so requests that arrive during a sync form the next group
  and no thread hand-off is paid per order.

Replication (``rucksack serve --journal nats://...``, :mod:`rucksack.exchange.replica`): when
``replica`` is set, each group, once written and synced here, is handed to
``replica.append_group(records, last_seq)`` before ``durable_seq`` advances; that call returns
when the replicated stream holds the group (quorum ack) and raises when it cannot (the writer is
fenced), which stops the writer like any I/O error. Unset (the default), nothing changes.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import msgspec

from rucksack.exchange.core.commands import Stamped

MAGIC = b"RKJOURN2"
HEADER = struct.Struct("<III")  # length, crc32 of (epoch field + payload), writer epoch
MAGIC_V1 = b"RKJOURN1"
HEADER_V1 = struct.Struct("<II")  # length, crc32 of payload (format 1: epoch 0)
_EPOCH = struct.Struct("<I")
MAX_EPOCH = 2**32 - 1
MAX_RECORD = 64 * 1024 * 1024
_SEGMENT = re.compile(r"journal-(\d{12})-(\d{12})\.log")

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Stamped)


class JournalCorrupt(Exception):
    """The journal is damaged somewhere other than its tail; replay refuses to continue."""

    def __init__(self, path: Path, offset: int, why: str, seq: int | None = None) -> None:
        where = f"byte offset {offset}" if seq is None else f"byte offset {offset} (seq {seq})"
        super().__init__(f"journal {path} is corrupt at {where}: {why}")
        self.path = path
        self.offset = offset
        self.why = why
        self.seq = seq


def encode_entry(entry: Stamped) -> bytes:
    return _encoder.encode(entry)


def record_checksum(payload: bytes, epoch: int) -> int:
    """A format-2 record's checksum: crc32 of the epoch field and the payload."""
    return zlib.crc32(payload, zlib.crc32(_EPOCH.pack(epoch)))


def frame(payload: bytes, epoch: int = 0) -> bytes:
    """One format-2 record: header (length, checksum, epoch) and payload."""
    return HEADER.pack(len(payload), record_checksum(payload, epoch), epoch) + payload


def frame_v1(payload: bytes) -> bytes:
    """One format-1 record (no epoch): what journals written before format 2 hold."""
    return HEADER_V1.pack(len(payload), zlib.crc32(payload)) + payload


class ScanResult:
    """What reading a journal found: entries, where valid data ends, how many bytes are torn, and
    the last record's sequence number, timestamp and writer epoch."""

    def __init__(self) -> None:
        self.valid_end = len(MAGIC)
        self.torn_bytes = 0
        self.count = 0
        self.last_seq = 0
        self.last_ts_us = 0
        self.last_epoch = 0
        self.version = 2


def segment_name(first_seq: int, last_seq: int) -> str:
    return f"journal-{first_seq:012d}-{last_seq:012d}.log"


def archived_segments(directory: Path) -> list[tuple[int, int, Path]]:
    """``(first seq, last seq, path)`` of every archived segment in ``directory``, in order."""
    found = []
    for path in directory.glob("journal-*.log"):
        match = _SEGMENT.fullmatch(path.name)
        if match:
            found.append((int(match[1]), int(match[2]), path))
    return sorted(found)


def read_journal(active: Path, result: ScanResult | None = None, after_seq: int = 0) -> Iterator[Stamped]:
    """Like :func:`read_entries` over the archived segments beside ``active`` and then ``active``;
    ``result`` describes the active file, except ``last_seq``: the journal's last entry."""
    res = result if result is not None else ScanResult()
    prev = 0
    before = ScanResult()  # the last record read so far (none while segments are skipped unopened)
    for first, last, path in archived_segments(active.parent):
        if prev and first != prev + 1:
            raise JournalCorrupt(path, 0, f"segment gap: {prev} then {first}")
        if last > after_seq:
            part = ScanResult()
            yield from read_entries(path, part, after_seq, prev_seq=prev, before=before)
            if part.torn_bytes or part.last_seq != last:
                raise JournalCorrupt(path, part.valid_end, f"archived segment ends at {part.last_seq}, not {last}")
            before = part
        prev = last
    yield from read_entries(active, res, after_seq, prev_seq=prev, before=before)
    if res.count == 0:  # an empty active file: the journal's last record is the segments'
        res.last_ts_us, res.last_epoch = before.last_ts_us, before.last_epoch
    res.last_seq = max(res.last_seq, prev)


def read_entries(
    path: Path,
    result: ScanResult | None = None,
    after_seq: int = 0,
    prev_seq: int = 0,
    before: ScanResult | None = None,
) -> Iterator[Stamped]:
    """Yield the journal's entries with ``seq > after_seq`` in order; fill ``result`` as it goes.

    ``prev_seq``: the entry before this file's first (a segment's predecessor), 0 when unknown;
    ``before``: what reading the previous file found (its last timestamp and epoch), if read.
    Raises :class:`JournalCorrupt` on damage other than a torn tail, and where the records stop
    being one history (see the module docstring). A missing file reads as empty.
    """
    res = result if result is not None else ScanResult()
    if not path.exists():
        return
    data = path.read_bytes()
    size = len(data)
    if size < len(MAGIC):
        if MAGIC.startswith(data) or MAGIC_V1.startswith(data):  # crash while creating the file
            res.valid_end = 0
            res.torn_bytes = size
            return
        raise JournalCorrupt(path, 0, "not a rucksack journal (bad magic)")
    magic = data[: len(MAGIC)]
    if magic not in (MAGIC, MAGIC_V1):
        raise JournalCorrupt(path, 0, "not a rucksack journal (bad magic)")
    res.version = 2 if magic == MAGIC else 1
    header = HEADER if res.version == 2 else HEADER_V1
    offset = len(MAGIC)
    hsize = header.size
    last_seq = prev_seq
    last_ts = before.last_ts_us if before is not None else 0
    last_epoch = before.last_epoch if before is not None else 0
    view = memoryview(data)
    while offset < size:
        if size - offset < hsize:
            res.torn_bytes = size - offset
            break
        length, crc, *rest = header.unpack_from(data, offset)
        epoch = rest[0] if rest else 0
        end = offset + hsize + length
        if length == 0 or length > MAX_RECORD or end > size:
            if end > size or _only_zeros(view[offset:]):
                res.torn_bytes = size - offset
                break
            raise JournalCorrupt(path, offset, f"impossible record length {length}")
        payload = view[offset + hsize : end]
        if _checksum(payload, rest) != crc:
            if end == size or _only_zeros(view[end:]):
                res.torn_bytes = size - offset
                break
            raise JournalCorrupt(path, offset, "checksum mismatch with more records after it")
        try:
            entry = _decoder.decode(payload)
        except msgspec.DecodeError as exc:
            raise JournalCorrupt(path, offset, f"record does not decode: {exc}") from exc
        if last_seq and entry.seq != last_seq + 1:
            raise JournalCorrupt(path, offset, f"sequence gap: {last_seq} then {entry.seq}", entry.seq)
        if entry.ts_us < last_ts:
            raise JournalCorrupt(
                path, offset, f"timestamp goes backwards: {last_ts} then {entry.ts_us} (a second history)", entry.seq
            )
        if epoch < last_epoch:
            raise JournalCorrupt(
                path, offset, f"writer epoch goes backwards: {last_epoch} then {epoch} (a second history)", entry.seq
            )
        last_seq, last_ts, last_epoch = entry.seq, entry.ts_us, epoch
        offset = end
        res.valid_end = offset
        res.count += 1
        res.last_seq, res.last_ts_us, res.last_epoch = last_seq, last_ts, last_epoch
        if entry.seq > after_seq:
            yield entry


def _checksum(payload: memoryview, epoch_field: list[int]) -> int:
    """A record's checksum: of the payload (format 1), or of the epoch field then the payload."""
    if not epoch_field:
        return zlib.crc32(payload)
    return zlib.crc32(payload, _epoch_crc(epoch_field[0]))


@functools.lru_cache(maxsize=64)
def _epoch_crc(epoch: int) -> int:
    return zlib.crc32(_EPOCH.pack(epoch))


def _only_zeros(view: memoryview) -> bool:
    return not any(view)


def scan(path: Path) -> ScanResult:
    """Read the whole journal, validating it; return what was found."""
    result = ScanResult()
    for _ in read_entries(path, result):
        pass
    return result


class Replica(Protocol):
    """Where a group goes after the local fsync (the replicated journal); raises if it cannot."""

    def append_group(self, records: list[bytes], last_seq: int) -> None: ...


class JournalWriter:
    """Appends framed records; a flusher thread makes them durable in groups.

    ``fsync=False`` skips ``fdatasync`` (tests and benchmarks of the CPU path only; never for a
    real exchange). ``on_durable(seq)`` is called from the flusher thread after each group.
    ``after_seq``: the last entry of the archived segments before ``path`` (0: none).
    ``epoch``: the writer epoch stamped on every record appended (never below the file's last).
    """

    def __init__(
        self, path: Path, *, fsync: bool = True, threaded: bool = True, after_seq: int = 0, epoch: int = 0
    ) -> None:
        self.path = path
        result = scan(path)  # raises JournalCorrupt on mid-file damage
        if not 0 <= epoch <= MAX_EPOCH or epoch < result.last_epoch:
            raise ValueError(f"writer epoch {epoch} is below the journal's last ({result.last_epoch})")
        self.epoch = epoch
        self._epoch_crc = zlib.crc32(_EPOCH.pack(epoch))  # each record's checksum starts from it
        self.torn_bytes_truncated = result.torn_bytes
        exists = path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        if result.version == 1 and result.count:  # format 1 with entries: archived whole, format 2 after
            if result.torn_bytes:
                os.ftruncate(self._fd, result.valid_end)
            os.fsync(self._fd)
            os.close(self._fd)
            os.rename(path, path.with_name(segment_name(result.last_seq - result.count + 1, result.last_seq)))
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            result.count = 0
            exists = False
        if not exists or result.valid_end == 0 or result.version == 1:
            os.ftruncate(self._fd, 0)
            os.write(self._fd, MAGIC)
        elif result.torn_bytes:
            os.ftruncate(self._fd, result.valid_end)
        os.lseek(self._fd, 0, os.SEEK_END)
        os.fsync(self._fd)
        _fsync_dir(path.parent)
        self._fsync = fsync
        self.last_seq = max(result.last_seq, after_seq)
        self.durable_seq = self.last_seq
        self.first_seq = self.last_seq - result.count + 1  # of the active file's first entry (or next)
        self.flushes = 0
        self.on_durable: Callable[[int], None] | None = None
        # called with (records, fdatasync seconds) after each group is written and synced (metrics)
        self.on_group: Callable[[int, float], None] | None = None
        self.replica: Replica | None = None  # set before the first append (see the module docstring)
        self._queue: list[bytes] = []
        self._queued_seq = self.last_seq
        self._cond = threading.Condition()
        self._closing = False
        self._error: BaseException | None = None
        self.threaded = threaded
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="journal-flusher", daemon=True)
            self._thread.start()

    def append(self, seq: int, payload: bytes) -> None:
        """Queue one record; it becomes durable at the next group flush."""
        record = HEADER.pack(len(payload), zlib.crc32(payload, self._epoch_crc), self.epoch) + payload
        with self._cond:
            if self._error is not None:
                raise RuntimeError("journal writer failed") from self._error
            self._queue.append(record)
            self._queued_seq = seq
            self.last_seq = seq
            if self._thread is not None:
                self._cond.notify()

    @property
    def pending(self) -> bool:
        """Records are queued that are not durable yet."""
        return self._queued_seq > self.durable_seq

    def flush(self) -> int:
        """Write and sync everything queued, in the caller's thread; return ``durable_seq``."""
        with self._cond:
            batch, self._queue = self._queue, []
            upto = self._queued_seq
        if batch:
            self._write_group(batch, upto)
            with self._cond:
                self.durable_seq = upto
                self.flushes += 1
                self._cond.notify_all()
        return self.durable_seq

    def rotate(self) -> Path | None:
        """Archive the active file as a segment and start a new one; only when everything queued
        is durable and the active file holds entries (else None: nothing to do now)."""
        with self._cond:
            if self._error is not None or self._queued_seq != self.durable_seq or self.last_seq < self.first_seq:
                return None
            archived = self.path.with_name(segment_name(self.first_seq, self.last_seq))
            os.fsync(self._fd)
            os.close(self._fd)
            os.rename(self.path, archived)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(self._fd, MAGIC)
            os.fsync(self._fd)
            _fsync_dir(self.path.parent)
            self.first_seq = self.last_seq + 1
            return archived

    def wait_durable(self, seq: int, timeout: float | None = None) -> bool:
        """Block until ``durable_seq >= seq``; False on timeout."""
        if self._thread is None:
            if self.durable_seq < seq:
                self.flush()
            return self.durable_seq >= seq
        with self._cond:
            ok = self._cond.wait_for(lambda: self.durable_seq >= seq or self._error is not None, timeout)
            if self._error is not None:
                raise RuntimeError("journal writer failed") from self._error
            return ok

    def close(self) -> None:
        if self._thread is None:
            self.flush()
        else:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join()
        os.close(self._fd)
        if self._error is not None:
            raise RuntimeError("journal writer failed") from self._error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = self._queue
                self._queue = []
                upto = self._queued_seq
            try:
                self._write_group(batch, upto)
            except BaseException as exc:  # disk full, I/O error: stop acknowledging anything
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self.durable_seq = upto
                self.flushes += 1
                self._cond.notify_all()
            callback = self.on_durable
            if callback is not None:
                callback(upto)

    def _write_group(self, batch: list[bytes], upto: int) -> None:
        view = memoryview(b"".join(batch))
        while view:
            view = view[os.write(self._fd, view) :]
        synced = 0.0
        if self._fsync:
            started = time.perf_counter()
            os.fdatasync(self._fd)
            synced = time.perf_counter() - started
        hook = self.on_group
        if hook is not None:
            hook(len(batch), synced)
        if self.replica is not None:
            self.replica.append_group(batch, upto)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
