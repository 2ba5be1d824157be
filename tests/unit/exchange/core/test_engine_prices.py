"""Index prices and the mark price: index + one-minute EWMA of the basis, clamped to +-5%."""

from __future__ import annotations

from rucksack.exchange.core.commands import Deposit, PlaceOrder, SetIndexPrice
from rucksack.exchange.core.events import IndexPriceRejected, IndexPriceSet
from rucksack.exchange.core.market_state import mark_price
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import Driver, default_spec

SECOND = 1_000_000


def stamped(d: Driver, command: object, ts_us: int) -> list[object]:
    d.seq += 1
    return d.engine.apply(command, d.seq, ts_us)  # type: ignore[arg-type]


def test_mark_follows_the_basis_with_a_one_minute_ewma_and_stays_in_band() -> None:
    d = Driver(default_spec())
    d(Deposit(1000, "USDC", 10**12, "a"))
    d(Deposit(1001, "SOL", 10**13, "b"))
    assert mark_price(d.engine.market_by_symbol["SOL_USDC"]) == 0  # no index yet
    ev = stamped(d, SetIndexPrice("SOL_USDC", 15_000), 0)[0]
    assert isinstance(ev, IndexPriceSet) and ev.mark_price == 15_000  # no basis history yet
    stamped(d, PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=1, price=15_090), SECOND)
    stamped(d, PlaceOrder(1001, "SOL_USDC", "Ask", "Limit", lots=1, price=15_110), SECOND)  # mid 15_100
    ev = stamped(d, SetIndexPrice("SOL_USDC", 15_000), 30 * SECOND)[0]
    # basis 100 ticks observed for 30 s of a 60 s window: EWMA moves half way, 0 -> 50
    assert isinstance(ev, IndexPriceSet) and ev.mark_price == 15_050
    ev = stamped(d, SetIndexPrice("SOL_USDC", 15_000), 200 * SECOND)[0]
    assert ev.mark_price == 15_100  # a full window (capped at 60 s) takes the whole basis  # type: ignore[union-attr]
    ev = stamped(d, SetIndexPrice("SOL_USDC", 10_000), 400 * SECOND)[0]
    assert ev.mark_price == 10_500  # basis 5_100 ticks, clamped to index x 1.05  # type: ignore[union-attr]
    restored = restore(d.spec, decode_snapshot(encode_snapshot(take_snapshot(d.engine))))
    assert state_hash(restored) == state_hash(d.engine)
    assert mark_price(restored.market_by_symbol["SOL_USDC"]) == 10_500


def test_bad_index_prices_are_rejected() -> None:
    d = Driver(default_spec())
    for command, reason in (
        (SetIndexPrice("NOPE", 1), "UnknownMarket"),
        (SetIndexPrice("SOL_USDC", 0), "InvalidPrice"),
        (SetIndexPrice("SOL_USDC", 1 << 61), "InvalidPrice"),
    ):
        ev = d(command)[0]
        assert isinstance(ev, IndexPriceRejected) and ev.reason == reason
