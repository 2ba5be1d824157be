"""Asset, market and fee-tier specifications, validated on creation.

Units: an asset has ``decimals`` (its atom is 10**-decimals). A market has a tick size (price
unit) and a step size (quantity unit). Creation checks that

- one lot is a whole number of base atoms (``lot_atoms``), and
- one lot at one tick is a whole number of quote atoms (``lot_tick_atoms``),

so matching never rounds: the notional of ``n`` lots at ``p`` ticks is exactly
``n * p * lot_tick_atoms`` quote atoms. Multipliers and fee rates are parts per million.

Representable bounds (one place, here): every integer the exchange stores -- journal and
snapshots (MessagePack), read models (SQLite INTEGER) -- must fit in signed 64 bits. So every
price, quantity and amount entering the core is bounded, per market from its units:

- one order's notional, ``max_lots * max_price_ticks * lot_tick_atoms``, is at most
  ``MAX_NOTIONAL_ATOMS`` (2**56), 128 times below 2**63: headroom for the sums formed from it
  (filled totals, balances, the read models' volume sums);
- a perp position's exposure is at most ``max_position_lots``, worth at most
  ``MAX_POSITION_ATOMS`` (2**59) at the maximum price: its cost basis and PnL fit with 16 times
  headroom (a backstop provider may take over several such positions);
- any single amount (deposit, withdrawal, transfer, borrow/lend, quote quantity) is at most
  ``MAX_AMOUNT_ATOMS`` (2**56), and the exchange holds at most ``MAX_ASSET_ATOMS`` (2**60) atoms of
  one asset (deposits minus withdrawals), so every balance fits too.

A market whose configuration leaves ``max_price``/``max_quantity`` open gets them derived:
the lot x tick budget ``MAX_NOTIONAL_ATOMS // lot_tick_atoms`` is split evenly between price and
quantity, each rounded down to a power of ten (BTC_USDC_PERP: 10,000,000 USDC and 1,000 BTC).
Configured bounds are checked against the same budget.
"""

from __future__ import annotations

from math import isqrt
from typing import Final

import msgspec

from rucksack.exchange.core.compliance.rules import ComplianceRules, permissive
from rucksack.exchange.core.enums import MarketType
from rucksack.exchange.core.growth.spec import GrowthSpec
from rucksack.exchange.core.growth.spec import validate as growth_problems
from rucksack.exchange.core.lending.curve import RateCurve
from rucksack.exchange.core.numeric import PPM, decimal_places, parse_decimal
from rucksack.exchange.core.rfq.sessions import Calendar, SecuritySpec
from rucksack.exchange.core.risk.haircut import Haircut
from rucksack.exchange.core.risk.margin_fn import MarginFunction

MAX_BATCH: Final = 50

INT64_MAX: Final = (1 << 63) - 1
"""The largest integer SQLite and MessagePack store as a signed 64-bit integer."""
MAX_NOTIONAL_ATOMS: Final = 1 << 56
"""The most quote atoms one order can be worth at its market's maximum price and quantity."""
MAX_POSITION_ATOMS: Final = 1 << 59
"""The most quote atoms a perp position's largest allowed exposure is worth at the maximum price."""
MAX_AMOUNT_ATOMS: Final = 1 << 56
"""The most atoms of one deposit, withdrawal, transfer, borrow/lend or order quote quantity."""
MAX_ASSET_ATOMS: Final = 1 << 60
"""The most atoms of one asset the exchange holds at once (deposits minus withdrawals)."""


class SpecError(ValueError):
    """An exchange specification that the core refuses to run with."""


class AssetSpec(msgspec.Struct, frozen=True):
    symbol: str
    decimals: int
    display_name: str = ""
    lending: RateCurve | None = None  # None: the asset has no borrow/lend market
    collateral: Haircut | None = None  # None: the asset does not count as collateral
    borrow_imf: MarginFunction | None = None  # initial margin of a borrow of this asset
    borrow_mmf: MarginFunction | None = None  # maintenance margin of a borrow of this asset


class FeeTier(msgspec.Struct, frozen=True):
    """Maker/taker fees in parts per million (8 bp = 800 ppm). Never negative here."""

    name: str
    spot_maker_ppm: int
    spot_taker_ppm: int
    futures_maker_ppm: int
    futures_taker_ppm: int
    # 30-day volume (settlement-asset atoms) that reaches this tier (core.tiers); 0 above the
    # first tier: that kind of volume does not reach it (VIP only)
    spot_volume: int = 0
    futures_volume: int = 0


class PreMarketSpec(msgspec.Struct, frozen=True):
    """A pre-market perp: a contract on a token not listed yet (core.premarket).

    No index exists, so the mark is the book's own price with caps: ``initial_price_ticks`` is
    the first mark; each mark update (one a second) moves it at most ``step_ppm`` of the previous
    mark, and it never leaves ``[initial x band_min, initial x band_max]``. ``spot_market`` is
    the spot market the operator lists the real token on; positions settle at its time-weighted
    average price over the first ``reference_window_us`` after listing, then the perp closes."""

    spot_market: str
    initial_price_ticks: int
    band_min_ppm: int = 250_000  # mark >= initial x 0.25
    band_max_ppm: int = 4_000_000  # mark <= initial x 4 (the hyperp cap, vaults-growth.md §2.1)
    step_ppm: int = 10_000  # +-1% per mark update (Binance pre-market, §2.2)
    reference_window_us: int = 3_600_000_000  # the first hour of spot trading


class MarketSpec(msgspec.Struct, frozen=True):
    """One market; every number is an integer in the unit named by its suffix."""

    symbol: str
    base: str
    quote: str
    market_type: MarketType
    tick_size: str  # decimal string, kept for the API edge
    step_size: str  # decimal string, kept for the API edge
    min_price_ticks: int
    max_price_ticks: int  # see "Representable bounds" above (make_market always sets it)
    min_lots: int
    max_lots: int  # per order; always set by make_market
    min_notional_atoms: int  # quote atoms
    lot_atoms: int  # base atoms per lot
    lot_tick_atoms: int  # quote atoms per (lot x tick)
    price_band_max_ppm: int  # limit price <= reference * max  (PriceOutOfBounds)
    price_band_min_ppm: int  # limit price >= reference * min
    impact_max_ppm: int  # a taker never fills above reference * max  (PriceImpact)
    impact_min_ppm: int  # ... nor below reference * min
    trading: bool = True
    imf: MarginFunction | None = None  # perps: initial margin function
    mmf: MarginFunction | None = None  # perps: maintenance margin function
    funding_bound_wad: int = 0  # perps: |funding rate| per interval at most this (0: no bound)
    open_interest_limit_lots: int = 0  # perps: 0 = no limit
    max_position_lots: int = 0  # perps: largest exposure one account may open (make_market sets it)
    premarket: PreMarketSpec | None = None  # a pre-market perp (core.premarket); None: a regular market


class RiskParams(msgspec.Struct, frozen=True):
    """Exchange-wide margin and liquidation parameters (reference model §14.7).

    Fractions are WAD (1.0 = 10**18) unless suffixed ``_ppm``; amounts are settlement atoms.
    """

    max_leverage: int = 50  # platform cap and default per-subaccount leverage limit
    acmf_divisor: int = 2  # ACMF = max(MMF / divisor, MMF - offset)
    acmf_offset_wad: int = 60_000_000_000_000_000
    liquidation_fee_ppm: int = 10_000  # 1% of stage-1 liquidation notional, to the liquidity fund
    slice_ppm: int = 100_000  # stage 1 closes 10% of a position per sweep ...
    slice_min_notional: int = 1_000_000_000  # ... but at least this much (or the whole position)
    slice_slippage_ppm: int = 10_000  # stage-1 IOC orders go at most 1% through the mark
    recover_mmr_ppm: int = 950_000  # leave liquidation when MM <= 95% of net equity
    funding_interest_wad: int = 100_000_000_000_000  # 0.01% per 8 hours
    funding_clamp_wad: int = 500_000_000_000_000  # +-0.05%
    funding_divisor: int = 8  # an hourly interval pays the 8-hour rate / 8
    liquidity_fund_account: int = 2
    settlement_account: int = 3


class CircuitBreakerSpec(msgspec.Struct, frozen=True):
    """Halt a market when its index moves more than ``band_ppm`` within ``window_us`` (0: off;
    core.market_status)."""

    band_ppm: int = 0
    window_us: int = 60_000_000


class ExchangeSpec(msgspec.Struct, frozen=True):
    assets: list[AssetSpec]
    markets: list[MarketSpec]
    fee_tiers: list[FeeTier]
    fee_account: int = 1
    """System account that collects trading fees."""
    settlement_asset: str = "USDC"
    """Collateral, equity, fees of perps and PnL are valued and settled in this asset."""
    risk: RiskParams = RiskParams()
    circuit_breaker: CircuitBreakerSpec = CircuitBreakerSpec()
    compliance: ComplianceRules = msgspec.field(default_factory=permissive)
    """Entities, region rules, levels and limits (core/compliance; config ``[compliance]``)."""
    # RFQ (core.rfq): markets traded only by request for quote (never on a book), tokenized
    # equities on them with their session calendar, and how long an RFQ stays open
    rfq_markets: list[MarketSpec] = []
    securities: list[SecuritySpec] = []
    calendar: Calendar | None = None
    rfq_ttl_us: int = 30_000_000
    # fee tiers (core.tiers): the VIP level (tier index) a holder of the designated NFT gets
    nft_vip_level: int = 1
    growth: GrowthSpec = GrowthSpec()
    """Points seasons and the points formula's units, the standard referral rate (core.growth)."""

    def asset_index(self, symbol: str) -> int:
        for i, asset in enumerate(self.assets):
            if asset.symbol == symbol:
                return i
        raise SpecError(f"unknown asset {symbol!r}")


FIRST_USER_ACCOUNT: Final = 1000
"""Account ids below this are reserved for system accounts (fees, later pools and funds)."""


def make_market(
    *,
    symbol: str,
    base: AssetSpec,
    quote: AssetSpec,
    market_type: MarketType,
    tick_size: str,
    step_size: str,
    min_quantity: str,
    max_quantity: str | None = None,
    min_price: str | None = None,
    max_price: str | None = None,
    min_notional: str = "0",
    price_band: tuple[str, str] = ("1.25", "0.75"),
    impact_band: tuple[str, str] = ("1.05", "0.95"),
    trading: bool = True,
    imf: MarginFunction | None = None,
    mmf: MarginFunction | None = None,
    funding_bound: str = "0",
    open_interest_limit: str | None = None,
) -> MarketSpec:
    """Build a :class:`MarketSpec` from decimal strings, refusing anything that would round."""
    tick_places = decimal_places(tick_size)
    step_places = decimal_places(step_size)
    tick = parse_decimal(tick_size, tick_places)
    step = parse_decimal(step_size, step_places)
    if tick <= 0 or step <= 0:
        raise SpecError(f"{symbol}: tick size and step size must be positive")
    # one lot in base atoms: step * 10**base.decimals must be whole
    if step_places > base.decimals:
        raise SpecError(f"{symbol}: step size {step_size} is finer than {base.symbol} atoms")
    lot_atoms: int = step * 10 ** (base.decimals - step_places)
    # one lot at one tick in quote atoms: tick * step * 10**quote.decimals must be whole
    places = tick_places + step_places
    if places > quote.decimals:
        raise SpecError(
            f"{symbol}: tick size x step size ({tick_size} x {step_size}) is finer than "
            f"{quote.symbol} atoms; matching would round"
        )
    lot_tick_atoms: int = tick * step * 10 ** (quote.decimals - places)

    def to_lots(text: str) -> int:
        atoms = parse_decimal(text, base.decimals)
        if atoms % lot_atoms:
            raise SpecError(f"{symbol}: quantity {text} is not a multiple of step {step_size}")
        return atoms // lot_atoms

    def to_ticks(text: str) -> int:
        units = parse_decimal(text, tick_places)
        if units % tick:
            raise SpecError(f"{symbol}: price {text} is not a multiple of tick {tick_size}")
        return units // tick

    def to_ppm(text: str) -> int:
        return parse_decimal(text, 6)

    min_lots = to_lots(min_quantity)
    if min_lots <= 0:
        raise SpecError(f"{symbol}: minimum quantity must be at least one step")
    min_price_ticks = to_ticks(min_price) if min_price else 1
    max_price_ticks, max_lots, max_position_lots = market_bounds(
        symbol=symbol,
        lot_tick_atoms=lot_tick_atoms,
        min_price=min_price_ticks,
        min_lots=min_lots,
        max_price=to_ticks(max_price) if max_price else 0,
        max_lots=to_lots(max_quantity) if max_quantity else 0,
    )
    band_max, band_min = to_ppm(price_band[0]), to_ppm(price_band[1])
    imp_max, imp_min = to_ppm(impact_band[0]), to_ppm(impact_band[1])
    if not (0 < band_min <= PPM <= band_max and 0 < imp_min <= PPM <= imp_max):
        raise SpecError(f"{symbol}: bands need 0 < min <= 1 <= max")
    return MarketSpec(
        symbol=symbol,
        base=base.symbol,
        quote=quote.symbol,
        market_type=market_type,
        tick_size=tick_size,
        step_size=step_size,
        min_price_ticks=min_price_ticks,
        max_price_ticks=max_price_ticks,
        min_lots=min_lots,
        max_lots=max_lots,
        min_notional_atoms=parse_decimal(min_notional, quote.decimals),
        lot_atoms=lot_atoms,
        lot_tick_atoms=lot_tick_atoms,
        price_band_max_ppm=band_max,
        price_band_min_ppm=band_min,
        impact_max_ppm=imp_max,
        impact_min_ppm=imp_min,
        trading=trading,
        imf=imf,
        mmf=mmf,
        funding_bound_wad=parse_decimal(funding_bound, 18),
        open_interest_limit_lots=to_lots(open_interest_limit) if open_interest_limit else 0,
        max_position_lots=max_position_lots,
    )


def market_bounds(
    symbol: str, lot_tick_atoms: int, min_price: int, min_lots: int, max_price: int, max_lots: int
) -> tuple[int, int, int]:
    """(max price ticks, max lots per order, max position lots) of a market; configured maxima
    (nonzero) are kept and checked, open ones derived (see "Representable bounds")."""
    budget = MAX_NOTIONAL_ATOMS // lot_tick_atoms  # lots x ticks one order may reach
    if not max_price and not max_lots:
        max_price = _pow10_floor(isqrt(budget))
    if not max_lots:
        max_lots = _pow10_floor(budget // max_price) if max_price <= budget else 0
    if not max_price:
        max_price = _pow10_floor(budget // max_lots) if max_lots <= budget else 0
    if max_price < min_price or max_lots < min_lots or max_price * max_lots > budget:
        raise SpecError(
            f"{symbol}: maximum price x maximum quantity must be worth at most 2**56 quote atoms "
            "(and each at least its minimum)"
        )
    return max_price, max_lots, max(max_lots, _pow10_floor(MAX_POSITION_ATOMS // (max_price * lot_tick_atoms)))


def _pow10_floor(n: int) -> int:
    """The largest power of ten <= ``n`` (0 when ``n`` < 1)."""
    if n < 1:
        return 0
    power: int = 10 ** (len(str(n)) - 1)
    return power


def validate_spec(spec: ExchangeSpec) -> None:
    """Refuse duplicate symbols, markets on unknown assets, and negative fees."""
    seen: set[str] = set()
    for asset in spec.assets:
        if asset.symbol in seen:
            raise SpecError(f"duplicate asset {asset.symbol}")
        if not 0 <= asset.decimals <= 18:
            raise SpecError(f"{asset.symbol}: decimals must be 0..18")
        parts = (
            (asset.lending, "lending"),
            (asset.collateral, "collateral"),
            (asset.borrow_imf, "borrow imf"),
            (asset.borrow_mmf, "borrow mmf"),
        )
        for part, what in parts:
            if part is not None:
                try:
                    part.validate()
                except ValueError as exc:
                    raise SpecError(f"{asset.symbol} {what}: {exc}") from exc
        seen.add(asset.symbol)
    symbols: set[str] = set()
    for market in spec.markets:
        if market.symbol in symbols:
            raise SpecError(f"duplicate market {market.symbol}")
        symbols.add(market.symbol)
        if market.base not in seen or market.quote not in seen:
            raise SpecError(f"{market.symbol}: unknown base or quote asset")
        if market.market_type == "PERP":
            if market.imf is None or market.mmf is None:
                raise SpecError(f"{market.symbol}: a perp needs imf and mmf functions")
            if market.quote != spec.settlement_asset:
                raise SpecError(f"{market.symbol}: perps settle in {spec.settlement_asset}")
            market.imf.validate()
            market.mmf.validate()
    _validate_premarkets(spec)
    _validate_rfq(spec, seen, symbols)
    if not spec.fee_tiers:
        raise SpecError("at least one fee tier is required")
    for tier in spec.fee_tiers:
        rates = (tier.spot_maker_ppm, tier.spot_taker_ppm, tier.futures_maker_ppm, tier.futures_taker_ppm)
        if min(rates) < 0 or max(rates) >= PPM:
            raise SpecError(f"fee tier {tier.name}: rates must be in [0, 100%)")
        if tier.spot_volume < 0 or tier.futures_volume < 0:
            raise SpecError(f"fee tier {tier.name}: volume thresholds must be >= 0")
    if spec.nft_vip_level < 0:  # above the last tier: the last tier (core.tiers.handlers.levels)
        raise SpecError("nft_vip_level must be >= 0")
    if spec.settlement_asset not in seen:
        raise SpecError(f"settlement asset {spec.settlement_asset} is not an asset")
    system = (spec.fee_account, spec.risk.liquidity_fund_account, spec.risk.settlement_account)
    if len(set(system)) != 3 or not all(0 < a < FIRST_USER_ACCOUNT for a in system):
        raise SpecError("fee, liquidity fund and settlement accounts must be distinct system account ids")
    if not 1 <= spec.risk.max_leverage <= 1000 or spec.risk.acmf_divisor < 1 or spec.risk.funding_divisor < 1:
        raise SpecError("risk parameters out of range")
    breaker = spec.circuit_breaker
    if not 0 <= breaker.band_ppm < PPM or not 0 < breaker.window_us <= 86_400_000_000:
        raise SpecError("circuit breaker: band must be in [0, 100%) and the window 1 us .. 1 day")
    for problem in growth_problems(spec.growth):
        raise SpecError(f"points: {problem}")


def _validate_premarkets(spec: ExchangeSpec) -> None:
    """A pre-market is a perp whose spot market exists, is SPOT on the same base and quote with the
    same tick size (its prices are the settlement's), and is no other pre-market's; its band holds
    its initial price."""
    by_symbol = {m.symbol: m for m in spec.markets}
    spots: set[str] = set()
    for market in spec.markets:
        pre = market.premarket
        if pre is None:
            continue
        spot = by_symbol.get(pre.spot_market)
        if market.market_type != "PERP" or spot is None or spot.market_type != "SPOT" or pre.spot_market in spots:
            raise SpecError(f"{market.symbol}: a pre-market is a perp with a spot market of its own")
        if (spot.base, spot.quote, spot.tick_size) != (market.base, market.quote, market.tick_size):
            raise SpecError(f"{market.symbol}: its spot market needs the same base, quote and tick size")
        if not (0 < pre.band_min_ppm <= PPM <= pre.band_max_ppm and 0 < pre.step_ppm < PPM):
            raise SpecError(f"{market.symbol}: pre-market band needs 0 < min <= 1 <= max, step in (0, 1)")
        if not market.min_price_ticks <= pre.initial_price_ticks <= market.max_price_ticks:
            raise SpecError(f"{market.symbol}: initial price out of the market's price range")
        if not 0 < pre.reference_window_us <= 7 * 86_400_000_000:
            raise SpecError(f"{market.symbol}: reference window must be 1 us .. 7 days")
        spots.add(pre.spot_market)


def _validate_rfq(spec: ExchangeSpec, assets: set[str], symbols: set[str]) -> None:
    """RFQ markets: unique symbols, known assets, type RFQ; securities: an RFQ market each and a
    session calendar naming every session they list."""
    for market in spec.rfq_markets:
        if market.symbol in symbols or market.base not in assets or market.quote not in assets:
            raise SpecError(f"{market.symbol}: an RFQ market needs a unique symbol and known assets")
        if market.market_type != "RFQ":
            raise SpecError(f"{market.symbol}: RFQ markets have type RFQ")
        symbols.add(market.symbol)
    rfq_markets = {m.symbol: m for m in spec.rfq_markets}
    sessions = {s.name for s in spec.calendar.sessions} if spec.calendar is not None else set()
    for security in spec.securities:
        listed = rfq_markets.get(security.market)
        if security.asset not in assets or listed is None or listed.base != security.asset:
            raise SpecError(f"security {security.asset}: needs its asset and an RFQ market on it")
        if not security.sessions or any(s.name not in sessions or s.min_lots <= 0 for s in security.sessions):
            raise SpecError(f"security {security.asset}: sessions must be calendar sessions with a minimum")
    if spec.rfq_ttl_us <= 0:
        raise SpecError("rfq_ttl_us must be positive")
