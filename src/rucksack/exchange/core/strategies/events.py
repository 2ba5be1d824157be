"""Strategy events (``core.events.Event`` includes them)."""

from __future__ import annotations

import msgspec

from rucksack.exchange.core.strategies.book import Strategy


class StrategyUpdated(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A strategy was created, sent a slice, or ended: ``strategy`` is a copy as it now stands."""

    strategy: Strategy


class StrategyRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A refused create or cancel; nothing changed."""

    account: int
    strategy_id: int
    client_id: int
    reason: str


class StrategyOrderSent(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A slice became order ``order_id`` (its ``OrderAccepted`` and fills precede this event)."""

    strategy_id: int
    order_id: int
    account: int


class StrategySliceSkipped(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A due slice was not sent (``reason``: ``SlippageToleranceExceeded`` or
    ``InsufficientLiquidity``); its lots carry over to the next slice."""

    strategy_id: int
    account: int
    lots: int
    reason: str


StrategyEvent = StrategyUpdated | StrategyRejected | StrategyOrderSent | StrategySliceSkipped
