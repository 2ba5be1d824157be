"""Compliance events (``core/events.py`` lists them in ``Event``)."""

from __future__ import annotations

import msgspec


class ComplianceRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A compliance command refused (``what`` names the command, ``reason`` a ``Reason``)."""

    account: int
    what: str
    reason: str


class IdentitySet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    level: str
    region: str
    entity: str


class RulesChanged(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    what: str


class WithdrawalDelaySet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    current_hours: int
    pending_hours: int
    pending_at_us: int


class WithdrawalAddressSet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    address: str
    allowed: bool
    effective_at_us: int


class WithdrawalHeld(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A debited withdrawal waits: until ``trigger_at_us`` (its delay) and/or an operator review."""

    account: int
    request_id: str
    trigger_at_us: int
    review: bool


class WithdrawalReleased(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    request_id: str


class WithdrawalCancelled(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The held withdrawal's funds are back on the account (by the user, or rejected in review)."""

    account: int
    request_id: str
    by_operator: bool


class OperatorKeySet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    public_key: str
    roles: list[str]


class OperatorActionRecorded(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    index: int


ComplianceEvent = (
    ComplianceRejected
    | IdentitySet
    | RulesChanged
    | WithdrawalDelaySet
    | WithdrawalAddressSet
    | WithdrawalHeld
    | WithdrawalReleased
    | WithdrawalCancelled
    | OperatorKeySet
    | OperatorActionRecorded
)
