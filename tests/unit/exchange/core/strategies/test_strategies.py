"""Scheduled (TWAP) strategies in the core: slices over time, randomized slices from the seed,
slippage tolerance, termination on a rejected slice, cancel, cancel all, completion, and replay
from a snapshot plus the journal."""

from __future__ import annotations

import pytest

from rucksack.exchange.core.commands import Command, CreateAccount, Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event, TradeExecuted
from rucksack.exchange.core.invariants import check_invariants, conservation_report
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from rucksack.exchange.core.strategies.commands import (
    CancelStrategies,
    CancelStrategy,
    CrankStrategies,
    CreateStrategy,
)
from rucksack.exchange.core.strategies.events import (
    StrategyOrderSent,
    StrategyRejected,
    StrategySliceSkipped,
    StrategyUpdated,
)
from rucksack.exchange.core.strategies.handlers import slice_lots
from tests.conftest import default_spec

T0 = 1_765_000_000_000_000
SEC = 1_000_000
SOL = 10**9
USDC = 10**6


class Venue:
    def __init__(self) -> None:
        self.spec = default_spec()
        self.engine = Engine(self.spec)
        self.seq = 0
        self.ts = T0
        self.log: list[tuple[int, int, Command]] = []

    def __call__(self, command: Command, dt_us: int = 1000) -> list[Event]:
        self.seq += 1
        self.ts += dt_us
        events = self.engine.apply(command, self.seq, self.ts)
        self.log.append((self.seq, self.ts, command))
        assert not check_invariants(self.engine)
        return events

    def account(self, **funds: int) -> int:
        account = self.engine.next_account_id
        self(CreateAccount(auto_lend=False))
        for asset, atoms in funds.items():
            self(Deposit(account, asset, atoms, f"d{self.seq}"))
        return account

    def crank(self, at_us: int) -> list[Event]:
        return self(CrankStrategies(at_us), dt_us=max(1, at_us - self.ts))


def only(events: list[Event], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def venue() -> Venue:
    return Venue()


def maker_asks(venue: Venue, *levels: tuple[int, int]) -> int:
    maker = venue.account(SOL=1_000 * SOL)
    for price, lots in levels:
        venue(PlaceOrder(maker, "SOL_USDC", "Ask", "Limit", lots=lots, price=price))
    return maker


def twap(account: int, lots: int = 1_000, **kw: object) -> CreateStrategy:
    fields: dict[str, object] = {"duration_us": 10 * SEC, "interval_us": 2 * SEC, "seed": 7}
    fields.update(kw)
    return CreateStrategy(account, "SOL_USDC", "Bid", lots, **fields)  # type: ignore[arg-type]


def test_slices_over_time_then_completed(venue: Venue) -> None:
    maker_asks(venue, (2_000, 5_000))
    taker = venue.account(USDC=10_000 * USDC)
    [created] = only(venue(twap(taker)), StrategyUpdated)
    s = created.strategy
    assert (s.status, s.slices, s.executed_lots) == ("Running", 5, 0)
    start = s.created_us
    # nothing before the first slice's time; then one 200-lot slice per 2 s interval
    trades_per_crank = []
    for k in range(5):
        events = venue.crank(start + k * 2 * SEC)
        trades_per_crank.append(sum(t.lots for t in only(events, TradeExecuted)))
        sent = only(events, StrategyOrderSent)
        assert len(sent) == 1 and venue.engine.strategies.order_strategy[sent[0].order_id] == s.id
    assert trades_per_crank == [200] * 5
    done = venue.engine.strategies.strategies[s.id]
    assert (done.status, done.executed_lots, done.executed_quote) == ("Completed", 1_000, 1_000 * 2_000 * 100)
    assert not venue.engine.strategies.running
    assert only(venue.crank(start + 60 * SEC), StrategyOrderSent) == []
    assert all(not r["imbalance"] for r in conservation_report(venue.engine).values())


def test_a_late_crank_sends_every_slice_due(venue: Venue) -> None:
    maker_asks(venue, (2_000, 5_000))
    taker = venue.account(USDC=10_000 * USDC)
    [created] = only(venue(twap(taker)), StrategyUpdated)
    events = venue.crank(created.strategy.created_us + 5 * SEC)  # slices 0, 1, 2 are due
    assert len(only(events, StrategyOrderSent)) == 3
    assert venue.engine.strategies.strategies[created.strategy.id].slices_sent == 3


def test_randomized_slices_come_from_the_seed(venue: Venue) -> None:
    def run(seed: int) -> list[int]:
        v = Venue()
        maker_asks(v, (2_000, 5_000))
        taker = v.account(USDC=10_000 * USDC)
        [c] = only(v(twap(taker, randomized=True, seed=seed)), StrategyUpdated)
        out = []
        for k in range(5):
            out.append(sum(t.lots for t in only(v.crank(c.strategy.created_us + k * 2 * SEC), TradeExecuted)))
        assert v.engine.strategies.strategies[c.strategy.id].status == "Completed"
        return out

    a, b, c = run(7), run(7), run(8)
    assert a == b and a != c  # the seed decides, replay repeats
    assert sum(a) == sum(c) == 1_000  # the last slice takes what is left
    assert len(set(a)) > 1
    assert all(100 <= lots <= 300 for lots in a[:-1])  # [0.5, 1.5) of an even share


def test_slippage_tolerance_skips_a_slice_that_would_fill_beyond_it(venue: Venue) -> None:
    maker_asks(venue, (2_000, 100), (2_100, 5_000))  # a thin top, then 5% worse
    taker = venue.account(USDC=10_000 * USDC)
    cmd = twap(taker, slippage=20_000, slippage_type="Percent")  # 2%
    [c] = only(venue(cmd), StrategyUpdated)
    events = venue.crank(c.strategy.created_us)
    [skip] = only(events, StrategySliceSkipped)
    assert (skip.lots, skip.reason) == (200, "SlippageToleranceExceeded")
    assert not only(events, TradeExecuted)
    # the next slice carries the lots over (1000 left over 4 slices); liquidity within 2% fills it
    maker_asks(venue, (2_030, 5_000))
    events = venue.crank(c.strategy.created_us + 2 * SEC)
    assert sum(t.lots for t in only(events, TradeExecuted)) == 250
    assert max(t.price for t in only(events, TradeExecuted)) == 2_030
    s1 = venue.engine.strategies.strategies[c.strategy.id]
    assert (s1.slices_sent, s1.executed_lots, s1.status) == (2, 250, "Running")


def test_rejected_slice_terminates_with_backpack_reason(venue: Venue) -> None:
    maker_asks(venue, (2_000, 5_000))
    poor = venue.account(USDC=10 * USDC)  # 50 lots at most; a 200-lot slice cannot be paid
    [c] = only(venue(twap(poor, price=2_000)), StrategyUpdated)
    events = venue.crank(c.strategy.created_us)
    [end] = [e.strategy for e in only(events, StrategyUpdated)]
    assert (end.status, end.cancel_reason) == ("Terminated", "InsufficientFunds")


def test_cancel_cancel_all_and_refusals(venue: Venue) -> None:
    taker = venue.account(USDC=10_000 * USDC)
    [a] = only(venue(twap(taker, client_id=11)), StrategyUpdated)
    [b] = only(venue(twap(taker, client_id=12)), StrategyUpdated)
    [dup] = only(venue(twap(taker, client_id=11)), StrategyRejected)
    assert dup.reason == "DuplicateClientId"
    for bad, reason in (
        (twap(taker, lots=0), "InvalidQuantity"),
        (twap(taker, interval_us=20 * SEC), "InvalidOrder"),
        (twap(taker, slippage=5, slippage_type="Bps"), "InvalidOrder"),
        (CreateStrategy(taker, "NOPE_USDC", "Bid", 1, SEC, SEC, 1), "UnknownMarket"),
    ):
        assert only(venue(bad), StrategyRejected)[0].reason == reason
    [ended] = only(venue(CancelStrategy(taker, "SOL_USDC", client_id=11)), StrategyUpdated)
    assert (ended.strategy.id, ended.strategy.status) == (a.strategy.id, "Cancelled")
    again = only(venue(CancelStrategy(taker, "SOL_USDC", strategy_id=a.strategy.id)), StrategyRejected)
    assert again[0].reason == "StrategyNotFound"
    other = venue.account()
    assert only(venue(CancelStrategy(other, "SOL_USDC", strategy_id=b.strategy.id)), StrategyRejected)
    [c] = only(venue(twap(taker)), StrategyUpdated)
    ended_all = only(venue(CancelStrategies(taker, "SOL_USDC")), StrategyUpdated)
    assert sorted(e.strategy.id for e in ended_all) == [b.strategy.id, c.strategy.id]
    assert not venue.engine.strategies.running
    assert not only(venue.crank(venue.ts + 60 * SEC), StrategyOrderSent)


def test_replay_from_snapshot_and_journal_gives_the_same_hash(venue: Venue) -> None:
    maker_asks(venue, (2_000, 5_000))
    taker = venue.account(USDC=10_000 * USDC)
    [c] = only(venue(twap(taker, randomized=True, seed=99)), StrategyUpdated)
    venue.crank(c.strategy.created_us + 2 * SEC)
    snap_seq = venue.seq
    snap = decode_snapshot(encode_snapshot(take_snapshot(venue.engine)))
    assert snap.strategies is not None
    venue.crank(c.strategy.created_us + 4 * SEC)
    venue(twap(taker, lots=50, client_id=3))
    venue.crank(c.strategy.created_us + 9 * SEC)
    restored = restore(venue.spec, snap)
    for seq, ts, command in venue.log:
        if seq > snap_seq:
            restored.apply(command, seq, ts)
    assert state_hash(restored) == state_hash(venue.engine)
    replayed = Engine(venue.spec)
    for seq, ts, command in venue.log:
        replayed.apply(command, seq, ts)
    assert state_hash(replayed) == state_hash(venue.engine)


def test_slice_sizes_even_and_last_takes_the_rest(venue: Venue) -> None:
    taker = venue.account(USDC=USDC)
    [c] = only(venue(twap(taker, lots=1_001)), StrategyUpdated)
    s = c.strategy
    assert slice_lots(s) == 200
    s.slices_sent = 4
    assert slice_lots(s) == 1_001
