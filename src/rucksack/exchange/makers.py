"""Demo market makers and takers for ``make run``: live books and trades within seconds.

They are ordinary accounts trading through the sequencer (``ExchangeService.submit``), quoting a
ladder of limit orders around the price feed on every spot and perp market and sending small
market orders, so everything they do is journaled, replayable and visible through the API. Their
account ids are kept in ``DATA/demo.json`` so a restart reuses them; their holdings of every asset
are idempotent sandbox deposits (one transaction id per account and asset), so an asset added to
the configuration is funded at the next start.

Cost: the headline markets (``feeds.index.HEADLINE`` bases: SOL, BTC, ETH, spot and perp) get
an ``LEVELS``-deep ladder every period; the long tail a ``TAIL_LEVELS``-deep one,
``TAIL_PER_ROUND`` markets a period in turn (each refreshed every few seconds), with fewer taker
orders (but one at the first refresh of a book that has never traded, so every market has a last
price within one round), so 37 markets cost about what 6 did (the server's CPU, measured over a
minute, is in docs/markets.md). The quoters lend part of their USDC (so settlement and spot
margin can borrow), and the last quoter is registered as a backstop liquidity provider.

RFQ makers (``run_rfq_makers``): the quoters answer every open RFQ from another account with a
two-sided quote -- tokenized equities at the indicative price (``indicative``: their reference
+-10 bp), spot markets +-10 bp around the feed -- and quote again when an RFQ is refreshed. They
hold each security (``SECURITY_UNITS`` shares, deposited once by idempotent sandbox deposits).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from decimal import Decimal
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
    Transfer,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import AccountCreated, Event
from rucksack.exchange.core.markets import ExchangeSpec, MarketSpec
from rucksack.exchange.core.rfq.commands import SubmitQuote
from rucksack.exchange.feeds import PriceFeed
from rucksack.exchange.feeds.index import HEADLINE, START_PRICE
from rucksack.exchange.indicative import indicative_price

__all__ = [
    "Venue",
    "ensure_accounts",
    "fund_atoms",
    "margin_setup",
    "quoted_markets",
    "rfq_quote",
    "run_makers",
    "run_rfq_makers",
]

log = logging.getLogger("rucksack.makers")
FUND_UNITS = {"USDC": 50_000_000, "SOL": 200_000, "BTC": 1_000, "ETH": 20_000, "RUCK": 1_000_000}
FUND_USD = 5_000_000  # every other asset: about this much at its start price (feeds.index.START_PRICE)
PREMARKET_USDC = 100_000  # USDC each pre-market quoter's isolated subaccount gets from its maker
PREMARKET_LEVELS = 3  # light quoting: a few small levels each side
PREMARKET_PERIOD = 2.0  # seconds between requotes
LEVELS = 8
TAIL_LEVELS = 3
TAIL_PER_ROUND = 2
TAIL_TAKER = 0.3  # chance of a taker order after a long-tail market's refresh (headline: 0.7)
# one ladder step is worth about this much quote (USDC) per random unit (1..20 units a level), so
# a newcomer's market order of a few SOL fills inside the impact band even while one of the two
# quoters is between its cancel and its new ladder
STEP_NOTIONAL = 50
SECURITY_UNITS = 10_000  # shares of each tokenized equity a quoter holds
RFQ_PERIOD = 0.2  # seconds between looks for RFQs to quote


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
            await fund(service, accounts[:count])
            return accounts[:count]
    accounts = []
    for i in range(count):
        # the makers quote from an idle wallet (their fills would otherwise redeem and re-lend at
        # every trade); what they supply to the pools is lent once, by ``margin_setup``
        events = await service.submit(CreateAccount(f"demo-{i}", auto_lend=False))
        accounts.append(next(e.account for e in events if isinstance(e, AccountCreated)))
    await fund(service, accounts)
    path.write_text(json.dumps({"accounts": accounts}), encoding="utf-8")
    return accounts


def fund_atoms(spec: ExchangeSpec) -> dict[str, int]:
    """What each demo account holds of every asset with a price (``FUND_UNITS``, else about
    ``FUND_USD`` at its start price, rounded down to whole atoms)."""
    out = {}
    for asset in spec.assets:
        one = 10**asset.decimals
        if asset.symbol in FUND_UNITS:
            out[asset.symbol] = FUND_UNITS[asset.symbol] * one
        elif f"{asset.symbol}_{spec.settlement_asset}" in START_PRICE:
            price = Decimal(START_PRICE[f"{asset.symbol}_{spec.settlement_asset}"])
            out[asset.symbol] = int(FUND_USD * one / price)
    return out


async def fund(service: Venue, accounts: list[int]) -> None:
    """Deposit ``fund_atoms`` into each account, once: the transaction id names the account and
    the asset, so the engine refuses a repeat (DUPLICATE_DEPOSIT) and a restart changes nothing."""
    for account in accounts:
        for asset, atoms in fund_atoms(service.spec).items():
            await service.submit(Deposit(account, asset, atoms, f"sandbox:demo:{account}:{asset}"))


def quoted_markets(service: Venue, feed: PriceFeed) -> list[tuple[str, int]]:
    """Every trading market with its current reference price in its own ticks: spot markets at
    the feed's price, perps at their index (quoted once it has arrived). Quoting perps around the
    index, as a maker pricing off the spot venues does, anchors the mark to it: quoted around the
    mark, the makers' own quotes sustained whatever basis a jump of the index left (the mark sat at
    the +5% clamp and funding paid ~58x the baseline for hours)."""
    out = []
    for symbol, mid in feed.prices.items():
        out.append((symbol, mid))
    out = [(symbol, mid) for symbol, mid in out if queries.market_open(service.engine, symbol)]
    for market in service.spec.markets:
        if market.market_type == "PERP" and market.trading and market.premarket is None:
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
    rfq_task = asyncio.create_task(run_rfq_makers(service, feed, quoting))
    premarket_task = asyncio.create_task(run_premarket_makers(service, quoting, seed))
    try:
        await _quote_books(service, feed, rng, markets, decimals, quoting, taker, period)
    finally:
        rfq_task.cancel()
        premarket_task.cancel()


async def _quote_books(
    service: Venue,
    feed: PriceFeed,
    rng: random.Random,
    markets: dict[str, MarketSpec],
    decimals: dict[str, int],
    quoting: list[int],
    taker: int,
    period: float,
) -> None:
    turn = 0
    while True:
        priced = quoted_markets(service, feed)
        head = [(s, mid) for s, mid in priced if markets[s].base in HEADLINE]
        tail = [(s, mid) for s, mid in priced if markets[s].base not in HEADLINE]
        due = tail[turn : turn + TAIL_PER_ROUND] if tail else []
        turn = turn + TAIL_PER_ROUND if turn + TAIL_PER_ROUND < len(tail) else 0
        for symbol, mid in head + due:
            market = markets[symbol]
            headline = market.base in HEADLINE
            scale = max(1, market.min_lots)
            quote_one = 10 ** decimals[market.quote]
            step_atoms = max(market.min_notional_atoms, STEP_NOTIONAL * quote_one)
            base_lots = max(scale, step_atoms // max(1, mid * market.lot_tick_atoms) + 1)
            for i, maker in enumerate(quoting):
                orders = []
                for level in range(1, (LEVELS if headline else TAIL_LEVELS) + 1):
                    offset = level * max(1, mid // 4000) + i
                    lots = base_lots * rng.randint(1, 20)
                    orders.append(PlaceOrder(maker, symbol, "Bid", "Limit", lots=lots, price=max(1, mid - offset)))
                    orders.append(PlaceOrder(maker, symbol, "Ask", "Limit", lots=lots, price=mid + offset))
                await service.submit(CancelAllOrders(maker, symbol))
                await service.submit(PlaceOrders(orders))
            untraded = not queries.market(service.engine, symbol).last_price  # a new book gets a trade at once
            if untraded or rng.random() < (0.7 if headline else TAIL_TAKER):
                side: Side = "Bid" if rng.random() < 0.5 else "Ask"
                await service.submit(
                    PlaceOrder(taker, symbol, side, "Market", lots=base_lots * rng.randint(1, 5), tif="IOC")
                )
        await asyncio.sleep(period)


def rfq_quote(service: Venue, feed: PriceFeed, market: str) -> tuple[int, int] | None:
    """(bid, ask) in ticks a demo maker quotes for an RFQ on ``market``, or None (no price yet)."""
    m = queries.rfq_market(service.engine, market)
    if m is None:
        return None
    reference = queries.rfq_reference_price(service.engine, m.symbol) or feed.prices.get(m.symbol, 0)
    if not reference:
        return None
    return indicative_price(reference, "Ask"), indicative_price(reference, "Bid")


async def run_rfq_makers(service: Venue, feed: PriceFeed, quoting: list[int]) -> None:
    """Quote every open RFQ of another account once (again after a refresh); the quoters take
    turns by RFQ id."""
    for maker in quoting:
        for security in service.spec.securities:
            units = SECURITY_UNITS * 10 ** service.spec.assets[service.spec.asset_index(security.asset)].decimals
            await service.submit(Deposit(maker, security.asset, units, f"sandbox:demo:{maker}:{security.asset}"))
    quoted: set[tuple[int, int]] = set()  # (RFQ id, its expiry): a refreshed RFQ is quoted again
    while True:
        book = queries.rfq_book(service.engine)
        for rfq_id in list(book.open):
            rfq = book.rfqs[rfq_id]
            if (rfq_id, rfq.expiry_us) in quoted or rfq.account in quoting:
                continue
            quoted.add((rfq_id, rfq.expiry_us))
            prices = rfq_quote(service, feed, rfq.market)
            if prices is not None:
                await service.submit(SubmitQuote(quoting[rfq_id % len(quoting)], rfq_id, prices[0], prices[1]))
        await asyncio.sleep(RFQ_PERIOD)


async def premarket_quoters(service: Venue, quoting: list[int]) -> list[int]:
    """One isolated subaccount per quoter for the pre-markets (core.premarket: a pre-market trades
    from a subaccount holding nothing else), funded once from its maker; kept in ``demo.json``."""
    path = service.data_dir / "demo.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    subs: list[int] = saved.get("premarket", [])
    if len(subs) >= len(quoting):
        return subs[: len(quoting)]
    usdc = PREMARKET_USDC * 10 ** service.spec.assets[service.spec.asset_index(service.spec.settlement_asset)].decimals
    subs = []
    for maker in quoting:
        events = await service.submit(CreateAccount(f"demo-premarket-{maker}", parent=maker, auto_lend=False))
        sub = next(e.account for e in events if isinstance(e, AccountCreated))
        await service.submit(Transfer(maker, maker, sub, service.spec.settlement_asset, usdc))
        subs.append(sub)
    path.write_text(json.dumps({**saved, "premarket": subs}), encoding="utf-8")
    return subs


async def run_premarket_makers(service: Venue, quoting: list[int], seed: int) -> None:
    """Light quoting on every open pre-market: a few small levels each side around its mark,
    nudged at random so the book-derived mark wanders a little (within its band and step), and
    now and then a small market order from the last quoter, so the contract has a last price."""
    premarkets = [m for m in service.spec.markets if m.premarket is not None]
    if not premarkets:
        return
    rng = random.Random(seed + 1)
    subs = await premarket_quoters(service, quoting)
    while True:
        for market in premarkets:
            if not queries.market_open(service.engine, market.symbol):
                continue
            mark = queries.market(service.engine, market.symbol).mark
            centre = mark + rng.choice((-1, 0, 0, 1)) * max(1, mark // 400)
            for i, sub in enumerate(subs):
                orders = []
                for level in range(1, PREMARKET_LEVELS + 1):
                    offset = level * max(1, mark // 200) + i
                    lots = max(market.min_lots, 50 * rng.randint(1, 4))
                    orders.append(
                        PlaceOrder(sub, market.symbol, "Bid", "Limit", lots=lots, price=max(1, centre - offset))
                    )
                    orders.append(PlaceOrder(sub, market.symbol, "Ask", "Limit", lots=lots, price=centre + offset))
                await service.submit(CancelAllOrders(sub, market.symbol))
                await service.submit(PlaceOrders(orders))
            if rng.random() < 0.3:  # now and then a small trade between the quoters: a last price
                side: Side = "Bid" if rng.random() < 0.5 else "Ask"
                lots = max(market.min_lots, 10 * rng.randint(1, 5))
                await service.submit(PlaceOrder(subs[-1], market.symbol, side, "Market", lots=lots, tif="IOC"))
        await asyncio.sleep(PREMARKET_PERIOD)
