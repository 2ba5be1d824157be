"""The index-price publisher: the price feed's steps journaled as ``SetIndexPrice`` commands.

Every second the feed steps and each market on the same base and quote as a feed symbol gets
that price converted into its own ticks (exact when the tick grids nest, else floored), sent only
when it changed. Prices enter the engine only as journaled commands, so replay sees the same
prices. What it needs from the exchange is :class:`IndexTarget` (the running service is one).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from rucksack.exchange.core.commands import Command, SetIndexPrice
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.markets import ExchangeSpec, MarketSpec
from rucksack.exchange.core.numeric import decimal_places, parse_decimal
from rucksack.exchange.feeds import PriceFeed

# the sandbox's headline bases: every other market's simulated price moves every few steps, and
# the demo makers (``makers``) quote it less deeply and less often
HEADLINE = frozenset({"SOL", "BTC", "ETH"})

# where the simulated feed starts on a market that has never traded (decimal prices)
START_PRICE = {
    "SOL_USDC": "150",
    "BTC_USDC": "60000",
    "ETH_USDC": "3000",
    "USDT_USDC": "1",
    "POL_USDC": "0.25",
    "JUP_USDC": "0.5",
    "WIF_USDC": "0.9",
    "PYTH_USDC": "0.15",
    "JTO_USDC": "2",
    "W_USDC": "0.1",
    "HNT_USDC": "3",
    "RENDER_USDC": "4",
    "DOGE_USDC": "0.2",
    "XRP_USDC": "2.3",
    "SUI_USDC": "3.5",
    "AVAX_USDC": "25",
    "LINK_USDC": "15",
    "HYPE_USDC": "35",
    "BNB_USDC": "650",
    "LTC_USDC": "90",
    "ADA_USDC": "0.7",
    "TRUMP_USDC": "9",
    "RUCK_USDC": "1",  # the pre-market demo token, once listed (core.premarket)
}


class IndexTarget(Protocol):
    """What the publisher needs: the markets, their last prices, and a way to journal a command."""

    @property
    def spec(self) -> ExchangeSpec: ...

    @property
    def engine(self) -> Engine: ...

    async def submit(self, command: Command) -> list[Event]: ...


def tick_grid(market: MarketSpec) -> tuple[int, int]:
    """(decimal places of the market's tick size, the tick size in those units)."""
    places = decimal_places(market.tick_size)
    return places, parse_decimal(market.tick_size, places)


def start_prices(exchange: IndexTarget) -> dict[str, int]:
    """Each trading spot market's last price in ticks, or its ``START_PRICE`` (100 if unlisted)."""
    out = {}
    for market in exchange.spec.markets:
        if market.market_type != "SPOT" or not market.trading:
            continue
        places, unit = tick_grid(market)
        last = exchange.engine.market_by_symbol[market.symbol].last_price
        out[market.symbol] = last or parse_decimal(START_PRICE.get(market.symbol, "100"), places) // unit
    return out


def make_feed(exchange: IndexTarget, kind: str, seed: int, *, start: bool = True) -> PriceFeed:
    """The server's feed (``rucksack serve --feed``) over every market's tick grid; without
    ``start`` (production) it publishes only prices its source gave, never a starting guess."""
    ticks = {m.symbol: tick_grid(m) for m in exchange.spec.markets}
    first = start_prices(exchange)
    bases = {m.symbol: m.base for m in exchange.spec.markets}
    slow = {s for s in first if bases[s] not in HEADLINE}
    return PriceFeed(kind, first if start else {}, ticks, seed, symbols=set(first), slow=slow)


def index_targets(exchange: IndexTarget, feed: PriceFeed) -> dict[str, list[tuple[str, int, int]]]:
    """For each feed symbol, the markets on the same base and quote with (numerator, denominator)
    converting feed ticks into that market's ticks (exact when the tick grids nest, else floor)."""
    markets = {m.symbol: m for m in exchange.spec.markets}
    out: dict[str, list[tuple[str, int, int]]] = {}
    for symbol in [m for m in markets if m in feed.symbols]:  # in the configuration's order
        source = markets[symbol]
        source_places, source_unit = tick_grid(source)
        for target in markets.values():
            if (target.base, target.quote) != (source.base, source.quote) or target.premarket is not None:
                continue  # (a pre-market has no index: its mark is its own book's, core.premarket)
            target_places, target_unit = tick_grid(target)
            scale = 10 ** abs(target_places - source_places)
            if target_places >= source_places:
                num, den = source_unit * scale, target_unit
            else:
                num, den = source_unit, target_unit * scale
            out.setdefault(symbol, []).append((target.symbol, num, den))
    return out


async def publish_index_prices(exchange: IndexTarget, feed: PriceFeed, period: float = 1.0) -> None:
    """Step the feed and journal SetIndexPrice for every market it drives, when a price changed."""
    targets = index_targets(exchange, feed)
    sent: dict[str, int] = {}
    while True:
        for symbol, ticks in feed.step().items():
            for market, num, den in targets.get(symbol, []):
                price = ticks * num // den
                if price > 0 and sent.get(market) != price:
                    sent[market] = price
                    await exchange.submit(SetIndexPrice(market, price))
        await asyncio.sleep(period)
