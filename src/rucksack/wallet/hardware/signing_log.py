"""A tamper-evident record of what a device was asked to sign and what it did.

Invariants:

- Entries are hash-chained: ``hash = SHA-256(prev_hash || canonical JSON of the entry without
  its hash)``, starting from 32 zero bytes. Changing, dropping, inserting or reordering any entry
  breaks ``verify`` from that entry on (truncating the tail is detected only against a hash kept
  elsewhere: ``head``).
- An entry holds public facts only: the request kind, the path, the SHA-256 of the exact bytes
  (or canonical JSON) presented, the screen shown, and the outcome (``signed`` or ``refused: why``).
  Never a key, never a seed; signatures are recorded by their SHA-256.
- With a ``path`` the log is also appended to a JSON-lines file (one entry per line, flushed and
  fsynced) that ``SigningLog.load`` reads back and verifies.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

GENESIS = "00" * 32


def _digest(prev: str, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(prev) + canonical.encode()).hexdigest()


class LogTampered(ValueError):
    pass


class SigningLog:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._entries: list[dict[str, Any]] = []

    @property
    def entries(self) -> tuple[dict[str, Any], ...]:
        return tuple(dict(e) for e in self._entries)

    @property
    def head(self) -> str:
        return self._entries[-1]["hash"] if self._entries else GENESIS

    def append(self, **fields: Any) -> dict[str, Any]:
        body = {"seq": len(self._entries), "time": round(time.time(), 3), "prev": self.head, **fields}
        entry = {**body, "hash": _digest(self.head, body)}
        self._entries.append(entry)
        if self.path is not None:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        return dict(entry)

    def verify(self) -> bool:
        try:
            verify_entries(self._entries)
        except LogTampered:
            return False
        return True

    @classmethod
    def load(cls, path: str | Path) -> SigningLog:
        log = cls(path)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        log._entries = [json.loads(line) for line in lines if line.strip()]
        verify_entries(log._entries)
        return log


def verify_entries(entries: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> None:
    """Raise ``LogTampered`` naming the first entry whose chain does not hold."""
    prev = GENESIS
    for n, entry in enumerate(entries):
        body = {k: v for k, v in entry.items() if k != "hash"}
        if entry.get("seq") != n or entry.get("prev") != prev or _digest(prev, body) != entry.get("hash"):
            raise LogTampered(f"signing log entry {n} was altered, removed or reordered")
        prev = entry["hash"]
