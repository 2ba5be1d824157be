"""The ``[points]`` and ``[affiliates]`` tables of the exchange config -> ``core.growth.spec.GrowthSpec``.

```toml
[points]
volume_per_point = "1"        # USDC of qualifying volume per point
lend_per_point_day = "100"    # USDC lent for a day per point
hold_per_point_day = "1000"   # USDC held for a day per point
[[points.seasons]]
name = "Season 1"
start = "2026-10-01"          # 00:00 UTC that day
end = "2026-12-31"            # exclusive; omitted: open-ended (last season only)
[affiliates]
rate = "0.10"                 # standard share of a referred account's fees
```

Amounts are decimals in the settlement asset, converted exactly (no rounding). No tables: no
seasons (points off) and the standard 10% referral rate. Season dates should be Thursdays, so a
season change falls on a weekly snapshot (docs/points.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rucksack.exchange.core.growth.spec import GrowthSpec, Season
from rucksack.exchange.core.markets import SpecError
from rucksack.exchange.core.numeric import parse_decimal

_POINTS_KEYS = {"volume_per_point", "lend_per_point_day", "hold_per_point_day", "seasons"}


def load_growth(points: dict[str, Any] | None, affiliates: dict[str, Any] | None, decimals: int) -> GrowthSpec:
    points, affiliates = points or {}, affiliates or {}
    unknown = (set(points) - _POINTS_KEYS) | {f"affiliates.{k}" for k in set(affiliates) - {"rate"}}
    if unknown:
        raise SpecError(f"points: unknown keys {sorted(unknown)}")
    defaults = GrowthSpec()
    return GrowthSpec(
        seasons=[_season(s) for s in points.get("seasons", [])],
        volume_unit_atoms=_atoms(points.get("volume_per_point"), decimals, 1, defaults.volume_unit_atoms),
        lend_unit=_atoms(points.get("lend_per_point_day"), decimals, 24, defaults.lend_unit),
        hold_unit=_atoms(points.get("hold_per_point_day"), decimals, 24, defaults.hold_unit),
        referral_rate_ppm=parse_decimal(str(affiliates.get("rate", "0.10")), 6),
    )


def _atoms(text: Any, decimals: int, hours: int, default: int) -> int:
    return default if text is None else parse_decimal(str(text), decimals) * hours


def _season(raw: dict[str, Any]) -> Season:
    if set(raw) - {"name", "start", "end"} or "name" not in raw or "start" not in raw:
        raise SpecError(f"points season {raw}: name, start and optionally end")
    return Season(str(raw["name"]), _day_us(raw["start"]), _day_us(raw["end"]) if "end" in raw else 0)


def _day_us(value: Any) -> int:
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
