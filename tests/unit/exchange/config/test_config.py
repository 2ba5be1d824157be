from __future__ import annotations

import pytest

from rucksack.exchange.config import default_config_text, load_spec, load_spec_text
from rucksack.exchange.core.markets import SpecError


def test_default_config_has_required_assets_and_markets() -> None:
    spec, _ = load_spec()
    assert {"USDC", "SOL", "BTC", "ETH"} <= {a.symbol for a in spec.assets}
    symbols = {m.symbol: m for m in spec.markets}
    for s in ("SOL_USDC", "BTC_USDC", "ETH_USDC"):
        assert symbols[s].market_type == "SPOT"
    assert symbols["SOL_USDC_PERP"].market_type == "PERP"
    tier1 = spec.fee_tiers[0]
    assert (tier1.spot_maker_ppm, tier1.spot_taker_ppm) == (800, 1000)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('tick_size = "0.1"', 'tick_size = "0.1x"', "plain decimal"),
        ('spot_maker = "0.0008"', 'spot_maker = "0.00000001"', "decimal places"),
        ('type = "SPOT"', 'type = "FUTURE"', "SPOT or PERP"),
        ('min_quantity = "0.01"', 'min_quantity = "0.01"\nwhatever = 1', "unknown keys"),
        ("[[markets]]", "[[markets", "invalid exchange configuration"),
    ],
)
def test_bad_configs_are_refused(old: str, new: str, match: str) -> None:
    text = default_config_text().replace(old, new, 1)
    with pytest.raises(SpecError, match=match):
        load_spec_text(text)


def test_lending_curves_are_parsed_exactly() -> None:
    spec, _ = load_spec()
    usdc = next(a for a in spec.assets if a.symbol == "USDC")
    assert usdc.lending is not None
    assert usdc.lending.optimal_utilization == 8 * 10**17 and usdc.lending.fee == 10**17
    assert usdc.lending.max_utilization == 95 * 10**16


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('optimal_utilization = "0.80"', 'optimal_utilization = "1.5"', "optimal utilization"),
        ('fee = "0.10"', 'fees = "0.10"', "unknown keys"),
        ('max_utilization = "0.95"', 'max_utilization = "0"', "max utilization"),
    ],
)
def test_bad_lending_tables_are_refused(old: str, new: str, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        load_spec_text(default_config_text().replace(old, new, 1))
