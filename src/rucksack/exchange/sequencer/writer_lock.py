"""One writer per data directory: an OS lock held for the writer's life, and its epoch.

``DIR/writer.lock`` is locked with a POSIX record lock (``fcntl.lockf``, exclusive, non-blocking)
by the process that writes the directory, for as long as it runs: the kernel drops it when the
process exits however it exits (SIGKILL included), so a stale lock cannot outlive its holder. A
POSIX lock is not inherited by a forked child, so a helper process forked from the writer never
keeps the directory locked after the writer is gone. (Within one process the lock does not
exclude a second opener, and closing any descriptor of the file drops it: the writer opens the
file once and reads and writes it only through that descriptor.)

The file holds one JSON object describing the holder -- ``pid``, ``host``, ``started`` (UTC,
ISO 8601) -- and the holder's writer ``epoch``. A second writer that finds the lock taken exits at
once with :class:`DataDirLocked`, whose message names the holder from that file.

Epochs: each writer that opens the directory takes ``max(previous holder's epoch, the journal's
last record's epoch) + 1`` and stamps it on every journal record it appends, so epochs never
decrease along one history; a record whose epoch is below its predecessor's is a second history
spliced in (``journal.read_entries`` refuses it). The epoch is written here (fsynced) before the
writer appends anything, so even a writer that crashes before its first record moves it on.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

LOCK_NAME = "writer.lock"


class DataDirLocked(RuntimeError):
    """Another process holds the data directory's writer lock."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        who = (
            f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {holder.get('started', '?')}"
            if holder
            else "a process that has not yet said who it is"
        )
        super().__init__(f"data directory {path.parent} is in use by another writer ({who}; lock {path})")
        self.holder = holder


class WriterLock:
    """The data directory's writer lock, held from :meth:`acquire` until :meth:`release`."""

    def __init__(self, path: Path, fd: int, previous_epoch: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self.previous_epoch = previous_epoch
        self.epoch = previous_epoch  # until begin_epoch: the file keeps saying the last one taken
        self.holder: dict[str, Any] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }

    @classmethod
    def acquire(cls, data_dir: Path) -> WriterLock:
        """Lock ``data_dir`` for this process or raise :class:`DataDirLocked` naming the holder."""
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _parse(_read(fd))
            os.close(fd)
            raise DataDirLocked(path, holder) from None
        previous = _parse(_read(fd)).get("epoch", 0)
        lock = cls(path, fd, previous if isinstance(previous, int) and previous >= 0 else 0)  # (the journal's too)
        lock._write()
        return lock

    def begin_epoch(self, journal_epoch: int) -> int:
        """Take the next writer epoch after both the previous holder's and the journal's; durable
        before it is returned (so no record can carry it before the lock file does)."""
        self.epoch = max(self.previous_epoch, journal_epoch) + 1
        self._write()
        return self.epoch

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.lockf(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _write(self) -> None:
        assert self._fd is not None, "lock released"
        data = (json.dumps({**self.holder, "epoch": self.epoch}) + "\n").encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)


def _read(fd: int) -> bytes:
    return os.pread(fd, 4096, 0)


def _parse(raw: bytes) -> dict[str, Any]:
    """The holder's description; an empty or half-written file reads as unknown."""
    try:
        value = json.loads(raw.decode("utf-8", errors="replace") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


__all__ = ["LOCK_NAME", "DataDirLocked", "WriterLock"]
