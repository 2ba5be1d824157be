"""Helpers shared by the route modules: parameter parsing, paging, WAD formatting."""

from __future__ import annotations

import re
from typing import Any

from rucksack.exchange.api.errors import bad_request
from rucksack.exchange.api.wire import format_atoms, iso_ms
from rucksack.exchange.service import ExchangeService

DEPTH_LIMITS = ("5", "10", "20", "50", "100", "500", "1000")


KLINE_SECONDS = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
    "1month": 2592000,
}


DAY_US = 86_400_000_000
# time filters are kept in microseconds in SQLite's signed 64-bit integers: a bound in seconds or
# milliseconds must stay below 2^62 once scaled (year ~146,000 for seconds: no real filter is refused)
TIME_S_MAX = (1 << 62) // 1_000_000
TIME_MS_MAX = (1 << 62) // 1_000
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def int_param(params: dict[str, Any], key: str, default: int, *, lo: int = 0, hi: int = 1 << 62) -> int:
    value = params.get(key)
    if value is None:
        return default
    text = str(value)
    if not _INTEGER.fullmatch(text):
        raise bad_request(f"{key} must be an integer")
    number = int(text)
    if not lo <= number <= hi:
        raise bad_request(f"{key} must be between {lo} and {hi}")
    return number


def uint_param(params: dict[str, Any], key: str, default: int, *, bits: int = 63) -> int:
    """An unsigned integer sent as a JSON number or a numeric string (clients differ, spec §1.3),
    below ``2**bits``; ``default`` when absent."""
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())
    ):
        raise bad_request(f"{key} must be an unsigned integer")
    number = int(value) if len(str(value)) <= 20 else 1 << bits
    if not 0 <= number < 1 << bits:
        raise bad_request(f"{key} is out of range")
    return number


def bool_param(params: dict[str, Any], key: str) -> bool:
    """A boolean sent as JSON true/false or as the strings clients use ("true", "True", ...);
    False when absent."""
    value = params.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    raise bad_request(f"{key} must be a boolean")


def created_at(service: ExchangeService) -> str:
    return iso_ms(service.started_us)


def page_params(params: Any) -> tuple[int, int, bool]:
    limit = int_param(params, "limit", 100, lo=1, hi=1000)
    offset = int_param(params, "offset", 0)
    direction = params.get("sortDirection", "Desc")
    if direction not in ("Asc", "Desc"):
        raise bad_request("sortDirection must be Asc or Desc")
    return limit, offset, direction == "Asc"


def wad(value: int) -> str:
    return format_atoms(value, 18)


def apy(apr: int) -> int:
    """(1 + APR/8760)^8760 - 1 in WAD, by repeated squaring (rounded down at each step)."""
    from rucksack.exchange.core.lending.curve import HOURS_PER_YEAR
    from rucksack.exchange.core.numeric import WAD

    base = WAD + apr // HOURS_PER_YEAR
    result, exponent = WAD, HOURS_PER_YEAR
    while exponent:
        if exponent & 1:
            result = result * base // WAD
        base = base * base // WAD
        exponent >>= 1
    return result - WAD
