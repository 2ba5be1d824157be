"""Market status in the core: halt, resume, delist (SetMarketStatus) and the circuit breaker."""

from __future__ import annotations

import msgspec

from rucksack.exchange.core.commands import (
    CancelOrder,
    Deposit,
    PlaceOrder,
    ResolveAlert,
    SetIndexPrice,
    SetMarketStatus,
)
from rucksack.exchange.core.events import (
    AlertResolutionRejected,
    AlertResolved,
    MarketStatusChanged,
    MarketStatusRejected,
    OrderAccepted,
    OrderClosed,
    OrderRejected,
)
from rucksack.exchange.core.markets import CircuitBreakerSpec
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import Driver, default_spec

SECOND = 1_000_000
T0 = 1_700_000_000_000_000


def funded() -> Driver:
    d = Driver(default_spec())
    d(Deposit(1000, "USDC", 10**12, "a"))
    d(Deposit(1001, "SOL", 10**13, "b"))
    d(SetIndexPrice("SOL_USDC", 15_000))
    return d


def test_a_halt_refuses_new_orders_keeps_or_cancels_resting_ones_and_resume_reopens() -> None:
    d = funded()
    accepted = d(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=10, price=14_900))[0]
    assert isinstance(accepted, OrderAccepted)
    changed = d(SetMarketStatus("SOL_USDC", "Halted", False, "news pending"))
    assert changed == [MarketStatusChanged("SOL_USDC", "Halted", "news pending", 0, changed[0].ts_us)]  # type: ignore[union-attr]
    refused = d(PlaceOrder(1001, "SOL_USDC", "Ask", "Limit", lots=1, price=15_000))
    assert refused == [OrderRejected(1001, "SOL_USDC", -1, "MarketHalted")]
    assert d.engine.orders[accepted.order_id]  # kept
    # cancels still work on a halted (CancelOnly) market
    closed = d(CancelOrder(1000, "SOL_USDC", accepted.order_id))
    assert isinstance(closed[-1], OrderClosed)
    again = d(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=10, price=14_900))
    assert isinstance(again[0], OrderRejected)
    d(SetMarketStatus("SOL_USDC", "Open"))
    placed = d(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=10, price=14_900))[0]
    assert isinstance(placed, OrderAccepted)
    cancelled = d(SetMarketStatus("SOL_USDC", "Halted", True))
    assert cancelled[-1].cancelled == 1  # type: ignore[union-attr]
    assert isinstance(cancelled[0], OrderClosed) and cancelled[0].reason == "MarketHalted"
    assert not d.engine.orders


def test_delisting_cancels_everything_and_refuses_a_perp_with_open_interest() -> None:
    d = funded()
    d(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=10, price=14_900))
    events = d(SetMarketStatus("SOL_USDC", "Delisted"))
    assert events[-1].cancelled == 1 and events[-1].status == "Delisted"  # type: ignore[union-attr]
    assert d(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=1, price=14_900))[0].reason == "MarketClosed"  # type: ignore[union-attr]
    assert d(SetMarketStatus("SOL_USDC", "Paused")) == [MarketStatusRejected("SOL_USDC", "Paused", "InvalidStatus")]
    assert d(SetMarketStatus("NOPE", "Open")) == [MarketStatusRejected("NOPE", "Open", "UnknownMarket")]
    assert d(SetMarketStatus("SOL_USDC", "Open", False, "x" * 201))[0].reason == "InvalidStatus"  # type: ignore[union-attr]
    d.check = False  # (the invariant checker would see the open interest below has no positions)
    d.engine.market_by_symbol["SOL_USDC_PERP"].open_interest = 5  # as if positions were open
    assert d(SetMarketStatus("SOL_USDC_PERP", "Delisted"))[0].reason == "OpenInterest"  # type: ignore[union-attr]
    d.engine.market_by_symbol["SOL_USDC_PERP"].open_interest = 0


def breaker_driver() -> Driver:
    spec = msgspec.structs.replace(default_spec(), circuit_breaker=CircuitBreakerSpec(100_000, 60 * SECOND))  # 10%
    d = Driver(spec)
    return d


def at(d: Driver, command: object, ts_us: int) -> list[object]:
    d.seq += 1
    return d.engine.apply(command, d.seq, ts_us)  # type: ignore[arg-type]


def test_the_circuit_breaker_halts_on_a_jump_within_the_window_only() -> None:
    d = breaker_driver()
    at(d, SetIndexPrice("SOL_USDC", 15_000), T0)
    assert len(at(d, SetIndexPrice("SOL_USDC", 16_400), T0 + 10 * SECOND)) == 1  # +9.3%: inside the band
    assert len(at(d, SetIndexPrice("SOL_USDC", 16_600), T0 + 70 * SECOND)) == 1  # 15_000 left the window
    events = at(d, SetIndexPrice("SOL_USDC", 14_500), T0 + 80 * SECOND)  # -12.7% from 16_600
    halt = events[-1]
    assert isinstance(halt, MarketStatusChanged) and halt.status == "Halted" and halt.reason == "CircuitBreaker"
    assert (halt.price, halt.reference) == (14_500, 16_600)
    assert d.engine.market_status.status[d.engine.market_by_symbol["SOL_USDC_PERP"].index] == "Open"  # per market
    # replay from a snapshot taken mid-window gives the same state
    snap = restore(d.spec, decode_snapshot(encode_snapshot(take_snapshot(d.engine))))
    assert state_hash(snap) == state_hash(d.engine)
    assert snap.market_status.status == d.engine.market_status.status
    # resumed: the window starts again, so the old prices no longer trip it
    at(d, SetMarketStatus("SOL_USDC", "Open"), T0 + 90 * SECOND)
    assert len(at(d, SetIndexPrice("SOL_USDC", 14_000), T0 + 91 * SECOND)) == 1


def test_the_breaker_is_off_by_default_and_alert_resolutions_are_checked() -> None:
    d = funded()
    assert len(d(SetIndexPrice("SOL_USDC", 30_000))) == 1  # +100%, no breaker configured
    ok = d(ResolveAlert("WASH-SOL_USDC-T12", "Dismissed", "market maker rebalancing"))
    assert isinstance(ok[0], AlertResolved) and ok[0].note == "market maker rebalancing"
    assert isinstance(d(ResolveAlert("WASH-SOL_USDC-T12", "Maybe"))[0], AlertResolutionRejected)
    assert isinstance(d(ResolveAlert("", "Dismissed"))[0], AlertResolutionRejected)
