"""Amounts: chain units (lamports, wei, token base units) <-> exchange atoms.

Every amount is an ``int``; nothing here touches floats or ``Decimal``.

Let ``shift = chain_decimals - exchange_decimals``.

The dust rule (deposits): when the chain is finer than the exchange (``shift > 0``, e.g. ETH: 18
chain decimals, 8 exchange decimals), a deposit of ``units`` credits
``atoms = units // 10**shift`` -- rounded DOWN to whole exchange atoms -- and the remainder
``dust = units % 10**shift`` is not credited: it stays on the deposit address, is reported beside
the credit, and is swept with later deposits but never credited retroactively. So
``atoms * 10**shift + dust == units`` and ``0 <= dust < 10**shift`` always hold, and the exchange
never credits more than arrived.

Withdrawals are exact: ``atoms`` convert to ``atoms * 10**shift`` chain units with no rounding.
When the chain is coarser than the exchange (``shift < 0``, no chain here today) a withdrawal must
be a whole multiple of ``10**-shift`` atoms, else ``NotRepresentable``; a deposit then converts
exactly (``dust == 0``).
"""

from __future__ import annotations

from dataclasses import dataclass


class NotRepresentable(ValueError):
    """An exchange amount with no exact equivalent in chain units."""


@dataclass(frozen=True, slots=True)
class Credit:
    """What a deposit of ``units`` chain units credits: ``atoms``, leaving ``dust`` chain units behind."""

    atoms: int
    dust: int


def _check(amount: int, chain_decimals: int, exchange_decimals: int) -> None:
    if type(amount) is not int:
        raise TypeError(f"amounts are ints, got {type(amount).__name__}")
    if amount < 0:
        raise ValueError(f"negative amount {amount}")
    if chain_decimals < 0 or exchange_decimals < 0:
        raise ValueError("decimals must be >= 0")


def deposit_credit(units: int, chain_decimals: int, exchange_decimals: int) -> Credit:
    """Exchange atoms credited for ``units`` received on chain; rounds down, remainder is dust."""
    _check(units, chain_decimals, exchange_decimals)
    shift = chain_decimals - exchange_decimals
    if shift >= 0:
        atoms, dust = divmod(units, 10**shift)
        return Credit(atoms, dust)
    return Credit(units * 10**-shift, 0)


def withdrawal_units(atoms: int, chain_decimals: int, exchange_decimals: int) -> int:
    """Chain units to send for a withdrawal of ``atoms``; exact or ``NotRepresentable``."""
    _check(atoms, chain_decimals, exchange_decimals)
    shift = chain_decimals - exchange_decimals
    if shift >= 0:
        scale: int = 10**shift  # int ** int is typed Any (a negative exponent gives a float); shift >= 0 here
        return atoms * scale
    step: int = 10**-shift
    if atoms % step:
        raise NotRepresentable(f"{atoms} atoms is not a multiple of {step} (chain has {chain_decimals} decimals)")
    return atoms // step


def withdrawal_step(chain_decimals: int, exchange_decimals: int) -> int:
    """The smallest withdrawable increment, in exchange atoms (1 unless the chain is coarser)."""
    shift = chain_decimals - exchange_decimals
    return 1 if shift >= 0 else 10**-shift
