"""``Surveillance``: the detectors over the released event stream, and the alert queue.

Fed ``(seq, ts_us, events)`` of every command in sequence order: live by the service's release
listener (``attach``), or over a journal read back (``replay``; ``rucksack surveil``). Commands
at or below the last seq seen are skipped, so a live monitor that caught up from the journal can
take the live stream from any overlap. Thread-safe: one lock around feeding and reading.

Alert resolution is journaled (``ResolveAlert`` -> ``AlertResolved``; core.alerts): the monitor
applies an ``AlertResolved`` event to its alert when it reads it, so the journal is the audit
trail and a replay shows every alert with the resolution it was given. A resolution naming an
alert not raised (yet) is kept and applied when the alert is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rucksack.exchange.core.events import AlertResolved, Event
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.surveillance.config import Thresholds
from rucksack.exchange.surveillance.detectors import MarkingTheClose, PumpAndDump, Spoofing, WashTrading
from rucksack.exchange.surveillance.tape import Alert, Tape, evidence_json


class Surveillance:
    def __init__(self, spec: ExchangeSpec, thresholds: Thresholds) -> None:
        self.markets = {m.symbol: m for m in spec.markets}
        self.thresholds = thresholds
        self.tape = Tape()
        self.alerts: dict[str, Alert] = {}
        self.order: list[str] = []  # alert ids in the order raised
        self.resolutions: dict[str, AlertResolved] = {}
        self.last_seq = 0
        self.lock = threading.Lock()
        self.wash = WashTrading(thresholds, self.tape, self._raise)
        self.spoofing = Spoofing(thresholds, self.tape, self._raise)
        self.close = MarkingTheClose(thresholds, self.tape, self._raise)
        self.pump = PumpAndDump(thresholds, self.tape, self._raise)

    def feed(self, seq: int, ts_us: int, events: Iterable[Event]) -> None:
        """One command's events, in sequence order (an already seen seq is skipped)."""
        with self.lock:
            if seq <= self.last_seq:
                return
            self.last_seq = seq
            self.close.on_time(ts_us)
            self.pump.on_time(ts_us)
            self.tape.begin()
            for event in events:
                if isinstance(event, AlertResolved):
                    self._resolve(event)
                    continue
                fill = self.tape.fold(seq, ts_us, event)
                if fill is not None:
                    self.wash.on_fill(fill)
                    self.spoofing.on_fill(fill)
                    self.close.on_fill(fill)
                    self.pump.on_fill(fill)
            self.spoofing.after_command(ts_us)

    def listener(self, seq: int, ts_us: int, events: list[Event], steps: object = None) -> None:
        """The service's release listener signature (``ExchangeService.listeners``)."""
        self.feed(seq, ts_us, events)

    def _raise(self, alert: Alert) -> None:
        if alert.alert_id in self.alerts:  # the same evidence again (cannot happen in order; be safe)
            return
        self.alerts[alert.alert_id] = alert
        self.order.append(alert.alert_id)
        resolved = self.resolutions.pop(alert.alert_id, None)
        if resolved is not None:
            self._apply(alert, resolved)

    def _resolve(self, event: AlertResolved) -> None:
        alert = self.alerts.get(event.alert_id)
        if alert is None:
            self.resolutions[event.alert_id] = event
        else:
            self._apply(alert, event)

    @staticmethod
    def _apply(alert: Alert, event: AlertResolved) -> None:
        alert.status, alert.note, alert.resolved_us = event.resolution, event.note, event.ts_us

    def has_alert(self, alert_id: str) -> bool:
        with self.lock:
            return alert_id in self.alerts

    def alert_list(self, status: str | None = None, typology: str | None = None) -> list[dict[str, Any]]:
        """Alerts newest first, as the operator API shows them."""
        with self.lock:
            chosen = [self.alerts[i] for i in reversed(self.order)]
            return [
                evidence_json(a, self.markets)
                for a in chosen
                if (status is None or a.status == status) and (typology is None or a.typology == typology)
            ]

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.alerts.get(alert_id)
            return evidence_json(found, self.markets) if found is not None else None


def replay(
    data_dir: Path, spec: ExchangeSpec, thresholds: Thresholds, progress: Callable[[int], object] | None = None
) -> tuple[Surveillance, int]:
    """Run the detectors over a data directory's whole journal (read-only); the monitor and the
    last seq it read."""
    from rucksack.exchange.sequencer.datadir import recover

    monitor = Surveillance(spec, thresholds)
    rec = recover(data_dir, spec=spec, events_after=0, on_events=monitor.feed, progress=progress)
    return monitor, rec.engine.last_seq
