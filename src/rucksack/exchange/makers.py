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

from rucksack.exchange.core.commands import (
    CancelAllOrders,
    CreateAccount,
    Deposit,
    PlaceOrder,
    PlaceOrders,
    SetIndexPrice,
)
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import AccountCreated
from rucksack.exchange.feeds import PriceFeed
from rucksack.exchange.service import ExchangeService

log = logging.getLogger("rucksack.makers")
START_PRICE = {"SOL_USDC": "150", "BTC_USDC": "60000", "ETH_USDC": "3000"}
FUND_UNITS = {"USDC": 50_000_000, "SOL": 200_000, "BTC": 1_000, "ETH": 20_000}
LEVELS = 8
# one ladder step is worth about this much quote (USDC) per random unit (1..20 units a level), so
# a newcomer's market order of a few SOL fills inside the impact band even while one of the two
# quoters is between its cancel and its new ladder
STEP_NOTIONAL = 50


def start_prices(service: ExchangeService) -> dict[str, int]:
    out = {}
    for symbol, mw in service.wire.markets.items():
        if mw.spec.market_type != "SPOT" or not mw.spec.trading:
            continue
        state = service.engine.market_by_symbol[symbol]
        out[symbol] = state.last_price or mw.parse_price(START_PRICE.get(symbol, "100"))
    return out


def make_feed(service: ExchangeService, kind: str, seed: int) -> PriceFeed:
    ticks = {s: (mw.tick_places, mw.tick_units) for s, mw in service.wire.markets.items()}
    return PriceFeed(kind, start_prices(service), ticks, seed)


async def ensure_accounts(service: ExchangeService, count: int) -> list[int]:
    path = service.data_dir / "demo.json"
    if path.exists():
        accounts: list[int] = json.loads(path.read_text(encoding="utf-8"))["accounts"]
        if len(accounts) >= count:
            return accounts[:count]
    accounts = []
    for i in range(count):
        events = await service.submit(CreateAccount(f"demo-{i}"))
        account = next(e.account for e in events if isinstance(e, AccountCreated))
        for asset, units in FUND_UNITS.items():
            decimals = service.wire.assets[asset].decimals
            await service.submit(Deposit(account, asset, units * 10**decimals, f"sandbox:demo:{account}:{asset}"))
        accounts.append(account)
    path.write_text(json.dumps({"accounts": accounts}), encoding="utf-8")
    return accounts


def quoted_markets(service: ExchangeService, feed: PriceFeed) -> list[tuple[str, int]]:
    """Every trading market with its current reference price in its own ticks: spot markets at
    the feed's price, perps at their mark (quoted once the index has arrived)."""
    out = []
    for symbol, mid in feed.prices.items():
        out.append((symbol, mid))
    for symbol, mw in service.wire.markets.items():
        if mw.spec.market_type == "PERP" and mw.spec.trading:
            state = service.engine.market_by_symbol[symbol]
            if state.mark:
                out.append((symbol, state.mark))
    return out


async def margin_setup(service: ExchangeService, quoting: list[int]) -> None:
    """Lend half of each quoter's USDC once, and make the last one a backstop provider."""
    from rucksack.exchange.core.commands import BorrowLend, SetBackstopProvider

    usdc = service.engine.asset_index["USDC"]
    for maker in quoting:
        acct = service.engine.ledger.accounts.get(maker)
        if acct is not None and not acct.assets[usdc].lend_shares:
            await service.submit(BorrowLend(maker, "USDC", "Lend", acct.assets[usdc].available // 2))
    if quoting[-1] not in service.engine.backstop:
        await service.submit(SetBackstopProvider(quoting[-1], True))


async def run_makers(service: ExchangeService, feed: PriceFeed, seed: int = 7, period: float = 0.5) -> None:
    rng = random.Random(seed)
    makers = await ensure_accounts(service, 3)
    taker = makers[-1]
    quoting = makers[:-1]
    await margin_setup(service, quoting)
    while True:
        for symbol, mid in quoted_markets(service, feed):
            mw = service.wire.markets[symbol]
            scale = max(1, mw.spec.min_lots)
            quote_one = 10 ** service.wire.assets[mw.spec.quote].decimals
            step_atoms = max(mw.spec.min_notional_atoms, STEP_NOTIONAL * quote_one)
            base_lots = max(scale, step_atoms // max(1, mid * mw.spec.lot_tick_atoms) + 1)
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


def index_targets(service: ExchangeService, feed: PriceFeed) -> dict[str, list[tuple[str, int, int]]]:
    """For each feed symbol, the markets on the same base and quote with (numerator, denominator)
    converting feed ticks into that market's ticks (exact when the tick grids nest, else floor)."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for symbol in feed.prices:
        source = service.wire.markets[symbol]
        for target in service.wire.markets.values():
            if (target.spec.base, target.spec.quote) != (source.spec.base, source.spec.quote):
                continue
            scale = 10 ** abs(target.tick_places - source.tick_places)
            if target.tick_places >= source.tick_places:
                num, den = source.tick_units * scale, target.tick_units
            else:
                num, den = source.tick_units, target.tick_units * scale
            out.setdefault(symbol, []).append((target.symbol, num, den))
    return out


async def publish_index_prices(service: ExchangeService, feed: PriceFeed, period: float = 1.0) -> None:
    """Step the feed and journal SetIndexPrice for every market it drives, when a price changed."""
    targets = index_targets(service, feed)
    sent: dict[str, int] = {}
    while True:
        for symbol, ticks in feed.step().items():
            for market, num, den in targets.get(symbol, []):
                price = ticks * num // den
                if price > 0 and sent.get(market) != price:
                    sent[market] = price
                    await service.submit(SetIndexPrice(market, price))
        await asyncio.sleep(period)
