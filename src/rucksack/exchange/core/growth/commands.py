"""Growth commands: points and affiliates (journaled like every command; ``core.commands.Command``
includes them). Times are µs; amounts settlement atoms; rates parts per million.

The scheduler sends ``SamplePoints`` every hour, ``SnapshotPoints`` at Thursday 00:00 UTC,
``DistributePoints`` and ``PayAffiliates`` at Friday 02:00 UTC; each carries the instant it is
for and is idempotent by it. ``FlagTrades`` and ``LinkAccounts`` bring market surveillance's
findings (which runs outside the core) into the core so they can change points.
"""

from __future__ import annotations

import msgspec


class CreateReferralCode(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A top-level account takes its referral code (once; 4-16 of A-Z and 0-9, unique)."""

    account: int
    code: str


class SetAffiliateRate(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: ``account``'s approved share of its referred accounts' fees (-1: the standard rate)."""

    account: int
    rate_ppm: int


class FlaggedTrade(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A trade surveillance flagged: its two accounts, its notional (settlement atoms) and time."""

    trade_id: int
    buyer: int
    seller: int
    notional: int
    ts_us: int


class FlagTrades(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Surveillance: these trades earn no points (deducted from the open week; ``alert_id`` names why)."""

    alert_id: str
    trades: list[FlaggedTrade]


class LinkAccounts(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Surveillance or an operator: the owners of ``accounts`` are one owner from now on (their
    trades with each other earn no points; referral rebates between them stop)."""

    accounts: list[int]
    reason: str = ""


class SamplePoints(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Hourly: add each owner's lent and held value for the hour to the open week (once per hour)."""

    hour: int


class SnapshotPoints(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Thursday 00:00 UTC: close the week ending at ``week_end_us`` into a pending distribution."""

    week_end_us: int


class DistributePoints(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Friday 02:00 UTC: add the pending week's points to its season and recompute the ranks."""

    week_end_us: int


class PayAffiliates(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Friday 02:00 UTC: pay each referrer its whole owed USDC atoms from the fee account."""

    week_end_us: int


GrowthCommand = (
    CreateReferralCode
    | SetAffiliateRate
    | FlagTrades
    | LinkAccounts
    | SamplePoints
    | SnapshotPoints
    | DistributePoints
    | PayAffiliates
)
GROWTH_COMMANDS = (
    CreateReferralCode,
    SetAffiliateRate,
    FlagTrades,
    LinkAccounts,
    SamplePoints,
    SnapshotPoints,
    DistributePoints,
    PayAffiliates,
)
