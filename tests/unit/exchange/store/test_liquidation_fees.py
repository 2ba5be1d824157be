"""The positions read model takes a liquidation's fee from the engine's ``TradeExecuted``
(``liquidation_fee``) instead of re-deriving it from the spec's rate (both backends)."""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import Command, LiquidationSweep, PlaceOrder
from rucksack.exchange.core.events import Event, LiquidationEnded, LiquidationStarted, TradeExecuted
from rucksack.exchange.store.protocol import Store
from tests.unit.exchange.core.perps.helpers import BTC, USDC, PerpDriver
from tests.unit.exchange.store.conftest import Opener, wait

PERP = "SOL_USDC_PERP"


class ProjectingDriver(PerpDriver):
    def __init__(self, open_store: Opener) -> None:
        super().__init__()
        self.store: Store = open_store(self.spec)
        self.events: list[Event] = []

    def __call__(self, command: Command) -> list[Event]:
        events = super().__call__(command)
        self.store.project(self.seq, self.now, events)
        self.events.extend(events)
        return events


def test_the_liquidated_position_records_the_engines_liquidation_fees(open_store: Opener) -> None:
    d = ProjectingDriver(open_store)
    maker = d.new_account(USDC=10_000_000 * USDC)
    trader = d.new_account(BTC=BTC // 10)
    d.index("BTC", "60000")
    d.index("SOL", "150")
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=38_000, price=15_000))
    d(PlaceOrder(trader, PERP, "Bid", "Market", lots=38_000))
    for cents in range(15_000, 12_000, -100):
        d.index("SOL", str(F(cents, 100)))
        if any(isinstance(e, LiquidationStarted) for e in d(LiquidationSweep())):
            break
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=100_000, price=13_890))
    for _ in range(10):
        if any(isinstance(e, LiquidationEnded) for e in d(LiquidationSweep())):
            break
    d.store.commit()
    d.store.wait_visible()
    fees = [e.liquidation_fee for e in d.events if isinstance(e, TradeExecuted) and e.taker_account == trader]
    assert sum(fees) > 0
    fund = d.acct(d.engine.risk.liquidity_fund_account)
    assert sum(fees) == fund.unsettled  # what the fund received, fill by fill
    (row,) = wait(d.store.position_history(trader, symbol=PERP))
    assert row["liquidated"] == 1 and row["liquidation_fees"] == sum(fees)
