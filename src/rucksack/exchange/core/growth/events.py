"""Growth events (``core.events.Event`` includes them)."""

from __future__ import annotations

import msgspec


class GrowthRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A refused growth command (``command``: its class name); nothing changed."""

    command: str
    account: int
    reason: str


class ReferralCodeCreated(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    code: str


class ReferralTied(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``account`` signed up with ``referrer``'s code; the tie is for good."""

    account: int
    referrer: int
    code: str


class AffiliateRateSet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    rate_ppm: int  # -1: back to the standard rate


class AffiliatePaid(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``amount`` settlement atoms moved from the fee account to ``referrer``."""

    referrer: int
    amount: int
    week_end_us: int


class AffiliatePayoutDeferred(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The fee account held less than ``amount``: the payout waits for the next week."""

    referrer: int
    amount: int
    week_end_us: int


class AccountsLinked(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    owners: list[int]
    reason: str
    ts_us: int


class TradesFlagged(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``deducted``: the flagged trades' volume taken back (settlement atoms, both sides)."""

    alert_id: str
    trades: int
    deducted: int


class PointsSampled(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    hour: int
    owners: int


class PointsSnapshotTaken(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The week ending ``week_end_us`` closed: ``points`` to ``owners`` in ``season`` ("" none)."""

    week_end_us: int
    season: str
    owners: int
    points: int


class PointsDistributed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    week_end_us: int
    season: str
    owners: int
    points: int


GrowthEvent = (
    GrowthRejected
    | ReferralCodeCreated
    | ReferralTied
    | AffiliateRateSet
    | AffiliatePaid
    | AffiliatePayoutDeferred
    | AccountsLinked
    | TradesFlagged
    | PointsSampled
    | PointsSnapshotTaken
    | PointsDistributed
)
