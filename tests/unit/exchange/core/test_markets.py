from __future__ import annotations

import pytest

from rucksack.exchange.core.markets import AssetSpec, ExchangeSpec, FeeTier, SpecError, make_market, validate_spec

USDC, SOL, ETH = AssetSpec("USDC", 6), AssetSpec("SOL", 9), AssetSpec("ETH", 8)


def test_units_are_derived_exactly() -> None:
    m = make_market(
        symbol="ETH_USDC",
        base=ETH,
        quote=USDC,
        market_type="SPOT",
        tick_size="0.01",
        step_size="0.0001",
        min_quantity="0.0001",
        min_notional="1",
    )
    assert (m.lot_atoms, m.lot_tick_atoms, m.min_lots, m.min_notional_atoms) == (10_000, 1, 1, 1_000_000)


def test_refuses_markets_where_matching_would_round() -> None:
    with pytest.raises(SpecError, match="would round"):
        make_market(
            symbol="X",
            base=SOL,
            quote=USDC,
            market_type="SPOT",
            tick_size="0.001",
            step_size="0.0001",
            min_quantity="0.0001",
        )
    with pytest.raises(SpecError, match="finer than SOL atoms"):
        make_market(
            symbol="X",
            base=SOL,
            quote=USDC,
            market_type="SPOT",
            tick_size="1",
            step_size="0.0000000001",
            min_quantity="1",
        )
    with pytest.raises(SpecError, match="multiple of step"):
        make_market(
            symbol="X",
            base=SOL,
            quote=USDC,
            market_type="SPOT",
            tick_size="0.01",
            step_size="0.02",
            min_quantity="0.03",
        )
    with pytest.raises(SpecError, match="bands"):
        make_market(
            symbol="X",
            base=SOL,
            quote=USDC,
            market_type="SPOT",
            tick_size="0.01",
            step_size="0.01",
            min_quantity="0.01",
            price_band=("0.9", "0.8"),
        )


def test_spec_validation() -> None:
    m = make_market(
        symbol="SOL_USDC",
        base=SOL,
        quote=USDC,
        market_type="SPOT",
        tick_size="0.01",
        step_size="0.01",
        min_quantity="0.01",
    )
    tier = FeeTier("t", 800, 1000, 200, 500)
    validate_spec(ExchangeSpec([USDC, SOL], [m], [tier]))
    with pytest.raises(SpecError, match="duplicate asset"):
        validate_spec(ExchangeSpec([USDC, USDC, SOL], [m], [tier]))
    with pytest.raises(SpecError, match="unknown base"):
        validate_spec(ExchangeSpec([USDC], [m], [tier]))
    with pytest.raises(SpecError, match="rates"):
        validate_spec(ExchangeSpec([USDC, SOL], [m], [FeeTier("t", -1, 0, 0, 0)]))
    with pytest.raises(SpecError, match="fee tier"):
        validate_spec(ExchangeSpec([USDC, SOL], [m], []))
