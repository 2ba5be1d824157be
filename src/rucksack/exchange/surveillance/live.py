"""Surveillance in the running server: catch up over the journal, then follow the live stream.

``attach`` registers the monitor as a release listener *before* the service starts, so every
command released from then on reaches it; meanwhile a worker thread replays the data directory's
journal from the start (read-only, ``sequencer.datadir.recover``) into the same monitor. Live
commands that arrive during the catch-up wait in a buffer and are fed after it, in order; any seq
both paths deliver is fed once (``Surveillance.feed`` skips seen seqs). So after a restart the
alert queue is what a replay of the journal gives, and nothing is persisted but the journal.
Catch-up costs one read of the journal at start (in the background; the server serves at once).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from rucksack.exchange.core.events import Event
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.sequencer.datadir import recover
from rucksack.exchange.surveillance.config import Thresholds
from rucksack.exchange.surveillance.monitor import Surveillance

log = logging.getLogger("rucksack.surveillance")


class LiveSurveillance:
    """A monitor fed by the release listener, after catching up from the journal."""

    def __init__(self, data_dir: Path, spec: ExchangeSpec, thresholds: Thresholds) -> None:
        self.monitor = Surveillance(spec, thresholds)
        self.data_dir, self.spec = data_dir, spec
        self._buffer: list[tuple[int, int, list[Event]]] = []
        self._caught_up = False
        self._gate = threading.Lock()
        self.ready = threading.Event()

    def listener(self, seq: int, ts_us: int, events: list[Event], steps: object = None) -> None:
        with self._gate:
            if not self._caught_up:
                self._buffer.append((seq, ts_us, events))
                return
        self.monitor.feed(seq, ts_us, events)

    def catch_up(self) -> None:
        """Replay the journal into the monitor, then drain what arrived live meanwhile."""
        try:
            recover(self.data_dir, spec=self.spec, events_after=0, on_events=self.monitor.feed)
        except Exception:  # e.g. a standby seeded from a snapshot has no journal from seq 1
            log.warning("surveillance could not replay the journal; alerts start from now", exc_info=True)
        with self._gate:
            for seq, ts_us, events in self._buffer:
                self.monitor.feed(seq, ts_us, events)
            self._buffer = []
            self._caught_up = True
        self.ready.set()
        log.info("surveillance caught up at seq %d", self.monitor.last_seq, extra={"seq": self.monitor.last_seq})

    def start(self) -> None:
        threading.Thread(target=self.catch_up, name="surveillance-catch-up", daemon=True).start()
