"""Collateral haircuts (Backpack's ``haircutFunction``), in WAD fixed point (1.0 = 10**18).

- ``identity``: the weight is constant;
- ``inverseSqrt``: ``W(x) = min(weight, base / (1 + penalty * sqrt(x)))`` with ``x`` the holding's
  notional in whole settlement units (USD), so large holdings get a lower marginal weight while
  ``x * W(x)`` still grows with ``x`` (reference model §14.1; the exact Backpack curve is not
  published — this shape follows Drift/FTX).

Rounding: the square root and the division round down, so weights never exceed the formula.
"""

from __future__ import annotations

from math import isqrt

import msgspec

from rucksack.exchange.core.numeric import WAD


class Haircut(msgspec.Struct, frozen=True):
    weight: int
    kind: str = "identity"  # or "inverseSqrt"
    base: int = 0
    penalty: int = 0

    def validate(self) -> None:
        if not 0 <= self.weight <= WAD:
            raise ValueError("collateral weight must be in [0, 1]")
        if self.kind not in ("identity", "inverseSqrt"):
            raise ValueError("haircut kind must be identity or inverseSqrt")
        if self.kind == "inverseSqrt" and (self.base <= 0 or self.penalty < 0):
            raise ValueError("inverseSqrt needs a positive base and a non-negative penalty")


def weight(h: Haircut, notional_atoms: int, settlement_decimals: int) -> int:
    """The collateral weight (WAD) for a holding worth ``notional_atoms`` settlement atoms."""
    if h.kind == "identity" or notional_atoms <= 0:
        return h.weight
    # sqrt(notional in whole units) in WAD: isqrt(atoms * WAD^2 / 10^decimals)
    root = isqrt(notional_atoms * WAD * WAD // 10**settlement_decimals)
    curve = h.base * WAD // (WAD + h.penalty * root // WAD)
    return curve if curve < h.weight else h.weight
