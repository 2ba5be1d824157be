"""Each detector raises its alert on a seeded scenario played through the real engine.

The scenarios are ordinary commands applied by the engine at chosen times; the monitor sees only
the events, exactly as it does live (release listener) and on replay (``rucksack surveil``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rucksack.exchange.config import load_spec
from rucksack.exchange.core.commands import (
    CancelOrder,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    ResolveAlert,
    SetIndexPrice,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event, OrderAccepted
from rucksack.exchange.surveillance import Surveillance, Thresholds, thresholds_from_toml
from rucksack.exchange.surveillance.config import ThresholdError

SECOND = 1_000_000
HOUR = 3600 * SECOND
H = 1_700_002_800 * SECOND  # a whole hour (1_700_002_800 = 472_223 h)


class Venue:
    """An engine and a monitor, fed every command's events at an explicit time."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.spec = load_spec()[0]
        self.engine = Engine(self.spec)
        self.monitor = Surveillance(self.spec, thresholds or Thresholds())
        self.seq = 0
        self.ts = H - 2 * HOUR

    def at(self, ts_us: int, command: Command) -> list[Event]:
        assert ts_us >= self.ts
        self.seq += 1
        self.ts = ts_us
        events = self.engine.apply(command, self.seq, ts_us)
        self.monitor.feed(self.seq, ts_us, events)
        return events

    def account(self, parent: int = 0) -> int:
        events = self.at(self.ts, CreateAccount("x", parent, auto_lend=False))
        account: int = events[0].account  # type: ignore[union-attr]
        self.at(self.ts, Deposit(account, "USDC", 10**13, f"u{account}"))
        self.at(self.ts, Deposit(account, "SOL", 10**12, f"s{account}"))
        return account

    def order(self, ts_us: int, account: int, side: str, lots: int, price: int = 0) -> int:
        kind = "Limit" if price else "Market"
        events = self.at(ts_us, PlaceOrder(account, "SOL_USDC", side, kind, lots=lots, price=price))  # type: ignore[arg-type]
        accepted = events[0]
        assert isinstance(accepted, OrderAccepted), events
        return accepted.order_id

    def alerts(self) -> list[dict[str, Any]]:
        return self.monitor.alert_list()


def venue(thresholds: Thresholds | None = None) -> Venue:
    v = Venue(thresholds)
    v.at(v.ts, SetIndexPrice("SOL_USDC", 15_000))
    return v


def test_wash_trading_between_an_account_and_its_subaccount() -> None:
    v = venue()
    owner = v.account()
    sub = v.account(parent=owner)
    other = v.account()
    v.order(v.ts, other, "Ask", 10, 15_020)
    v.order(v.ts, other, "Bid", 5, 14_980)  # ordinary trading between different owners: no alert
    v.order(v.ts + SECOND, owner, "Bid", 5)
    assert v.alerts() == []
    v.order(v.ts + SECOND, sub, "Ask", 7, 15_000)
    v.order(v.ts + SECOND, owner, "Bid", 7, 15_000)
    [alert] = v.alerts()
    assert alert["typology"] == "WashTrading" and alert["owner"] == owner
    assert alert["accounts"] == sorted([owner, sub])
    [trade] = alert["evidence"]["trades"]
    assert (trade["buyerAccountId"], trade["sellerAccountId"], trade["price"], trade["quantity"]) == (
        owner,
        sub,
        "150.00",
        "0.07",
    )
    # a second wash trade in the window joins the same alert
    v.order(v.ts + SECOND, sub, "Ask", 3, 15_000)
    v.order(v.ts + SECOND, owner, "Bid", 3)
    [alert] = v.alerts()
    assert alert["evidence"]["count"] == 2
    # the resolution comes back through the journal's event
    v.at(v.ts + SECOND, ResolveAlert(alert["id"], "Reported", "sent to the regulator"))
    assert v.monitor.alert(alert["id"])["status"] == "Reported"  # type: ignore[index]


def spoof_setup(v: Venue) -> tuple[int, int, int]:
    maker, spoofer, buyer = v.account(), v.account(), v.account()
    v.order(v.ts, maker, "Bid", 10, 14_990)
    v.order(v.ts, maker, "Ask", 10, 15_010)
    v.order(v.ts, spoofer, "Ask", 5, 15_005)  # the small order it wants filled
    return maker, spoofer, buyer


def test_spoofing_a_large_bid_cancelled_while_selling_on_the_other_side() -> None:
    v = venue()
    _maker, spoofer, buyer = spoof_setup(v)
    t = v.ts + SECOND
    spoof = v.order(t, spoofer, "Bid", 100, 14_995)  # 10x the best bid's size, one-sided
    v.order(t + SECOND // 2, buyer, "Bid", 5)  # lifts the spoofer's ask
    v.at(t + SECOND, CancelOrder(spoofer, "SOL_USDC", spoof))
    [alert] = v.alerts()
    assert alert["typology"] == "Spoofing" and alert["owner"] == spoofer
    [order] = alert["evidence"]["orders"]
    assert (order["orderId"], order["side"], order["quantity"], order["status"], order["lifetimeMs"]) == (
        str(spoof),
        "Bid",
        "1.00",
        "Cancelled",
        1000,
    )
    assert alert["evidence"]["trades"][0]["sellerAccountId"] == spoofer


def test_layering_several_large_bids_over_several_prices() -> None:
    v = venue()
    _maker, spoofer, buyer = spoof_setup(v)
    t = v.ts + SECOND
    layers = [v.order(t, spoofer, "Bid", 60, 14_995 - i) for i in range(3)]
    v.order(t + SECOND // 2, buyer, "Bid", 5)
    for i, order_id in enumerate(layers):
        v.at(t + SECOND + i, CancelOrder(spoofer, "SOL_USDC", order_id))
    [alert] = v.alerts()
    assert alert["typology"] == "Layering" and len(alert["evidence"]["orders"]) == 3


def test_a_large_order_that_rests_long_or_has_no_opposite_trade_is_not_spoofing() -> None:
    v = venue()
    _maker, spoofer, buyer = spoof_setup(v)
    t = v.ts + SECOND
    slow = v.order(t, spoofer, "Bid", 100, 14_995)
    v.order(t + SECOND // 2, buyer, "Bid", 5)
    v.at(t + 5 * SECOND, CancelOrder(spoofer, "SOL_USDC", slow))  # rested 5 s > 2 s
    quick = v.order(t + 100 * SECOND, spoofer, "Bid", 100, 14_995)
    v.at(t + 101 * SECOND, CancelOrder(spoofer, "SOL_USDC", quick))  # no trade on the other side
    v.at(t + 200 * SECOND, SetIndexPrice("SOL_USDC", 15_000))
    assert v.alerts() == []


def test_marking_the_close_with_aggressive_buys_in_the_last_minute() -> None:
    v = venue()
    maker, closer, other = v.account(), v.account(), v.account()
    v.order(H - 600 * SECOND, maker, "Ask", 5, 15_000)
    v.order(H - 600 * SECOND, other, "Bid", 5)  # the last price before the window: 150.00
    for price in (15_010, 15_050, 15_090):
        v.order(H - 300 * SECOND, maker, "Ask", 4, price)
    for i in range(3):  # three aggressive buys in the last 60 s: 150.00 -> 150.90 (+0.6%)
        v.order(H - (40 - 10 * i) * SECOND, closer, "Bid", 4)
    assert v.alerts() == []  # judged at the close
    v.at(H + SECOND, SetIndexPrice("SOL_USDC", 15_000))
    [alert] = v.alerts()
    assert alert["typology"] == "MarkingTheClose" and alert["owner"] == closer
    assert alert["evidence"]["figures"]["move"] == "0.006000" and len(alert["evidence"]["trades"]) == 3


def test_pump_and_dump_a_burst_of_volume_and_a_price_rise() -> None:
    v = venue()
    window = 900 * SECOND
    start = (H // window + 1) * window
    maker, pumper, taker = v.account(), v.account(), v.account()
    for i in range(4):  # four quiet windows of one small trade each
        v.order(start + i * window, maker, "Ask", 2, 15_000)
        v.order(start + i * window + SECOND, taker, "Bid", 2)
    t = start + 4 * window
    price = 15_000
    for step in range(12):  # the burst: a ladder lifted, the index following
        price += 140
        v.at(t + step * 10 * SECOND, SetIndexPrice("SOL_USDC", price))
        v.order(t + step * 10 * SECOND, maker, "Ask", 20, price)
        v.order(t + step * 10 * SECOND + SECOND, pumper, "Bid", 20)
    assert v.alerts() == []  # judged when the window closes
    v.at(t + window + SECOND, SetIndexPrice("SOL_USDC", price))
    [alert] = v.alerts()
    assert alert["typology"] == "PumpAndDump" and alert["owner"] == pumper
    assert alert["accounts"][0] == pumper and float(alert["evidence"]["figures"]["rise"]) >= 0.10


def test_thresholds_come_from_the_config_and_bad_ones_are_refused() -> None:
    assert thresholds_from_toml('[surveillance]\npump_min_rise = "0.2"\n').pump_min_rise == Decimal("0.2")
    assert thresholds_from_toml("") == Thresholds()
    for bad in ("spoof_levelz = 5", 'wash_min_trades = "many"', "close_min_trades = 0"):
        with pytest.raises(ThresholdError):
            thresholds_from_toml(f"[surveillance]\n{bad}\n")
