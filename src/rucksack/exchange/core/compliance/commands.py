"""Compliance commands (journaled like every command; ``core/commands.py`` lists them in ``Command``).

Operator commands (the API checks the operator key's roles before it submits them):
``SetIdentity``, ``SetRegionRule``, ``SetRegionRefused``, ``SetLevelLimits``, ``ReviewWithdrawal``,
``SetOperatorKey``, ``RecordOperatorAction``. User commands: ``SetWithdrawalDelay``,
``SetWithdrawalAddress``, ``CancelWithdrawal``. Scheduler: ``ReleaseWithdrawals``.
"""

from __future__ import annotations

import msgspec

from rucksack.exchange.core.compliance.rules import RegionRule


class SetIdentity(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: set an account's verification level and/or residence region ("" unchanged)."""

    account: int
    level: str = ""
    region: str = ""


class SetRegionRule(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: add the region rule ``rule.name`` or replace it."""

    rule: RegionRule


class SetRegionRefused(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: refuse a region outright (sign-up and every product) or serve it again."""

    region: str
    refused: bool
    source: str = ""


class SetLevelLimits(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: an entity's daily deposit and withdrawal limits for one level (settlement atoms, -1 none)."""

    entity: str
    level: str
    deposit_per_day: int
    withdrawal_per_day: int


class SetWithdrawalDelay(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """User: create (``create``) or change the account's withdrawal security delay in hours."""

    account: int
    hours: int
    create: bool


class SetWithdrawalAddress(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """User: add ``address`` (``<blockchain>:<address>``) to the allow-list or remove it."""

    account: int
    address: str
    allowed: bool


class CancelWithdrawal(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """User: cancel a withdrawal still held (in its delay or in review); the funds come back."""

    account: int
    request_id: str


class ReviewWithdrawal(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: approve (released once its delay is over) or reject (funds back) a held withdrawal."""

    request_id: str
    approve: bool


class ReleaseWithdrawals(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick: release every held withdrawal whose delay is over and that no review holds;
    pending delay changes whose time has come take effect."""


class SetOperatorKey(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Admin operator: register an operator key with ``roles`` (none: remove it)."""

    public_key: str
    roles: list[str]


class RecordOperatorAction(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The audit trail: one operator request, who made it, what and its outcome."""

    operator_key: str
    instruction: str
    detail: str
    outcome: str


ComplianceCommand = (
    SetIdentity
    | SetRegionRule
    | SetRegionRefused
    | SetLevelLimits
    | SetWithdrawalDelay
    | SetWithdrawalAddress
    | CancelWithdrawal
    | ReviewWithdrawal
    | ReleaseWithdrawals
    | SetOperatorKey
    | RecordOperatorAction
)
COMPLIANCE_COMMANDS = (
    SetIdentity,
    SetRegionRule,
    SetRegionRefused,
    SetLevelLimits,
    SetWithdrawalDelay,
    SetWithdrawalAddress,
    CancelWithdrawal,
    ReviewWithdrawal,
    ReleaseWithdrawals,
    SetOperatorKey,
    RecordOperatorAction,
)
