"""Records of the public chain of commitments, journaled so the chain travels with the journal.

The record is made and signed outside the core (``exchange.checkpoints``: it needs the state hash
and a key); journaling it as ``PublishCheckpoint`` puts the chain into the one replicated history,
so a restart or a new writer after a failover continues it from the journal alone. The core keeps
no checkpoint state: it checks the command's shape (a record about an earlier seq, bounded in size)
and emits ``CheckpointPublished``, which ``exchange.checkpoints`` files when it reads the events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rucksack.exchange.core.commands import PublishCheckpoint
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import CheckpointPublished, CheckpointRejected

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

MAX_RECORD: Final = 4096


def publish(s: ExchangeState, c: PublishCheckpoint) -> None:
    if not 0 <= c.seq < s.last_seq or not 0 < len(c.record) <= MAX_RECORD:
        s.events.append(CheckpointRejected(c.seq, Reason.INVALID_CHECKPOINT))
        return
    s.events.append(CheckpointPublished(c.seq, c.record))
