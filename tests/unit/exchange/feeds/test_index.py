"""The index publisher's start prices and tick conversions, now read from the market specs, are
the ones the makers computed from the API's wire formats before the publisher moved to feeds/."""

from __future__ import annotations

from pathlib import Path

from rucksack.exchange.api.wire import Wire
from rucksack.exchange.feeds.index import START_PRICE, index_targets, make_feed
from rucksack.exchange.service import ExchangeService


def wire_targets(wire: Wire, symbols: list[str]) -> dict[str, list[tuple[str, int, int]]]:
    """The conversion as makers.index_targets computed it over ``Wire`` (before this issue)."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for symbol in symbols:
        source = wire.markets[symbol]
        for target in wire.markets.values():
            if (target.spec.base, target.spec.quote) != (source.spec.base, source.spec.quote):
                continue
            if target.spec.premarket is not None:  # no index: its mark is its own (core.premarket)
                continue
            scale = 10 ** abs(target.tick_places - source.tick_places)
            if target.tick_places >= source.tick_places:
                num, den = source.tick_units * scale, target.tick_units
            else:
                num, den = source.tick_units, target.tick_units * scale
            out.setdefault(symbol, []).append((target.symbol, num, den))
    return out


def test_targets_and_start_prices_match_the_wire_formats(tmp_path: Path) -> None:
    service = ExchangeService(tmp_path / "d", sandbox=False)
    try:
        wire = Wire(service.spec)
        feed = make_feed(service, "sim", 7)
        spot = [m.symbol for m in service.spec.markets if m.market_type == "SPOT" and m.trading]
        assert feed.prices == {s: wire.markets[s].parse_price(START_PRICE.get(s, "100")) for s in spot}
        targets = index_targets(service, feed)
        assert targets == wire_targets(wire, list(feed.prices))
        driven = {t for pairs in targets.values() for t, _, _ in pairs}
        perps = {m.symbol for m in service.spec.markets if m.market_type == "PERP" and m.premarket is None}
        assert perps <= driven
        assert "RUCK_USDC_PERP" not in driven  # the pre-market is never driven by the feed (core.premarket)
    finally:
        service.close()
