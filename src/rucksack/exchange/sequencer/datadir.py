"""A data directory: the configuration it was created with, the journal and the snapshots.

Layout::

    DIR/config.toml           exact exchange configuration text (replay always uses this)
    DIR/journal.log           the command journal (its active segment)
    DIR/journal-<a>-<b>.log   archived journal segments, entries a..b (kept: the complete record)
    DIR/snapshots/*.bin       snapshots at exact sequence numbers
    DIR/chain/                the public chain of commitments (exchange.checkpoints; not read here)
    DIR/writer.lock           the writer's OS lock: holder pid/host/start time and writer epoch
    DIR/journal.base          only in a data dir seeded from a replicated snapshot (a standby,
                              docs/deploy.md): the seq the journal starts after

One writer: :class:`Exchange` takes the writer lock (``writer_lock.WriterLock``) before it reads
anything and holds it until :meth:`Exchange.close` (or the process ends); a second writer is
refused at once with the holder named. Each writer stamps its records with the next writer epoch.

Recovery = newest intact snapshot + every journal entry after it. Opening for writing also
truncates a torn journal tail; read-only recovery (``rucksack replay``) only reports it.

Periodic snapshots: once ``snapshot_every`` commands were journaled since the last snapshot,
the writer captures the state between two commands (:meth:`Exchange.capture`, a consistent
point of the single writer, only when the journal covers it) and archives the journal's active
segment right there (``JournalWriter.rotate``: recovery then opens only what follows), and the
capture is encoded, hashed and written by :meth:`Exchange.save` -- which may run in another
thread. So a restart after a crash reads and replays about ``snapshot_every`` commands however
long the venue has run.

Permissions: the directory holds the journal, account data and, with custody, the encrypted
seed; it is the owner's alone. Everything in it is made owner-only (directories 0700, files
0600) when the exchange opens it -- including data directories created before this rule -- and
files are created that way.
"""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rucksack.exchange.config import load_spec_text
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.state import Snapshot, restore, state_hash, take_snapshot
from rucksack.exchange.sequencer.journal import JournalWriter, ScanResult, read_journal
from rucksack.exchange.sequencer.sequencer import Listener, Sequencer
from rucksack.exchange.sequencer.snapshots import SnapshotStore
from rucksack.exchange.sequencer.writer_lock import WriterLock

CONFIG_NAME = "config.toml"
JOURNAL_NAME = "journal.log"
JOURNAL_BASE_NAME = "journal.base"
SNAPSHOT_DIR = "snapshots"
DEFAULT_SNAPSHOT_EVERY = 100_000
"""Commands between periodic snapshots (``rucksack serve --snapshot-every``; 0: only at shutdown)."""
DIR_MODE, FILE_MODE = 0o700, 0o600


def secure_data_dir(path: Path) -> None:
    """Make ``path`` and everything below it owner-only: directories 0700, files 0600."""
    for root, dirs, files in os.walk(path):
        for name in dirs:
            _restrict(Path(root) / name, DIR_MODE)
        for name in files:
            _restrict(Path(root) / name, FILE_MODE)
    _restrict(path, DIR_MODE)


def _restrict(path: Path, mode: int) -> None:
    info = path.lstat()
    if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)


@dataclass
class Recovered:
    engine: Engine
    spec: ExchangeSpec
    snapshot_seq: int
    replayed: int
    torn_bytes: int
    skipped_snapshots: list[str] = field(default_factory=list)
    journal_epoch: int = 0  # the writer epoch of the journal's last record read


def init_data_dir(path: Path, config_text: str) -> ExchangeSpec:
    """Create ``path`` with ``config_text``; an existing directory must hold the same config.

    Returns the parsed configuration (parsed once, before anything is written)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    config = path / CONFIG_NAME
    exists = config.exists()
    if exists and config.read_text(encoding="utf-8") != config_text:
        raise ValueError(f"{config} differs from the requested configuration; use a new data directory")
    spec = load_spec_text(config_text)  # refuse a bad config before writing anything
    if exists:
        return spec
    tmp = config.with_suffix(".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), "w", encoding="utf-8") as f:
        f.write(config_text)
    tmp.replace(config)
    return spec


def journal_base(path: Path) -> int:
    """The seq the journal starts after: 0, or a seeded standby's snapshot seq (``journal.base``)."""
    base = path / JOURNAL_BASE_NAME
    return int(base.read_text(encoding="utf-8")) if base.exists() else 0


def read_spec(path: Path) -> ExchangeSpec:
    config = path / CONFIG_NAME
    if not config.exists():
        raise FileNotFoundError(f"{path} is not a rucksack data directory (no {CONFIG_NAME})")
    return load_spec_text(config.read_text(encoding="utf-8"))


def recover(
    path: Path,
    *,
    spec: ExchangeSpec | None = None,
    events_after: int | None = None,
    on_events: Listener | None = None,
    progress: Callable[[int], object] | None = None,
) -> Recovered:
    """Rebuild the engine from the newest intact snapshot plus the journal tail (read-only).

    ``spec``, when given, must be what ``read_spec(path)`` returns (a caller that has parsed the
    directory's config already passes it so it is not parsed twice).

    With ``events_after``, start from the newest snapshot at or below that sequence number and
    hand the events of every later command to ``on_events``: that is how read models catch up
    (or rebuild from nothing with ``events_after=0``).

    ``progress(n)``, when given, is told of every ``n`` commands replayed (an operator's bar).
    """
    if spec is None:
        spec = read_spec(path)
    store = SnapshotStore(path / SNAPSHOT_DIR)
    loaded = store.load_latest(max_seq=events_after)
    if loaded is None:
        engine = Engine(spec)
        snapshot_seq = 0
    else:
        engine = restore(spec, loaded[0])
        snapshot_seq = loaded[0].seq
    result = ScanResult()
    replayed = 0
    for entry in read_journal(path / JOURNAL_NAME, result, after_seq=snapshot_seq):
        if entry.seq != engine.last_seq + 1:
            raise ValueError(f"journal entry {entry.seq} does not follow state at {engine.last_seq}")
        events = engine.apply(entry.command, entry.seq, entry.ts_us)
        if on_events is not None and events_after is not None and entry.seq > events_after:
            on_events(entry.seq, entry.ts_us, events)
        replayed += 1
        if progress is not None and replayed % 1000 == 0:
            progress(1000)
    if max(result.last_seq, journal_base(path)) < snapshot_seq:
        raise ValueError(
            f"snapshot at {snapshot_seq} is ahead of the journal ({result.last_seq}); the journal lost data"
        )
    return Recovered(engine, spec, snapshot_seq, replayed, result.torn_bytes, store.skipped, result.last_epoch)


class Exchange:
    """An engine recovered from a data directory, with a sequencer journaling into it."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], int],
        *,
        fsync: bool = True,
        threaded_journal: bool = True,
        spec: ExchangeSpec | None = None,
        events_after: int | None = None,
        on_events: Listener | None = None,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        lock: WriterLock | None = None,
    ) -> None:
        self.path = path
        # the writer lock first: nothing is read or written before this process is the only writer
        self.lock = lock if lock is not None else WriterLock.acquire(path)
        try:
            secure_data_dir(path)
            recovered = recover(path, spec=spec, events_after=events_after, on_events=on_events)
            self.journal = JournalWriter(
                path / JOURNAL_NAME,
                fsync=fsync,
                threaded=threaded_journal,
                after_seq=recovered.engine.last_seq,
                epoch=self.lock.begin_epoch(recovered.journal_epoch),
            )
        except BaseException:
            if lock is None:
                self.lock.release()
            raise
        self.recovered = recovered
        self.spec = recovered.spec
        self.engine = recovered.engine
        self.snapshots = SnapshotStore(path / SNAPSHOT_DIR)
        self.sequencer = Sequencer(self.engine, self.journal, clock)
        self.snapshot_every = snapshot_every
        self.snapshot_seq = recovered.snapshot_seq  # of the newest snapshot taken or loaded

    def snapshot(self) -> tuple[int, str] | None:
        """Write a snapshot at the current sequence number once the journal covers it (none while
        halted: after an engine failure the state may be half-applied; the journal replays it)."""
        self.sequencer.flush()
        if self.sequencer.halted is not None:
            return None
        return self.save(self.capture())

    def snapshot_due(self) -> bool:
        """``snapshot_every`` commands were journaled since the last snapshot, all durable (or the
        journal's own thread will make them so before :meth:`save` writes)."""
        seq = self.sequencer.seq
        if self.snapshot_every <= 0 or seq - self.snapshot_seq < self.snapshot_every:
            return False
        if self.sequencer.halted is not None:  # maybe half-applied: only the journal is trusted now
            return False
        return self.journal.threaded or self.journal.durable_seq >= seq

    def capture(self) -> Snapshot:
        """The state now, as plain data (call between commands, from the writer's thread).

        It builds about ten objects per account, so the cyclic garbage collector is paused
        meanwhile: otherwise those allocations trigger full collections over the whole heap."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            snap = take_snapshot(self.engine)
        finally:
            if enabled:
                gc.enable()
        self.snapshot_seq = snap.seq
        return snap

    def capture_periodic(self) -> Snapshot:
        """A periodic snapshot's capture (:meth:`capture`), with the journal's active segment
        archived at that same point when it is all durable."""
        snap = self.capture()
        self.journal.rotate()
        return snap

    def save(self, snap: Snapshot) -> tuple[int, str]:
        """Write a captured snapshot once the journal covers it (any thread)."""
        if self.journal.threaded:
            self.journal.wait_durable(snap.seq)
        if self.journal.durable_seq < snap.seq:  # never written ahead of the journal
            raise RuntimeError(f"snapshot {snap.seq} is ahead of the durable journal")
        _, digest = self.snapshots.save(snap)
        return snap.seq, digest

    def state_hash(self) -> str:
        return state_hash(self.engine)

    def close(self) -> None:
        try:
            self.sequencer.flush()
            self.journal.close()
        finally:
            self.lock.release()


__all__ = ["Exchange", "Recovered", "init_data_dir", "journal_base", "read_spec", "recover"]
