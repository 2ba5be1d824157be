"""The lab's exchange: an engine behind the real sequencer, with the engine's invariants.

This is the lab's composition root (as ``service.py`` is the server's): the one lab module that
builds an engine and hands it to the sequencer and the invariant checks. Every other lab module
changes state only by :meth:`Venue.submit` (a journaled-shape command through
``Sequencer.submit``: seq, time never going backwards, ``Engine.apply``) and reads it only through
``core.queries``. No journal is written (the lab keeps no durable state; ``--journal`` aside, a
run is repeated from its scenario and seed) unless asked for one (:meth:`Venue.journaled`).

Time is the scenario's: :attr:`Venue.now_us` is the clock the sequencer stamps commands with.
"""

from __future__ import annotations

from pathlib import Path

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import Command, Stamped
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.state import Snapshot, restore, state_hash, take_snapshot
from rucksack.exchange.sequencer.datadir import Exchange, init_data_dir
from rucksack.exchange.sequencer.sequencer import Sequencer


class InvariantBroken(RuntimeError):
    """The engine's invariants failed during a lab run (a core bug: the run's results are void)."""


class Venue:
    def __init__(self, engine: Engine, start_us: int = 0) -> None:
        self.engine = engine
        self.now_us = start_us
        self.sequencer = Sequencer(engine, None, self._clock)
        self.exchange: Exchange | None = None

    @classmethod
    def fresh(cls, spec: ExchangeSpec, start_us: int) -> Venue:
        return cls(Engine(spec), start_us)

    @classmethod
    def from_snapshot(cls, spec: ExchangeSpec, snapshot: Snapshot | None) -> Venue:
        """A venue in the state of ``snapshot`` (None: the empty exchange) under ``spec``."""
        engine = Engine(spec) if snapshot is None else restore(spec, snapshot)
        return cls(engine, queries.last_ts_us(engine))

    @classmethod
    def journaled(cls, path: Path, config_text: str, start_us: int) -> Venue:
        """A venue writing its commands to a new data directory's journal (``rucksack lab run
        --journal``): real history a what-if can replay, or ``rucksack serve`` can open."""
        init_data_dir(path, config_text)
        venue = cls.__new__(cls)
        venue.now_us = start_us
        venue.exchange = Exchange(path, venue._clock, fsync=False, snapshot_every=0)
        if queries.last_seq(venue.exchange.engine):
            venue.exchange.close()
            raise ValueError(f"{path} already holds a journal; use an empty directory")
        venue.engine = venue.exchange.engine
        venue.sequencer = venue.exchange.sequencer
        return venue

    def close(self) -> None:
        """Flush and release the journal, when there is one."""
        if self.exchange is not None:
            self.exchange.close()
            self.exchange = None

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
