"""Pre-market events (``core.events.Event`` includes them). A mark update is announced as an
``IndexPriceSet`` (index and mark equal: a pre-market has no other index)."""

from __future__ import annotations

import msgspec


class PreMarketListed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The spot market opened; positions settle at its time-weighted average over
    ``[start_us, end_us)``."""

    market: str
    spot_market: str
    start_us: int
    end_us: int


class PreMarketRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A refused ``ListPreMarket``; nothing changed."""

    market: str
    reason: str


class PreMarketPositionSettled(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """One position closed at the settlement price: ``lots`` (signed, long > 0) were held and
    ``pnl`` settlement atoms (``lots x price x lot_tick_atoms - cost``) moved into the account's
    unsettled balance (paid out in the same command)."""

    account: int
    market: str
    lots: int
    price: int
    pnl: int


class PreMarketSettled(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Every position settled at ``price`` (ticks); ``sampled_us``: how long the spot price was
    sampled (0: no spot price in the window, the last mark was used); the market is now delisted."""

    market: str
    price: int
    positions: int
    sampled_us: int


PreMarketEvent = PreMarketListed | PreMarketRejected | PreMarketPositionSettled | PreMarketSettled
