"""The exchange's clock: the wall clock plus an offset the sandbox can advance.

The sequencer stamps every command with this clock and the scheduler reads it for its
schedules (day boundaries, hours, the points weeks), so advancing it makes schedules come due
exactly as the passing of time would, and the journal records the advanced times.

Invariants: the offset never decreases, so the time the sequencer stamps never goes backwards
(the sequencer clamps to the last journaled time as well); only a sandbox clock can be advanced
(a production venue runs on the wall clock, ``advance`` refuses). After a restart the sandbox
clock catches up with the journal's last time, so an advance survives restarts.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_ADVANCE_US = 400 * 86_400_000_000  # one call moves at most 400 days (a typo, not a plan)


class ClockNotAdvanceable(RuntimeError):
    """``advance`` on a production clock."""


class ExchangeClock:
    """Callable: µs since the epoch = ``base()`` + the offset."""

    def __init__(self, base: Callable[[], int], *, sandbox: bool) -> None:
        self.base = base
        self.sandbox = sandbox
        self.offset_us = 0

    def __call__(self) -> int:
        return self.base() + self.offset_us

    def advance(self, us: int) -> int:
        """Move the clock ``us`` forward (0 <= us <= MAX_ADVANCE_US); return the new time."""
        if not self.sandbox:
            raise ClockNotAdvanceable("the clock of a production venue is the wall clock")
        if not 0 <= us <= MAX_ADVANCE_US:
            raise ValueError(f"advance must be from 0 to {MAX_ADVANCE_US} µs")
        self.offset_us += us
        return self()

    def catch_up(self, journal_ts_us: int) -> None:
        """Sandbox only: continue from the journal's last time when an earlier advance put it
        ahead of the wall clock."""
        if self.sandbox:
            self.offset_us = max(self.offset_us, journal_ts_us - self.base())
