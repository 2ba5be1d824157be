"""Vault commands (journaled like every command; ``core.commands.Command`` includes them).

Amounts are atoms of the named asset; shares are share units (``book.SHARE_DECIMALS``); fees are
parts per million (management: per year); times are µs. ``CrankVaults`` carries the time it
cranks to: the core reads no clock.
"""

from __future__ import annotations

import msgspec


class CreateVault(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Open a vault led by ``leader``: a new subaccount of the leader becomes the vault's account
    and the leader's first deposit of ``amount`` settlement-asset atoms buys the first shares."""

    leader: int
    name: str
    amount: int
    management_fee_ppm: int = 0  # per year, on the depositors' shares
    performance_fee_ppm: int = 0  # of each depositor's gain above their high-water mark
    leader_min_ppm: int = 50_000  # the leader keeps at least this share of the vault (5%)
    lockup_us: int = 0  # a depositor may request a redemption this long after their last deposit
    redeem_delay_us: int = 0  # a redemption request is paid this long after it is made (or later)
    deposit_cap: int = 0  # the most NAV (settlement atoms) a deposit may take the vault to; 0: none
    protocol: bool = False  # an exchange-run vault (the liquidity vault): no fees, leader minimum 0


class VaultDeposit(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Move ``amount`` atoms of ``asset`` from ``account`` into vault ``vault_id`` for shares."""

    account: int
    vault_id: int
    asset: str
    amount: int


class VaultRedeem(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Queue a redemption of ``shares`` (0: all the account's shares); paid by ``CrankVaults``."""

    account: int
    vault_id: int
    shares: int = 0


class CancelVaultRedeem(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    vault_id: int


class CrankVaults(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick: accrue management fees up to ``now_us``, pay due redemptions (unwinding the
    vault when it lacks the cash), take the hourly NAV samples."""

    now_us: int


class HaltVault(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Mark vault ``vault_id`` halted for ``reason`` ("" resumes it): the liquidity vault's risk
    limits (exchange.liquidity) journal their halt so it is durable and public. ``leader`` must be
    the vault's leader. While halted, the vault's account places reduce-only orders only."""

    leader: int
    vault_id: int
    reason: str = ""


VaultCommand = CreateVault | VaultDeposit | VaultRedeem | CancelVaultRedeem | CrankVaults | HaltVault
VAULT_COMMANDS = (CreateVault, VaultDeposit, VaultRedeem, CancelVaultRedeem, CrankVaults, HaltVault)
