"""Random command streams: invariants after every command, a naive oracle, exact replay."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rucksack.exchange.core.commands import CancelAllOrders, CancelOrder, Command, Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import OrderAccepted, OrderClosed, OrderRejected, TradeExecuted
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import Driver, tight_spec
from tests.property.strategies import ACCOUNTS, any_commands, order_commands
from tests.reference.naive_exchange import NaiveExchange, Outcome

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RICH = 10**15


def rich_driver() -> Driver:
    driver = Driver(tight_spec(), check=True)
    for account in ACCOUNTS:
        driver.fund(account, USDC=RICH, SOL=RICH)
    return driver


def outcome_of(events: list) -> Outcome:  # type: ignore[type-arg]
    out = Outcome()
    for ev in events:
        if isinstance(ev, OrderAccepted):
            out.accepted = ev.order_id
        elif isinstance(ev, OrderRejected):
            out.rejected = ev.reason
        elif isinstance(ev, TradeExecuted):
            out.fills.append((ev.taker_order_id, ev.maker_order_id, ev.price, ev.lots))
        elif isinstance(ev, OrderClosed):
            out.closes.append((ev.order_id, ev.status, ev.reason, ev.filled_lots, ev.filled_quote_atoms))
        elif type(ev).__name__ == "CancelRejected":
            out.rejected = ev.reason
    return out


@SETTINGS
@given(st.lists(order_commands, min_size=10, max_size=120))
def test_engine_matches_the_naive_reference(commands: list[Command]) -> None:
    driver = rich_driver()
    oracle = NaiveExchange(driver.spec)
    for command in commands:
        got = outcome_of(driver(command))
        if isinstance(command, PlaceOrder):
            want = oracle.place(command)
        elif isinstance(command, CancelOrder):
            want = oracle.cancel(command)
        else:
            assert isinstance(command, CancelAllOrders)
            want = oracle.cancel_all(command)
        assert got == want, command
    book = sorted((o.id, o.lots, o.price) for o in driver.engine.orders.values())
    assert book == sorted((o.id, o.lots, o.price) for o in oracle.resting)


@SETTINGS
@given(st.lists(any_commands, min_size=10, max_size=120), st.integers(0, 120))
def test_invariants_and_replay_with_tight_funds(commands: list[Command], cut: int) -> None:
    driver = Driver(tight_spec(), check=True)
    for account in ACCOUNTS:
        driver(Deposit(account, "USDC", 2_000_000_000, f"seed-{account}-u"))
        driver(Deposit(account, "SOL", 20_000_000_000, f"seed-{account}-s"))
    snapshot = None
    for i, command in enumerate(commands):
        driver(command)
        if i == cut:
            snapshot = encode_snapshot(take_snapshot(driver.engine))
    live = state_hash(driver.engine)
    # full replay from the log
    fresh = Engine(driver.spec)
    for seq, ts, command in driver.log:
        fresh.apply(command, seq, ts)
    assert state_hash(fresh) == live
    # snapshot + tail replay
    if snapshot is not None:
        restored = restore(driver.spec, decode_snapshot(snapshot))
        for seq, ts, command in driver.log:
            if seq > restored.last_seq:
                restored.apply(command, seq, ts)
        assert state_hash(restored) == live


@SETTINGS
@given(st.lists(order_commands, min_size=1, max_size=60))
def test_fee_account_only_grows_and_fees_are_rounded_up(commands: list[Command]) -> None:
    driver = rich_driver()
    fee_acct = driver.engine.ledger.accounts[driver.spec.fee_account]
    before = [b.available for b in fee_acct.assets]
    for command in commands:
        for ev in driver(command):
            if isinstance(ev, TradeExecuted):
                quote = ev.lots * ev.price * 100
                base = ev.lots * 10_000_000
                taker_gets, maker_gets = (base, quote) if ev.taker_side == "Bid" else (quote, base)
                assert ev.taker_fee * 1_000_000 >= taker_gets * 1000 > (ev.taker_fee - 1) * 1_000_000
                assert ev.maker_fee * 1_000_000 >= maker_gets * 800 > (ev.maker_fee - 1) * 1_000_000
        assert all(a >= b for a, b in zip([b.available for b in fee_acct.assets], before, strict=True))
