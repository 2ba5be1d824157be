"""Exchange configuration: the shipped TOML (``default.toml``) and its loader.

The loader turns decimal strings into the core's integer specs and refuses anything that is
not exactly representable; the core then validates the result again (``validate_spec``).
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from rucksack.exchange.config.compliance import load_compliance
from rucksack.exchange.config.growth import load_growth
from rucksack.exchange.core.lending.curve import RateCurve
from rucksack.exchange.core.markets import (
    AssetSpec,
    CircuitBreakerSpec,
    ExchangeSpec,
    FeeTier,
    MarketSpec,
    PreMarketSpec,
    RiskParams,
    SpecError,
    make_market,
    validate_spec,
)
from rucksack.exchange.core.numeric import DecimalError, decimal_places, parse_decimal
from rucksack.exchange.core.rfq.sessions import Calendar, HolidaySpec, SecuritySession, SecuritySpec, SessionSpec
from rucksack.exchange.core.risk.haircut import Haircut
from rucksack.exchange.core.risk.margin_fn import MarginFunction

_MARKET_KEYS = {
    "symbol",
    "base",
    "quote",
    "type",
    "tick_size",
    "step_size",
    "min_quantity",
    "max_quantity",
    "min_price",
    "max_price",
    "min_notional",
    "price_band",
    "impact_band",
    "trading",
    "imf_base",
    "imf_factor",
    "mmf_base",
    "mmf_factor",
    "funding_bound",
    "open_interest_limit",
    "premarket",
}


def default_config_text() -> str:
    return resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")


def load_spec_text(text: str) -> ExchangeSpec:
    """Parse a TOML configuration into a validated :class:`ExchangeSpec`."""
    try:
        raw = tomllib.loads(text)
        return _build(raw)
    except (tomllib.TOMLDecodeError, DecimalError, KeyError, TypeError) as exc:
        raise SpecError(f"invalid exchange configuration: {exc}") from exc


def load_spec(path: Path | None = None) -> tuple[ExchangeSpec, str]:
    """Load ``path`` (or the shipped default); return the spec and the exact text it came from."""
    text = default_config_text() if path is None else path.read_text(encoding="utf-8")
    return load_spec_text(text), text


def _build(raw: dict[str, Any]) -> ExchangeSpec:
    assets = [
        AssetSpec(
            symbol=a["symbol"],
            decimals=int(a["decimals"]),
            display_name=a.get("display_name", a["symbol"]),
            lending=_curve(a["symbol"], a["lending"]) if "lending" in a else None,
            collateral=_haircut(a["symbol"], a["collateral"]) if "collateral" in a else None,
            borrow_imf=_margin_fn(a["borrow"], "imf") if "borrow" in a else None,
            borrow_mmf=_margin_fn(a["borrow"], "mmf") if "borrow" in a else None,
        )
        for a in raw["assets"]
    ]
    by_symbol = {a.symbol: a for a in assets}
    settle_decimals = _settle_decimals(raw, assets)
    tiers = [
        FeeTier(
            name=t["name"],
            spot_maker_ppm=parse_decimal(t["spot_maker"], 6),
            spot_taker_ppm=parse_decimal(t["spot_taker"], 6),
            futures_maker_ppm=parse_decimal(t["futures_maker"], 6),
            futures_taker_ppm=parse_decimal(t["futures_taker"], 6),
            # 30-day volume thresholds in the settlement asset (USDC), core.tiers
            spot_volume=parse_decimal(t.get("spot_volume", "0"), settle_decimals),
            futures_volume=parse_decimal(t.get("futures_volume", "0"), settle_decimals),
        )
        for t in raw["fee_tiers"]
    ]
    defaults = raw.get("market_defaults", {})
    markets = []
    for m in raw["markets"]:
        unknown = set(m) - _MARKET_KEYS
        if unknown:
            raise SpecError(f"market {m.get('symbol')}: unknown keys {sorted(unknown)}")
        if m["base"] not in by_symbol or m["quote"] not in by_symbol:
            raise SpecError(f"market {m['symbol']}: unknown base or quote asset")
        if m["type"] not in ("SPOT", "PERP"):
            raise SpecError(f"market {m['symbol']}: type must be SPOT or PERP")
        merged = {**defaults, **m}
        markets.append(
            make_market(
                symbol=m["symbol"],
                base=by_symbol[m["base"]],
                quote=by_symbol[m["quote"]],
                market_type=m["type"],
                tick_size=m["tick_size"],
                step_size=m["step_size"],
                min_quantity=m["min_quantity"],
                max_quantity=m.get("max_quantity"),
                min_price=m.get("min_price"),
                max_price=m.get("max_price"),
                min_notional=merged.get("min_notional", "0"),
                price_band=tuple(merged.get("price_band", ("1.25", "0.75"))),
                impact_band=tuple(merged.get("impact_band", ("1.05", "0.95"))),
                trading=bool(m.get("trading", True)),
                imf=_margin_fn(m, "imf") if "imf_base" in m else None,
                mmf=_margin_fn(m, "mmf") if "mmf_base" in m else None,
                funding_bound=m.get("funding_bound", "0"),
                open_interest_limit=m.get("open_interest_limit"),
            )
        )
        if "premarket" in m:  # a pre-market perp (core.premarket)
            markets[-1] = msgspec.structs.replace(markets[-1], premarket=_premarket(markets[-1], m["premarket"]))
    spec = ExchangeSpec(
        assets=assets,
        markets=markets,
        fee_tiers=tiers,
        fee_account=int(raw.get("exchange", {}).get("fee_account", 1)),
        risk=_risk(raw.get("risk", {})),
        circuit_breaker=_breaker(raw.get("circuit_breaker", {})),
        compliance=load_compliance(raw.get("compliance"), _settle_decimals(raw, assets)),
        growth=load_growth(raw.get("points"), raw.get("affiliates"), _settle_decimals(raw, assets)),
        **_rfq(raw, by_symbol, defaults),
        nft_vip_level=int(raw.get("fee_program", {}).get("nft_vip_level", 1)),
    )
    validate_spec(spec)
    return spec


_PREMARKET_KEYS = {"spot_market", "initial_price", "band", "step", "reference_window_seconds"}


def _premarket(market: MarketSpec, raw: dict[str, Any]) -> PreMarketSpec:
    """``[markets.premarket]``: ``spot_market``, ``initial_price`` (decimal, on the tick grid),
    ``band`` ([min, max] multipliers of the initial price), ``step`` (largest move of the mark per
    update, a fraction), ``reference_window_seconds`` (the listing TWAP's window)."""
    unknown = set(raw) - _PREMARKET_KEYS
    if unknown or "spot_market" not in raw or "initial_price" not in raw:
        raise SpecError(f"{market.symbol} premarket: unknown keys {sorted(unknown)} or no spot_market/initial_price")
    places = decimal_places(market.tick_size)
    tick = parse_decimal(market.tick_size, places)
    units = parse_decimal(raw["initial_price"], places)
    if units <= 0 or units % tick:
        raise SpecError(f"{market.symbol} premarket: initial price is not a positive multiple of the tick")
    band_min, band_max = raw.get("band", ["0.25", "4"])
    return PreMarketSpec(
        spot_market=raw["spot_market"],
        initial_price_ticks=units // tick,
        band_min_ppm=parse_decimal(band_min, 6),
        band_max_ppm=parse_decimal(band_max, 6),
        step_ppm=parse_decimal(raw.get("step", "0.01"), 6),
        reference_window_us=int(raw.get("reference_window_seconds", 3600)) * 1_000_000,
    )


def _breaker(raw: dict[str, Any]) -> CircuitBreakerSpec:
    """``[circuit_breaker]``: ``band`` (decimal fraction, "0" = off), ``window_seconds`` (integer)."""
    unknown = set(raw) - {"band", "window_seconds"}
    if unknown:
        raise SpecError(f"circuit_breaker: unknown keys {sorted(unknown)}")
    return CircuitBreakerSpec(
        band_ppm=parse_decimal(raw.get("band", "0"), 6), window_us=int(raw.get("window_seconds", 60)) * 1_000_000
    )


def _settle_decimals(raw: dict[str, Any], assets: list[AssetSpec]) -> int:
    settle = raw.get("exchange", {}).get("settlement_asset", "USDC")
    return next((a.decimals for a in assets if a.symbol == settle), 6)


_CURVE_KEYS = {"optimal_utilization", "base_apr", "slope1_apr", "slope2_apr", "fee", "max_utilization"}
_THROTTLE_KEYS = {"throttle_threshold", "throttle_bound", "throttle_update_fraction"}  # optional


def _curve(symbol: str, raw: dict[str, Any]) -> RateCurve:
    """A ``[assets.lending]`` table of decimal fractions -> a RateCurve in WAD (exact)."""
    unknown = set(raw) - _CURVE_KEYS - _THROTTLE_KEYS
    missing = _CURVE_KEYS - set(raw)
    if unknown or missing:
        raise SpecError(f"{symbol} lending: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    keys = sorted(_CURVE_KEYS | (_THROTTLE_KEYS & set(raw)))
    return RateCurve(**{key: parse_decimal(raw[key], 18) for key in keys})


_HAIRCUT_KEYS = {"weight", "kind", "base", "penalty"}


def _haircut(symbol: str, raw: dict[str, Any]) -> Haircut:
    """An ``[assets.collateral]`` table -> a Haircut in WAD (exact)."""
    unknown = set(raw) - _HAIRCUT_KEYS
    if unknown or "weight" not in raw:
        raise SpecError(f"{symbol} collateral: unknown keys {sorted(unknown)} or no weight")
    return Haircut(
        weight=parse_decimal(raw["weight"], 18),
        kind=raw.get("kind", "identity"),
        base=parse_decimal(raw.get("base", "0"), 18),
        penalty=parse_decimal(raw.get("penalty", "0"), 18),
    )


def _margin_fn(raw: dict[str, Any], kind: str) -> MarginFunction:
    """``<kind>_base`` and ``<kind>_factor`` decimal fractions -> a MarginFunction in WAD."""
    return MarginFunction(base=parse_decimal(raw[f"{kind}_base"], 18), factor=parse_decimal(raw[f"{kind}_factor"], 18))


_RISK_DECIMALS = {
    "acmf_offset": ("acmf_offset_wad", 18),
    "liquidation_fee": ("liquidation_fee_ppm", 6),
    "slice": ("slice_ppm", 6),
    "slice_slippage": ("slice_slippage_ppm", 6),
    "recover_mmr": ("recover_mmr_ppm", 6),
    "funding_interest": ("funding_interest_wad", 18),
    "funding_clamp": ("funding_clamp_wad", 18),
}
_RISK_INTS = {"max_leverage", "acmf_divisor", "funding_divisor", "liquidity_fund_account", "settlement_account"}


def _risk(raw: dict[str, Any]) -> RiskParams:
    """The ``[risk]`` table (decimal fractions, integers; ``slice_min_notional`` in USD)."""
    unknown = set(raw) - set(_RISK_DECIMALS) - _RISK_INTS - {"slice_min_notional"}
    if unknown:
        raise SpecError(f"risk: unknown keys {sorted(unknown)}")
    values: dict[str, int] = {key: int(raw[key]) for key in _RISK_INTS if key in raw}
    for key, (field, scale) in _RISK_DECIMALS.items():
        if key in raw:
            values[field] = parse_decimal(raw[key], scale)
    if "slice_min_notional" in raw:
        values["slice_min_notional"] = parse_decimal(raw["slice_min_notional"], 6)
    return RiskParams(**values)


def _rfq(raw: dict[str, Any], assets: dict[str, AssetSpec], defaults: dict[str, Any]) -> dict[str, Any]:
    """``[rfq]``, ``[[rfq_markets]]``, ``[[securities]]`` and ``[calendar]``: the RFQ-only
    markets, the tokenized equities on them and their session calendar (core.rfq.sessions)."""
    markets = []
    for m in raw.get("rfq_markets", []):
        if m["base"] not in assets or m["quote"] not in assets:
            raise SpecError(f"RFQ market {m['symbol']}: unknown base or quote asset")
        markets.append(
            make_market(
                symbol=m["symbol"],
                base=assets[m["base"]],
                quote=assets[m["quote"]],
                market_type="RFQ",
                tick_size=m["tick_size"],
                step_size=m["step_size"],
                min_quantity=m["min_quantity"],
                max_quantity=m.get("max_quantity"),
                min_notional=m.get("min_notional", defaults.get("min_notional", "0")),
            )
        )
    by_symbol = {m.symbol: m for m in markets}
    securities = []
    for sec in raw.get("securities", []):
        market = by_symbol.get(sec.get("market", ""))
        if market is None:
            raise SpecError(f"security {sec.get('asset')}: unknown RFQ market {sec.get('market')!r}")
        lot = parse_decimal(market.step_size, 18)

        def lots(text: str, lot: int = lot, symbol: str = market.symbol) -> int:
            value = parse_decimal(text, 18)
            if value % lot:
                raise SpecError(f"{symbol}: session quantity {text} is not a multiple of the step")
            return value // lot

        tick = parse_decimal(market.tick_size, 18)
        price = parse_decimal(sec["reference_price"], 18)
        if price % tick:
            raise SpecError(f"security {sec['asset']}: reference price is not a multiple of the tick")
        securities.append(
            SecuritySpec(
                asset=sec["asset"],
                name=sec["name"],
                market=market.symbol,
                cusip=sec.get("cusip"),
                reference_price=price // tick,
                sessions=[
                    SecuritySession(
                        s["name"], lots(s["min_quantity"]), lots(s["max_quantity"]) if "max_quantity" in s else 0
                    )
                    for s in sec["sessions"]
                ],
            )
        )
    out: dict[str, Any] = {"rfq_markets": markets, "securities": securities}
    if "calendar" in raw:
        out["calendar"] = _calendar(raw["calendar"])
    if "rfq" in raw:
        out["rfq_ttl_us"] = parse_decimal(str(raw["rfq"]["ttl_seconds"]), 6)
    return out


def _minute(text: str) -> int:
    """``HH:MM`` -> minutes of the day."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _calendar(raw: dict[str, Any]) -> Calendar:
    offsets = [
        (int(datetime.fromisoformat(start).timestamp()) * 1_000_000, int(minutes)) for start, minutes in raw["offsets"]
    ]
    if offsets != sorted(offsets):
        raise SpecError("calendar offsets must be in time order")
    return Calendar(
        timezone=raw["timezone"],
        offsets=offsets,
        sessions=[
            SessionSpec(
                s["name"],
                _minute(s["start"]),
                _minute(s["end"]),
                int(s.get("start_weekday", 1)),
                int(s.get("end_weekday", 5)),
            )
            for s in raw["sessions"]
        ],
        holidays=[
            HolidaySpec(h["date"], h["name"], _minute(h["close"]) if "close" in h else 0)
            for h in raw.get("holidays", [])
        ],
    )
