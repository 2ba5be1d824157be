"""The growth programmes' configuration (config ``[points]`` and ``[affiliates]``): points
seasons, the points formula's units and the standard referral rate. Plain data, validated by
``validate``; every amount is an integer (settlement atoms, parts per million, µs)."""

from __future__ import annotations

import msgspec

WEEK_US = 7 * 86_400_000_000
"""A points week. The Unix epoch fell on a Thursday, so multiples of a week are Thursdays 00:00 UTC."""
HOUR_US = 3_600_000_000
DISTRIBUTION_DELAY_US = 26 * HOUR_US
"""The distribution is due Friday 02:00 UTC: 26 hours after the Thursday 00:00 UTC snapshot."""


class Season(msgspec.Struct, frozen=True):
    """A points season: ``[start_us, end_us)`` (``end_us`` 0: open-ended)."""

    name: str
    start_us: int
    end_us: int = 0


class GrowthSpec(msgspec.Struct, frozen=True):
    """``volume_unit_atoms``: settlement atoms of qualifying volume per point; ``lend_unit`` and
    ``hold_unit``: settlement atom-hours lent / held per point; ``referral_rate_ppm``: the
    standard share of a referred account's fees paid to its referrer."""

    seasons: list[Season] = []
    volume_unit_atoms: int = 1_000_000  # 1 point per 1 USDC traded
    lend_unit: int = 100_000_000 * 24  # 1 point per 100 USDC lent for a day
    hold_unit: int = 1_000_000_000 * 24  # 1 point per 1,000 USDC held for a day
    referral_rate_ppm: int = 100_000  # 10%


MAX_RATE_PPM = 500_000
"""An approved affiliate rate is at most 50% of the referred account's fees (the Captain top level)."""


def validate(spec: GrowthSpec) -> list[str]:
    """Problems with ``spec`` (empty: fine): seasons ordered, disjoint, named once; units > 0."""
    problems = []
    if min(spec.volume_unit_atoms, spec.lend_unit, spec.hold_unit) <= 0:
        problems.append("points units must be positive")
    if not 0 <= spec.referral_rate_ppm <= MAX_RATE_PPM:
        problems.append(f"referral rate must be within 0..{MAX_RATE_PPM} ppm")
    names = [s.name for s in spec.seasons]
    if len(set(names)) != len(names) or any(not 0 < len(n) <= 32 for n in names):
        problems.append("season names must be unique, 1 to 32 characters")
    for i, s in enumerate(spec.seasons):
        if s.start_us < 0 or (s.end_us and s.end_us <= s.start_us):
            problems.append(f"season {s.name}: end must be after start")
        if s.end_us == 0 and i != len(spec.seasons) - 1:
            problems.append(f"season {s.name}: only the last season may be open-ended")
        if i and spec.seasons[i - 1].end_us > s.start_us:
            problems.append(f"season {s.name}: starts before the season before it ends")
    return problems


def season_at(spec: GrowthSpec, ts_us: int) -> int:
    """Index of the season running at ``ts_us``, or -1 between (or outside) seasons."""
    for i, s in enumerate(spec.seasons):
        if s.start_us <= ts_us and (s.end_us == 0 or ts_us < s.end_us):
            return i
    return -1
