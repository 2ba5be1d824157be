"""Conversions between Backpack's decimal strings and the core's integer units, and the JSON
shapes Backpack clients expect (field names and order as in its documentation).

Parsing is exact: a price that is not a multiple of the tick size, a quantity that is not a
multiple of the step size, or an amount with more decimals than the asset has is refused with
Backpack's error code, never rounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request
from rucksack.exchange.core.markets import AssetSpec, ExchangeSpec, MarketSpec
from rucksack.exchange.core.numeric import DecimalError, decimal_places, format_decimal, parse_decimal

MAX_DIGITS = 40  # longer numeric strings are refused outright
MAX_UNITS = (1 << 60) - 1  # every integer handed to the core stays far inside 64 bits


class MarketWire:
    def __init__(self, spec: MarketSpec, base: AssetSpec, quote: AssetSpec) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.base = base
        self.quote = quote
        self.tick_places = decimal_places(spec.tick_size)
        self.step_places = decimal_places(spec.step_size)
        self.tick_units = parse_decimal(spec.tick_size, self.tick_places)
        self.step_units = parse_decimal(spec.step_size, self.step_places)

    # -- formatting
    def price(self, ticks: int) -> str:
        return format_decimal(ticks * self.tick_units, self.tick_places)

    def qty(self, lots: int) -> str:
        return format_decimal(lots * self.step_units, self.step_places)

    def quote_amount(self, atoms: int) -> str:
        return format_atoms(atoms, self.quote.decimals)

    # -- parsing (exact or ApiError)
    def parse_price(self, value: Any, field: str = "price") -> int:
        units = _parse(value, self.tick_places, field, "INVALID_PRICE", "Price decimal too long")
        if units <= 0 or units % self.tick_units:
            raise ApiError(400, "INVALID_PRICE", f"{field} must be a positive multiple of {self.spec.tick_size}")
        return units // self.tick_units

    def parse_qty(self, value: Any, field: str = "quantity") -> int:
        units = _parse(value, self.step_places, field, "INVALID_QUANTITY", "Quantity decimal too long")
        if units <= 0 or units % self.step_units:
            raise ApiError(400, "INVALID_QUANTITY", f"{field} must be a positive multiple of {self.spec.step_size}")
        return units // self.step_units

    def parse_quote(self, value: Any, field: str = "quoteQuantity") -> int:
        atoms = _parse(value, self.quote.decimals, field, "INVALID_QUANTITY", "Quantity decimal too long")
        if atoms <= 0:
            raise ApiError(400, "INVALID_QUANTITY", f"{field} must be positive")
        return atoms


def parse_amount(value: Any, asset: AssetSpec, field: str = "quantity") -> int:
    atoms = _parse(value, asset.decimals, field, "INVALID_QUANTITY", "Quantity decimal too long")
    if atoms <= 0:
        raise ApiError(400, "INVALID_QUANTITY", f"{field} must be positive")
    return atoms


def _parse(value: Any, places: int, field: str, code: str, too_long: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str):  # JSON numbers arrive as Num (a str)
        raise bad_request(f"{field} must be a decimal string")
    if len(value) > MAX_DIGITS:
        raise ApiError(400, code, f"{field} is too large")
    try:
        units = parse_decimal(value, places)
    except DecimalError as exc:
        message = too_long if "decimal places" in str(exc) else f"{field}: {exc}"
        raise ApiError(400, code, message) from exc
    if units > MAX_UNITS:
        raise ApiError(400, code, f"{field} is too large")
    return units


def format_atoms(atoms: int, decimals: int) -> str:
    """Atoms as a decimal string without trailing zeros ("1.5", "0", "120")."""
    text = format_decimal(atoms, decimals)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def iso_ms(ts_us: int) -> str:
    """Naive ISO with milliseconds, as Backpack's history endpoints write it."""
    dt = datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(ts_us // 1000) % 1000:03d}"


def iso_seconds(ts_us: int) -> str:
    """WebSocket kline ``t``/``T``: naive ISO to the second, "2025-07-19T13:09:00" (UTC)."""
    return datetime.fromtimestamp(ts_us // 1_000_000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def space_seconds(ts_us: int) -> str:
    """Kline time format: "2025-07-19 13:09:00" (UTC)."""
    return datetime.fromtimestamp(ts_us // 1_000_000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def function_json(fn: Any) -> dict[str, str] | None:
    """An IMF/MMF ``sqrt`` function as Backpack writes it (WAD base and factor as decimals)."""
    if fn is None:
        return None
    return {"type": "sqrt", "base": format_atoms(fn.base, 18), "factor": format_atoms(fn.factor, 18)}


class Wire:
    """All markets' and assets' wire helpers for one exchange spec."""

    def __init__(self, spec: ExchangeSpec) -> None:
        self.spec = spec
        self.assets = {a.symbol: a for a in spec.assets}
        self.markets = {m.symbol: MarketWire(m, self.assets[m.base], self.assets[m.quote]) for m in spec.markets}

    def market(self, symbol: Any) -> MarketWire:
        if not isinstance(symbol, str) or symbol not in self.markets:
            raise ApiError(400, "INVALID_MARKET", f"Invalid market symbol: {str(symbol)[:40]!r}")
        return self.markets[symbol]

    def asset(self, symbol: Any) -> AssetSpec:
        if not isinstance(symbol, str) or symbol not in self.assets:
            raise ApiError(400, "INVALID_ASSET", f"Invalid asset: {str(symbol)[:40]!r}")
        return self.assets[symbol]

    def market_json(self, mw: MarketWire, created_at: str) -> dict[str, Any]:
        m = mw.spec
        is_perp = m.market_type == "PERP"
        bound_bp = format_atoms(m.funding_bound_wad * 10_000, 18)  # basis points
        return {
            "symbol": m.symbol,
            "baseSymbol": m.base,
            "quoteSymbol": m.quote,
            "marketType": m.market_type,
            "filters": {
                "price": {
                    "minPrice": mw.price(m.min_price_ticks),
                    "maxPrice": mw.price(m.max_price_ticks) if m.max_price_ticks else None,
                    "tickSize": m.tick_size,
                    "maxMultiplier": format_atoms(m.price_band_max_ppm, 6),
                    "minMultiplier": format_atoms(m.price_band_min_ppm, 6),
                    "maxImpactMultiplier": format_atoms(m.impact_max_ppm, 6),
                    "minImpactMultiplier": format_atoms(m.impact_min_ppm, 6),
                },
                "quantity": {
                    "minQuantity": mw.qty(m.min_lots),
                    "maxQuantity": mw.qty(m.max_lots) if m.max_lots else None,
                    "stepSize": m.step_size,
                },
            },
            "imfFunction": function_json(m.imf),
            "mmfFunction": function_json(m.mmf),
            "fundingInterval": 3_600_000 if is_perp else None,
            "fundingRateUpperBound": bound_bp if is_perp else None,
            "fundingRateLowerBound": ("-" + bound_bp if bound_bp != "0" else "0") if is_perp else None,
            "openInterestLimit": mw.qty(m.open_interest_limit_lots) if m.open_interest_limit_lots else None,
            "orderBookState": "Open" if m.trading else "Closed",
            "createdAt": created_at,
            "visible": True,
        }

    def asset_json(self, asset: AssetSpec) -> dict[str, Any]:
        return {
            "symbol": asset.symbol,
            "displayName": asset.display_name or asset.symbol,
            "coingeckoId": None,
            "tokens": [],
        }
