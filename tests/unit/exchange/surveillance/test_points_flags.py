"""Surveillance's findings enter the core as journaled ``FlagTrades`` (surveillance/points.py):
an alert's evidence trades are flagged once; a wash pair of one owner earned nothing already, a
trade between two owners in an alert is taken off both owners' week; a dismissed alert flags
nothing."""

from __future__ import annotations

from rucksack.exchange.core.commands import Command, PlaceOrder
from rucksack.exchange.core.events import TradeExecuted
from rucksack.exchange.surveillance.points import flags_due
from rucksack.exchange.surveillance.tape import Alert, Fill
from tests.unit.exchange.surveillance.test_detectors import H, venue

USDC = 10**6


def test_alert_trades_become_flags_once() -> None:
    v = venue()
    v.engine.growth.active = True  # points on (the default config has seasons; this venue's clock is 2023)
    owner = v.account()
    sub = v.account(parent=owner)
    v.order(H, owner, "Ask", 100, 15_000)
    v.order(H + 1, sub, "Bid", 100, 15_000)  # a wash trade: alert, and no volume for the owner
    assert v.engine.growth.week_volume.get(owner) is None
    [flags] = flags_due(v.monitor, v.engine)
    assert flags.alert_id.startswith("WASH-") and len(flags.trades) == 1
    assert flags.trades[0].notional == 100 * 15_000 * 100  # lots x ticks x lot_tick_atoms: 150 USDC

    def apply(command: Command) -> None:
        v.at(v.ts + 1, command)

    apply(flags)
    assert v.engine.growth.week_volume.get(owner) is None  # one owner: it earned nothing, nothing taken
    assert flags_due(v.monitor, v.engine) == []  # flagged once

    a, b = v.account(), v.account()
    v.order(H + 10, a, "Ask", 100, 15_000)
    events = v.at(H + 11, PlaceOrder(b, "SOL_USDC", "Bid", "Limit", lots=100, price=15_000))
    [trade] = [e for e in events if isinstance(e, TradeExecuted)]
    assert v.engine.growth.week_volume == {a: 150 * USDC, b: 150 * USDC}
    fill = Fill(trade.trade_id, "SOL_USDC", trade.price, trade.lots, b, a, "Bid", trade.ts_us, v.seq)
    pump = Alert("PUMP-SOL_USDC-1", "PumpAndDump", "SOL_USDC", b, [a, b], H + 12, v.seq, "test", trades=[fill])
    dismissed = Alert("PUMP-SOL_USDC-2", "PumpAndDump", "SOL_USDC", b, [a, b], H + 12, v.seq, "x", trades=[fill])
    dismissed.status = "Dismissed"
    with v.monitor.lock:
        for alert in (dismissed, pump):
            v.monitor.alerts[alert.alert_id] = alert
            v.monitor.order.append(alert.alert_id)
    due = flags_due(v.monitor, v.engine)
    assert [f.alert_id for f in due] == ["PUMP-SOL_USDC-1"]
    apply(due[0])
    assert v.engine.growth.week_volume == {a: 0, b: 0}
    assert flags_due(v.monitor, v.engine) == []
