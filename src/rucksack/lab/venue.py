"""The lab's exchange: an engine behind the real sequencer, with the engine's invariants.

This is the lab's composition root (as ``service.py`` is the server's): the one lab module that
builds an engine and hands it to the sequencer and the invariant checks. Every other lab module
changes state only by :meth:`Venue.submit` (a journaled-shape command through
``Sequencer.submit``: seq, time never going backwards, ``Engine.apply``) and reads it only through
``core.queries``. No journal is written (the lab keeps no durable state; ``--journal`` aside, a
run is repeated from its scenario and seed), so nothing here does I/O.

Time is the scenario's: :attr:`Venue.now_us` is the clock the sequencer stamps commands with.
"""

from __future__ import annotations

from rucksack.exchange.core.commands import Command, Stamped
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.state import restore, state_hash, take_snapshot
from rucksack.exchange.sequencer.sequencer import Sequencer


class InvariantBroken(RuntimeError):
    """The engine's invariants failed during a lab run (a core bug: the run's results are void)."""


class Venue:
    def __init__(self, engine: Engine, start_us: int = 0) -> None:
        self.engine = engine
        self.now_us = start_us
        self.sequencer = Sequencer(engine, None, self._clock)

    @classmethod
    def fresh(cls, spec: ExchangeSpec, start_us: int) -> Venue:
        return cls(Engine(spec), start_us)

    def _clock(self) -> int:
        return self.now_us

    def submit(self, command: Command) -> list[Event]:
        """Sequence and apply one command (the server's path); its events."""
        return self.sequencer.submit(command)[1]

    def follow(self, entry: Stamped) -> list[Event]:
        """Apply a command stamped elsewhere (a journal entry) with its own seq and time."""
        return self.sequencer.follow(entry)

    def check(self) -> None:
        problems = check_invariants(self.engine)
        if problems:
            raise InvariantBroken("; ".join(problems[:5]))

    def fork(self, spec: ExchangeSpec) -> Venue:
        """A second venue in this venue's exact state, running under ``spec`` from here on (its
        markets and pools must be the same ones: only parameters change)."""
        return Venue(restore(spec, take_snapshot(self.engine)), self.now_us)

    def state_hash(self) -> str:
        return state_hash(self.engine)
