"""Vault events (``core.events.Event`` includes them). Values are settlement-asset atoms."""

from __future__ import annotations

from typing import Final

import msgspec

# Backpack's VaultRedeem statuses
REQUESTED: Final = "Requested"
REDEEMED: Final = "Redeemed"
CANCELLED: Final = "Cancelled"


class VaultCreated(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    vault_id: int
    account: int  # the vault's own (sub)account
    leader: int
    name: str


class VaultMinted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``account`` moved ``amount`` of ``asset`` (worth ``value``) in and got ``shares``."""

    vault_id: int
    account: int
    asset: str
    amount: int
    value: int
    shares: int
    nav: int  # the vault's NAV before the deposit
    total_shares: int  # before the deposit


class VaultRedeemRequested(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    vault_id: int
    account: int
    shares: int
    due_us: int


class VaultRedeemed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``shares`` burnt for ``amount``; ``fee_shares`` of them went to the leader first
    (performance fee) and were not paid out."""

    vault_id: int
    account: int
    shares: int
    fee_shares: int
    amount: int
    nav: int  # the vault's NAV before the payment
    total_shares: int  # before the payment


class VaultRedeemCancelled(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    vault_id: int
    account: int
    reason: str


class VaultFeeAccrued(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``shares`` minted to the leader: the management fee up to ``until_us``."""

    vault_id: int
    leader: int
    shares: int
    until_us: int


class VaultUnwinding(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The vault lacks ``needed`` atoms of cash for the head of its queue: its orders were
    cancelled and a slice of each position closed."""

    vault_id: int
    needed: int


class VaultHalted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The vault was halted for ``reason``, or resumed ("")."""

    vault_id: int
    reason: str


class VaultRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    vault_id: int
    reason: str


VaultEvent = (
    VaultCreated
    | VaultMinted
    | VaultRedeemRequested
    | VaultRedeemed
    | VaultRedeemCancelled
    | VaultFeeAccrued
    | VaultUnwinding
    | VaultHalted
    | VaultRejected
)
