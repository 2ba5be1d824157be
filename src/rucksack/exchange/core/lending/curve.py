"""Interest rate curves, in WAD fixed point (1.0 = 10**18).

Borrow APR is a two-slope function of utilization ``U = borrowed / lent`` (reference model
§14.5, shape from Aave; Backpack publishes only ``optimalUtilization``):

    U <= U*:  R0 + R1 * U / U*
    U >  U*:  R0 + R1 + R2 * (U - U*) / (1 - U*)

Lend APR is borrow APR x U x (1 - fee) (Backpack: "the fee that the exchange takes on borrow
lend yield"). Rounding: every division rounds the borrow rate up and the lend side down, so the
pool never promises lenders more than borrowers pay.
"""

from __future__ import annotations

from typing import Final

import msgspec

from rucksack.exchange.core.numeric import WAD, ceil_div

HOURS_PER_YEAR: Final = 8760


class RateCurve(msgspec.Struct, frozen=True):
    """Per-asset money-market parameters, all in WAD (0.05 = 5 * 10**16)."""

    optimal_utilization: int
    base_apr: int  # R0
    slope1_apr: int  # R1: added between 0 and optimal utilization
    slope2_apr: int  # R2: added between optimal and full utilization
    fee: int  # the exchange's share of interest
    max_utilization: int  # borrows and redemptions may not push utilization above this
    throttle_threshold: int = WAD  # at or above this utilization, the throttle holds (WAD: never)
    throttle_bound: int = WAD  # the throttle's ceiling (capped by max_utilization)
    throttle_update_fraction: int = WAD  # how far towards the bound utilization may rise per hour

    def validate(self) -> None:
        if not 0 < self.optimal_utilization < WAD:
            raise ValueError("optimal utilization must be strictly between 0 and 1")
        if min(self.base_apr, self.slope1_apr, self.slope2_apr) < 0:
            raise ValueError("rates must be non-negative")
        if not 0 <= self.fee < WAD or not 0 < self.max_utilization <= WAD:
            raise ValueError("fee must be in [0, 1) and max utilization in (0, 1]")
        if (
            not 0 < self.throttle_threshold <= self.throttle_bound <= WAD
            or not 0 < self.throttle_update_fraction <= WAD
        ):
            raise ValueError("throttle needs 0 < threshold <= bound <= 1 and 0 < update fraction <= 1")


def utilization(borrowed: int, lent: int) -> int:
    """Borrowed / lent in WAD, rounded up, capped at 1 (0 when nothing is lent)."""
    if lent <= 0 or borrowed <= 0:
        return 0
    u = ceil_div(borrowed * WAD, lent)
    return u if u < WAD else WAD


def borrow_apr(curve: RateCurve, u: int) -> int:
    """Borrow APR (WAD) at utilization ``u`` (WAD), rounded up."""
    opt = curve.optimal_utilization
    if u <= opt:
        return curve.base_apr + ceil_div(curve.slope1_apr * u, opt)
    return curve.base_apr + curve.slope1_apr + ceil_div(curve.slope2_apr * (u - opt), (WAD - opt))


def lend_apr(curve: RateCurve, u: int) -> int:
    """Lend APR (WAD) at utilization ``u``: borrow APR x U x (1 - fee), rounded down."""
    return borrow_apr(curve, u) * u // WAD * (WAD - curve.fee) // WAD


def hourly_rate(apr: int) -> int:
    """The hourly rate (WAD) charged to borrowers for an APR: APR / 8760, rounded up."""
    return ceil_div(apr, HOURS_PER_YEAR)
