"""Demo market makers and takers for ``make run``: live books and trades within seconds.

They are ordinary accounts trading through the sequencer (``ExchangeService.submit``), quoting a
ladder of limit orders around the price feed on every spot and perp market and sending small
market orders, so everything they do is journaled, replayable and visible through the API. Their
account ids are kept in ``DATA/demo.json`` so a restart reuses them. The quoters lend part of
their USDC (so settlement and spot margin can borrow), and the last quoter is registered as a
backstop liquidity provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from pathlib import Path
from typing import Protocol

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    BorrowLend,
    CancelAllOrders,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    PlaceOrders,
    SetBackstopProvider,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import AccountCreated, Event
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.feeds import PriceFeed

__all__ = ["Venue", "ensure_accounts", "margin_setup", "quoted_markets", "run_makers"]

log = logging.getLogger("rucksack.makers")
FUND_UNITS = {"USDC": 50_000_000, "SOL": 200_000, "BTC": 1_000, "ETH": 20_000}
LEVELS = 8
# one ladder step is worth about this much quote (USDC) per random unit (1..20 units a level), so
# a newcomer's market order of a few SOL fills inside the impact band even while one of the two
# quoters is between its cancel and its new ladder
STEP_NOTIONAL = 50


class Venue(Protocol):
    """What the makers need from the exchange (the running service is one): where to keep their
    account ids, the markets, the engine's state between commands, and a way to trade."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def spec(self) -> ExchangeSpec: ...

    @property
    def engine(self) -> Engine: ...

    async def submit(self, command: Command) -> list[Event]: ...


async def ensure_accounts(service: Venue, count: int) -> list[int]:
    path = service.data_dir / "demo.json"
    if path.exists():
        accounts: list[int] = json.loads(path.read_text(encoding="utf-8"))["accounts"]
        if len(accounts) >= count:
            return accounts[:count]
    accounts = []
    for i in range(count):
        # the makers quote from an idle wallet (their fills would otherwise redeem and re-lend at
        # every trade); what they supply to the pools is lent once, by ``margin_setup``
        events = await service.submit(CreateAccount(f"demo-{i}", auto_lend=False))
        account = next(e.account for e in events if isinstance(e, AccountCreated))
        for asset, units in FUND_UNITS.items():
            decimals = service.spec.assets[service.spec.asset_index(asset)].decimals
            await service.submit(Deposit(account, asset, units * 10**decimals, f"sandbox:demo:{account}:{asset}"))
        accounts.append(account)
    path.write_text(json.dumps({"accounts": accounts}), encoding="utf-8")
    return accounts


def quoted_markets(service: Venue, feed: PriceFeed) -> list[tuple[str, int]]:
    """Every trading market with its current reference price in its own ticks: spot markets at
    the feed's price, perps at their index (quoted once it has arrived). Quoting perps around the
    index, as a maker pricing off the spot venues does, anchors the mark to it: quoted around the
    mark, the makers' own quotes sustained whatever basis a jump of the index left (the mark sat at
    the +5% clamp and funding paid ~58x the baseline for hours)."""
    out = []
    for symbol, mid in feed.prices.items():
        out.append((symbol, mid))
    for market in service.spec.markets:
        if market.market_type == "PERP" and market.trading:
            symbol = market.symbol
            index = queries.market(service.engine, symbol).index_price
            if index:
                out.append((symbol, index))
    return out


async def margin_setup(service: Venue, quoting: list[int]) -> None:
    """The sandbox's treasury: each quoter lends half of every asset that has a lending pool once
    (so a newcomer can borrow SOL, BTC or ETH as well as USDC), and the last one is a backstop provider."""
    pools = queries.pools(service.engine)
    for maker in quoting:
        for index, asset in enumerate(service.spec.assets):
            acct = queries.account(service.engine, maker)
            if pools[index] is None or acct is None or acct.assets[index].lend_shares:
                continue
            half = acct.assets[index].available // 2
            if half > 0:
                await service.submit(BorrowLend(maker, asset.symbol, "Lend", half))
    if quoting[-1] not in queries.backstop_providers(service.engine):
        await service.submit(SetBackstopProvider(quoting[-1], True))


async def run_makers(service: Venue, feed: PriceFeed, seed: int = 7, period: float = 0.5) -> None:
    rng = random.Random(seed)
    markets = {m.symbol: m for m in service.spec.markets}
    decimals = {a.symbol: a.decimals for a in service.spec.assets}
    makers = await ensure_accounts(service, 3)
    taker = makers[-1]
    quoting = makers[:-1]
    await margin_setup(service, quoting)
    while True:
        for symbol, mid in quoted_markets(service, feed):
            market = markets[symbol]
            scale = max(1, market.min_lots)
            quote_one = 10 ** decimals[market.quote]
            step_atoms = max(market.min_notional_atoms, STEP_NOTIONAL * quote_one)
            base_lots = max(scale, step_atoms // max(1, mid * market.lot_tick_atoms) + 1)
            for i, maker in enumerate(quoting):
                orders = []
                for level in range(1, LEVELS + 1):
                    offset = level * max(1, mid // 4000) + i
                    lots = base_lots * rng.randint(1, 20)
                    orders.append(PlaceOrder(maker, symbol, "Bid", "Limit", lots=lots, price=max(1, mid - offset)))
                    orders.append(PlaceOrder(maker, symbol, "Ask", "Limit", lots=lots, price=mid + offset))
                await service.submit(CancelAllOrders(maker, symbol))
                await service.submit(PlaceOrders(orders))
            if rng.random() < 0.7:
                side: Side = "Bid" if rng.random() < 0.5 else "Ask"
                await service.submit(
                    PlaceOrder(taker, symbol, side, "Market", lots=base_lots * rng.randint(1, 5), tif="IOC")
                )
        await asyncio.sleep(period)
