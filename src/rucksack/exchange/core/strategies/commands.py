"""Strategy commands (journaled like every command; ``core.commands.Command`` includes them).

Prices are ticks and quantities lots of the strategy's market; times are µs; ``client_id`` < 0
means none. ``seed`` drives the randomized slice sizes (drawn by the API once, so replay of the
journal gives the same slices). ``CrankStrategies`` carries the time it cranks to: the core reads
no clock.
"""

from __future__ import annotations

import msgspec

from rucksack.exchange.core.enums import SelfTradePrevention, Side, TimeInForce


class CreateStrategy(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A ``Scheduled`` strategy: ``lots`` in ``duration_us // interval_us`` IOC slices.

    ``price`` (ticks) > 0: each slice is a limit IOC at that price; 0: a market slice.
    ``slippage`` > 0 bounds a slice's worst fill from the best opposite price at slice time, in
    ticks (``TickSize``) or parts per million of that price (``Percent``)."""

    account: int
    market: str
    side: Side
    lots: int
    duration_us: int
    interval_us: int
    seed: int
    price: int = 0
    randomized: bool = False
    client_id: int = -1
    slippage: int = 0
    slippage_type: str = ""  # "" | TickSize | Percent
    tif: TimeInForce = "IOC"
    stp: SelfTradePrevention = "RejectTaker"
    reduce_only: bool = False
    auto_borrow: bool = False
    auto_borrow_repay: bool = False
    auto_lend_redeem: bool = False


class CancelStrategy(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Cancel one running strategy of ``market`` by ``strategy_id`` or, when < 0, ``client_id``."""

    account: int
    market: str
    strategy_id: int = -1
    client_id: int = -1


class CancelStrategies(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Cancel every running strategy of ``account`` on ``market``."""

    account: int
    market: str


class CrankStrategies(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick: send every slice due at or before ``now_us`` (never before the strategy
    clock already reached: the strategy clock only moves forward)."""

    now_us: int


StrategyCommand = CreateStrategy | CancelStrategy | CancelStrategies | CrankStrategies
STRATEGY_COMMANDS = (CreateStrategy, CancelStrategy, CancelStrategies, CrankStrategies)
