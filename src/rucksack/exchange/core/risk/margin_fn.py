"""Backpack's ``sqrt`` IMF/MMF functions: ``f(X) = max(base, factor * sqrt(X))``, capped at 1.

``X`` is a notional in whole settlement units (USD), as Backpack's measured BTC parameters
require (§3). Values are WAD fixed point (1.0 = 10**18). Requirements round up: the square root
is rounded up and so is the product, so a margin fraction is never below the formula.
"""

from __future__ import annotations

from math import isqrt

import msgspec

from rucksack.exchange.core.numeric import WAD, ceil_div


class MarginFunction(msgspec.Struct, frozen=True):
    base: int  # WAD
    factor: int  # WAD per sqrt(USD)

    def validate(self) -> None:
        if not 0 <= self.base <= WAD or self.factor < 0:
            raise ValueError("margin function needs 0 <= base <= 1 and factor >= 0")


def sqrt_units_wad(notional_atoms: int, settlement_decimals: int) -> int:
    """sqrt(notional in whole units) in WAD, rounded up."""
    if notional_atoms <= 0:
        return 0
    scaled = notional_atoms * WAD * WAD
    den = 10**settlement_decimals
    q = ceil_div(scaled, den)
    root = isqrt(q)
    return root if root * root == q else root + 1


def fraction(fn: MarginFunction, notional_atoms: int, settlement_decimals: int, floor: int) -> int:
    """``min(1, max(base, floor, factor * sqrt(X)))`` in WAD; ``floor`` is 1/leverage."""
    f = fn.base if fn.base > floor else floor
    if fn.factor:
        curve = ceil_div(fn.factor * sqrt_units_wad(notional_atoms, settlement_decimals), WAD)
        if curve > f:
            f = curve
    return f if f < WAD else WAD
