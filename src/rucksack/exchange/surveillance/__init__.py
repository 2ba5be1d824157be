"""Market surveillance: detectors over the released event stream, raising alerts with evidence.

Outside the core: it reads events (live through the service's release listener, or a journal
replayed by ``rucksack surveil``) and keeps no state that must replay; its alerts are a pure
function of the journal and the ``[surveillance]`` thresholds. Operators resolve alerts with a
journaled ``ResolveAlert`` command (core.alerts). See docs/surveillance.md.
"""

from rucksack.exchange.surveillance.config import Thresholds, thresholds_from_toml
from rucksack.exchange.surveillance.monitor import Surveillance, replay

__all__ = ["Surveillance", "Thresholds", "replay", "thresholds_from_toml"]
