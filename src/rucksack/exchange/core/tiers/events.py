"""Fee-tier events (``core.events.Event`` includes them)."""

from __future__ import annotations

import msgspec


class FeeTiersRecomputed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The day boundary ``day`` was applied; ``moved`` accounts changed tier (each has its
    ``AccountTierChanged`` before this event)."""

    day: int
    moved: int


class AccountTierChanged(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """An account's fee tier is now ``tier`` = max(``volume_tier``, ``vip``, ``nft``)."""

    account: int
    tier: int
    volume_tier: int
    vip: int
    nft: int


class NftVipGranted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    address: str
    token_id: int
    level: int


class NftVipLapsed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    address: str
    token_id: int


class NftVipRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    reason: str


TierEvent = FeeTiersRecomputed | AccountTierChanged | NftVipGranted | NftVipLapsed | NftVipRejected
