"""The sandbox's treasury: the demo makers keep an idle wallet to quote from and lend half of every
asset that has a lending pool, so a newcomer can borrow SOL, BTC and ETH as well as USDC."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rucksack.exchange.core.commands import BorrowLend, Command
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import BorrowLendExecuted, Event
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.makers import ensure_accounts, margin_setup
from tests.unit.exchange.core.perps.helpers import PerpDriver


class DriverVenue:
    """The makers' view of a venue, over the engine driver (no server)."""

    def __init__(self, data_dir: Path) -> None:
        self.driver = PerpDriver()
        self.data_dir = data_dir

    @property
    def spec(self) -> ExchangeSpec:
        return self.driver.spec

    @property
    def engine(self) -> Engine:
        return self.driver.engine

    async def submit(self, command: Command) -> list[Event]:
        return self.driver(command)


def test_the_treasury_lends_every_pooled_asset_and_quotes_from_an_idle_wallet(tmp_path: Path) -> None:
    venue = DriverVenue(tmp_path)
    makers = asyncio.run(ensure_accounts(venue, 3))
    engine = venue.engine
    assert not any(engine.ledger.accounts[m].auto_lend for m in makers)  # quoting needs no redemptions
    asyncio.run(margin_setup(venue, makers[:-1]))
    pooled = [a.symbol for i, a in enumerate(venue.spec.assets) if engine.pools[i] is not None]
    assert {"USDC", "SOL", "BTC", "ETH"} <= set(pooled)
    for symbol in pooled:
        index = engine.asset_index[symbol]
        pool = engine.pools[index]
        assert pool is not None and pool.cash > 0, symbol
        for maker in makers[:-1]:
            bal = engine.ledger.accounts[maker].assets[index]
            assert pool.claim(bal.lend_shares) == bal.available  # half lent, half to quote with
    # a newcomer can borrow SOL now
    borrower = venue.driver.new_account(USDC=100_000 * 10**6)
    venue.driver.index("SOL", "150")
    [borrowed, *_] = venue.driver(BorrowLend(borrower, "SOL", "Borrow", 10 * 10**9))
    assert isinstance(borrowed, BorrowLendExecuted) and borrowed.kind == "Borrow"
    shares = [[b.lend_shares for b in engine.ledger.accounts[m].assets] for m in makers[:-1]]
    asyncio.run(margin_setup(venue, makers[:-1]))  # again (a restart): nothing more is lent
    assert shares == [[b.lend_shares for b in engine.ledger.accounts[m].assets] for m in makers[:-1]]
