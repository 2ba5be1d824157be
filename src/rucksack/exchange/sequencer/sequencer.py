"""The single writer: stamps, journals, applies and publishes every command.

For each command, in this order: give it the next sequence number and a timestamp (never
earlier than the previous one), append it to the journal, apply it to the engine, and queue its
events. Events are published (``release``) only once the journal is durable up to their
sequence number, so nobody ever sees the effect of a command that a crash could still erase.

If the engine raises, the sequencer halts: the command is journaled, so a restart replays into
the same exception rather than running on with doubtful state.

If a listener raises while a durable command is published, the sequencer halts too (no further
command is accepted, so nothing more can diverge from what the listeners saw), the failure is
logged with the command's sequence number, and the other listeners still receive that command's
events and every later durable one's: nothing already decided is dropped on the way out.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import msgspec

from rucksack.exchange.core.commands import Command, Stamped
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.sequencer.journal import JournalWriter, encode_entry

log = logging.getLogger(__name__)

Listener = Callable[[int, int, list[Event]], None]
"""Called with (seq, ts_us, events) for each command, in order, once it is durable."""


class UnencodableCommand(ValueError):
    """A command the journal cannot represent (e.g. an integer beyond 64 bits); refused untouched."""


class SequencerHalted(RuntimeError):
    """The engine or a listener raised; nothing more is accepted until a restart."""


class NotWriter(SequencerHalted):
    """This process is a hot standby: it follows the replicated journal and accepts commands only
    once it has taken over as the writer (answered as 503 TRADING_PAUSED, a retryable refusal)."""


class Sequencer:
    def __init__(self, engine: Engine, journal: JournalWriter | None, clock: Callable[[], int]) -> None:
        self.engine = engine
        self.journal = journal
        self.clock = clock
        self.seq = engine.last_seq
        self.halted: BaseException | None = None
        self.listeners: list[Listener] = []
        self._pending: deque[tuple[int, int, list[Event]]] = deque()

    def submit(self, command: Command) -> tuple[int, list[Event]]:
        """Sequence, journal and apply ``command``; return its seq and events (not yet durable)."""
        if self.halted is not None:
            raise SequencerHalted("sequencer halted after an engine failure") from self.halted
        seq = self.seq + 1
        ts_us = self.clock()
        if ts_us < self.engine.last_ts_us:
            ts_us = self.engine.last_ts_us
        if self.journal is not None:
            try:
                payload = encode_entry(Stamped(seq, ts_us, command))
            except (msgspec.EncodeError, OverflowError, TypeError) as exc:  # nothing applied, nothing journaled
                raise UnencodableCommand(f"command cannot be journaled: {exc}") from exc
            self.journal.append(seq, payload)
        try:
            events = self.engine.apply(command, seq, ts_us)
        except BaseException as exc:
            self.halted = exc
            raise SequencerHalted(f"engine failed on command {seq}") from exc
        self.seq = seq
        if self.listeners:
            self._pending.append((seq, ts_us, events))
        return seq, events

    def follow(self, entry: Stamped) -> list[Event]:
        """Journal and apply a command another writer already stamped (the hot standby following
        the replicated journal): the same path as :meth:`submit` with the entry's own seq and time."""
        if self.halted is not None:
            raise SequencerHalted("sequencer halted after an engine failure") from self.halted
        if entry.seq != self.seq + 1:
            raise ValueError(f"entry {entry.seq} does not follow {self.seq}")
        if self.journal is not None:
            self.journal.append(entry.seq, encode_entry(entry))
        try:
            events = self.engine.apply(entry.command, entry.seq, entry.ts_us)
        except BaseException as exc:
            self.halted = exc
            raise SequencerHalted(f"engine failed on command {entry.seq}") from exc
        self.seq = entry.seq
        if self.listeners:
            self._pending.append((entry.seq, entry.ts_us, events))
        return events

    def halt(self, reason: BaseException) -> None:
        """Accept no more commands (the first reason is kept)."""
        if self.halted is None:
            self.halted = reason

    @property
    def durable_seq(self) -> int:
        return self.seq if self.journal is None else self.journal.durable_seq

    def flush(self) -> None:
        """Wait until everything submitted is durable, then publish its events."""
        if self.journal is not None:
            self.journal.wait_durable(self.seq)
        self.release()

    def release(self) -> int:
        """Publish the events of every durable command, in order; return how many commands."""
        durable = self.durable_seq
        pending = self._pending
        released = 0
        while pending and pending[0][0] <= durable:
            seq, ts_us, events = pending.popleft()
            for listener in self.listeners:
                try:
                    listener(seq, ts_us, events)
                except Exception as exc:  # the others still hear of it; no new command is taken
                    log.critical("listener %r failed on command %d; halting writes", listener, seq, exc_info=True)
                    self.halt(exc)
            released += 1
        return released
