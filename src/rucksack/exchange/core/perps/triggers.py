"""Moved to ``rucksack.exchange.core.orders.triggers`` (triggers are not only for perps).

These names stay importable here for code outside the core that still reads them from the old
place; new code imports from ``orders.triggers``.
"""

from rucksack.exchange.core.orders.triggers import TRIGGER_FAILED as TRIGGER_FAILED
from rucksack.exchange.core.orders.triggers import TRIGGER_PENDING as TRIGGER_PENDING
from rucksack.exchange.core.orders.triggers import Trigger as Trigger
