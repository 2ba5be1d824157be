"""Pre-market commands (journaled like every command; ``core.commands.Command`` includes them)."""

from __future__ import annotations

import msgspec


class CrankPreMarkets(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick (each second while a pre-market exists): every pre-market's banded mark
    moves toward its book; a listing samples its spot market and, once its window has passed,
    settles. Time is the command's stamp: the core reads no clock."""


class ListPreMarket(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: the real token lists on ``market``'s spot market now; the reference window
    starts. ``window_us`` > 0 overrides the configured window (at most 7 days; the sandbox's demo
    uses a minute)."""

    market: str
    window_us: int = 0


PreMarketCommand = CrankPreMarkets | ListPreMarket
PREMARKET_COMMANDS = (CrankPreMarkets, ListPreMarket)
