"""Surveillance thresholds: the ``[surveillance]`` table of the exchange configuration.

Not core state: the table is read from the data directory's config (or the shipped default);
changing a threshold changes which alerts a replay raises, never the exchange's state. Fractions
and multiples are decimal strings (exact), windows whole seconds (docs/surveillance.md).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import msgspec


class Thresholds(msgspec.Struct, frozen=True):
    wash_min_trades: int = 1
    wash_window_seconds: int = 3600
    spoof_size_multiple: Decimal = Decimal(3)
    spoof_levels: int = 5
    spoof_max_lifetime_seconds: Decimal = Decimal(2)
    spoof_opposite_seconds: int = 10
    layering_min_orders: int = 3
    close_window_seconds: int = 60
    close_min_move: Decimal = Decimal("0.005")
    close_min_trades: int = 2
    close_min_direction: Decimal = Decimal("0.8")
    pump_window_seconds: int = 900
    pump_min_rise: Decimal = Decimal("0.10")
    pump_volume_multiple: Decimal = Decimal(5)
    pump_baseline_windows: int = 4


class ThresholdError(ValueError):
    """A ``[surveillance]`` table the monitor refuses to run with."""


def thresholds_from_toml(text: str) -> Thresholds:
    """The ``[surveillance]`` table of a configuration (defaults for what it leaves out)."""
    raw: dict[str, Any] = tomllib.loads(text).get("surveillance", {})
    unknown = set(raw) - set(Thresholds.__struct_fields__)
    if unknown:
        raise ThresholdError(f"surveillance: unknown keys {sorted(unknown)}")
    try:
        values = {key: (Decimal(value) if isinstance(value, str) else value) for key, value in raw.items()}
        result = msgspec.convert(values, Thresholds)
    except (msgspec.ValidationError, ArithmeticError) as exc:
        raise ThresholdError(f"surveillance: {exc}") from exc
    if min(result.wash_min_trades, result.spoof_levels, result.close_min_trades, result.pump_baseline_windows) < 1:
        raise ThresholdError("surveillance: counts must be at least 1")
    return result
