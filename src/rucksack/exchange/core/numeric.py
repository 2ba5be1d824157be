"""Integer fixed-point money.

Invariants:
- Every amount in the core is an ``int`` in a declared unit: asset *atoms* (10**-decimals of the
  asset), price *ticks* (multiples of a market's tick size) and quantity *lots* (multiples of a
  market's step size). No floats anywhere.
- Decimal strings exist only at the edges (config, API). :func:`parse_decimal` converts them
  exactly or fails; it never rounds.
- Rounding up happens only through :func:`ceil_div` (and :func:`fee_atoms`, built on it) at call
  sites that state the reason; rounding down is plain ``//``. Both always in the ledger's favour
  (fees and debts up, payouts and claims down).
"""

from __future__ import annotations

import re
from typing import Final

PPM: Final = 1_000_000
"""Scale of rates and multipliers written as parts per million (fees, price bands)."""

PPB: Final = 1_000_000_000
"""Scale of margin fractions inside the risk engine (parts per billion, see ``risk.margin``)."""

WAD: Final = 10**18
"""Scale of rates, indexes and fractions in 18-decimal fixed point (1.0 = 10**18): interest
curves, lending indexes, funding rates, margin functions."""

_DECIMAL_RE: Final = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]+))?")


class DecimalError(ValueError):
    """A decimal string that cannot be represented exactly at the requested scale."""


def parse_decimal(text: str, scale: int, *, signed: bool = False) -> int:
    """Parse a plain decimal string into an integer count of ``10**-scale`` units.

    ``parse_decimal("1.25", 2) == 125``. Exponents, NaN, infinities, blanks, and more fractional
    digits than ``scale`` (other than trailing zeros) are refused with :class:`DecimalError`.
    """
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        raise DecimalError(f"not a plain decimal number: {text!r}")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if sign == "-" and not signed:
        raise DecimalError(f"negative value not allowed: {text!r}")
    frac = frac.rstrip("0")
    if len(frac) > scale:
        raise DecimalError(f"{text!r} has more than {scale} decimal places")
    value: int = int(whole) * 10**scale + (int(frac) * 10 ** (scale - len(frac)) if frac else 0)
    return -value if sign == "-" else value


def format_decimal(value: int, scale: int) -> str:
    """Render ``value`` units of ``10**-scale`` as a decimal string with exactly ``scale`` places."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if scale == 0:
        return f"{sign}{value}"
    whole, frac = divmod(value, 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}"


def decimal_places(text: str) -> int:
    """Number of significant fractional digits in a plain decimal string ("0.010" -> 2)."""
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        raise DecimalError(f"not a plain decimal number: {text!r}")
    return len((match.group(3) or "").rstrip("0"))


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounding towards +infinity (denominator > 0)."""
    return -((-numerator) // denominator)


def fee_atoms(amount: int, rate_ppm: int) -> int:
    """Fee on ``amount`` atoms at ``rate_ppm``: rounded up, in the ledger's favour."""
    return ceil_div(amount * rate_ppm, PPM)
