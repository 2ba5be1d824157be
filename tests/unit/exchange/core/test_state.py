from __future__ import annotations

from rucksack.exchange.core.commands import PlaceOrder, SetFeeTier
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import Driver


def test_restore_reproduces_hash_and_behaviour(driver: Driver) -> None:
    for acct in (1000, 1001):
        driver.fund(acct, USDC=10**12, SOL=10**13)
    driver(SetFeeTier(1001, 1))
    driver(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=5, price=14_990, client_id=3))
    driver(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=2, price=14_990))
    driver(PlaceOrder(1001, "SOL_USDC", "Ask", "Limit", lots=4, price=15_010))
    driver(PlaceOrder(1001, "SOL_USDC", "Ask", "Limit", lots=1, price=14_990))
    restored = restore(driver.spec, decode_snapshot(encode_snapshot(take_snapshot(driver.engine))))
    assert state_hash(restored) == state_hash(driver.engine)
    # the restored engine continues identically (FIFO order, client ids, fee tiers, ids)
    nxt = PlaceOrder(1001, "SOL_USDC", "Ask", "Market", lots=6, tif="IOC")
    assert restored.apply(nxt, 99, 99) == driver.engine.apply(nxt, 99, 99)
    assert state_hash(restored) == state_hash(driver.engine)


def test_hash_changes_with_state(driver: Driver) -> None:
    h0 = state_hash(driver.engine)
    driver.fund(1000, USDC=1)
    assert state_hash(driver.engine) != h0
