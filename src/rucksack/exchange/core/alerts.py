"""Resolutions of surveillance alerts: journaled so the journal is their audit trail.

Surveillance (``exchange.surveillance``) lives outside the core and raises alerts from released
events; an operator's resolution is a ``ResolveAlert`` command. The core keeps no alert state: it
checks the command's shape (so nothing unbounded enters the journal's events) and emits
``AlertResolved``, which surveillance applies when it reads the events, live or on replay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rucksack.exchange.core.commands import ResolveAlert
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import AlertResolutionRejected, AlertResolved

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

RESOLUTIONS: Final = ("Dismissed", "Reported", "Actioned")
MAX_ALERT_ID: Final = 64
MAX_NOTE: Final = 1000


def resolve(s: ExchangeState, c: ResolveAlert) -> None:
    if not 0 < len(c.alert_id) <= MAX_ALERT_ID or len(c.note) > MAX_NOTE or c.resolution not in RESOLUTIONS:
        s.events.append(AlertResolutionRejected(c.alert_id[:MAX_ALERT_ID], Reason.INVALID_RESOLUTION))
        return
    s.events.append(AlertResolved(c.alert_id, c.resolution, c.note, s.last_ts_us))
