"""The demo makers price perps off the index, so their own quotes never sustain a basis."""

from __future__ import annotations

from dataclasses import dataclass

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.feeds import PriceFeed
from rucksack.exchange.makers import quoted_markets
from tests.unit.exchange.core.perps.helpers import SOL, USDC, PerpDriver

PERP = "SOL_USDC_PERP"


@dataclass
class Reader:
    """The part of a ``Venue`` that ``quoted_markets`` reads."""

    spec: ExchangeSpec
    engine: Engine


def test_perps_are_quoted_around_the_index_not_the_mark() -> None:
    """A user's quotes a little above the index build a basis: the mark leaves the index. The
    makers keep quoting around the index; quoted around the mark, as before, they re-centred the
    book on the basis and kept it alive (a 30% gap left the mark at the +5% clamp for hours)."""
    d = PerpDriver()
    user = d.new_account(USDC=1_000_000 * USDC, SOL=1_000 * SOL)
    d.index("SOL", "150")
    d(PlaceOrder(user, PERP, "Bid", "Limit", lots=100, price=15_300))
    d(PlaceOrder(user, PERP, "Ask", "Limit", lots=100, price=15_320))
    for _ in range(90):  # a minute and a half of index updates, one a second
        d.index("SOL", "150")
    market = queries.market(d.engine, PERP)
    assert market.index_price == 15_000 and market.mark > 15_200  # the basis is there
    feed = PriceFeed("manual", {}, {})
    assert dict(quoted_markets(Reader(queries.spec(d.engine), d.engine), feed))[PERP] == 15_000
