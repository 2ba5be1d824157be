"""The positions read model takes a liquidation's fee from the engine's ``TradeExecuted``
(``liquidation_fee``) instead of re-deriving it from the spec's rate."""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

from rucksack.exchange.core.commands import Command, LiquidationSweep, PlaceOrder
from rucksack.exchange.core.events import Event, LiquidationEnded, LiquidationStarted, TradeExecuted
from rucksack.exchange.store.sqlite import ReadStore
from tests.unit.exchange.core.perps.helpers import BTC, USDC, PerpDriver

PERP = "SOL_USDC_PERP"


class ProjectingDriver(PerpDriver):
    def __init__(self, store_path: Path) -> None:
        super().__init__()
        self.store = ReadStore(store_path, self.spec)
        self.events: list[Event] = []

    def __call__(self, command: Command) -> list[Event]:
        events = super().__call__(command)
        self.store.project(self.seq, self.now, events)
        self.events.extend(events)
        return events


def test_the_liquidated_position_records_the_engines_liquidation_fees(tmp_path: Path) -> None:
    d = ProjectingDriver(tmp_path / "read.sqlite")
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
    fees = [e.liquidation_fee for e in d.events if isinstance(e, TradeExecuted) and e.taker_account == trader]
    assert sum(fees) > 0
    fund = d.acct(d.engine.risk.liquidity_fund_account)
    assert sum(fees) == fund.unsettled  # what the fund received, fill by fill
    (row,) = d.store.position_history(trader, symbol=PERP)
    assert row["liquidated"] == 1 and row["liquidation_fees"] == sum(fees)
    d.store.close()
