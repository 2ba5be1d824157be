"""Borrow/lend through engine commands (the netted Backpack semantics), with invariants after each."""

from __future__ import annotations

import msgspec

from rucksack.exchange.core.commands import AccrueInterest, BorrowLend, Deposit, PlaceOrder, Withdraw
from rucksack.exchange.core.events import BorrowLendExecuted, BorrowLendRejected
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import Driver, default_spec

A = 1000
USDC = 10**6


def lend_driver() -> Driver:
    driver = Driver(default_spec())
    driver(Deposit(A, "USDC", 1_000 * USDC, "a"))
    return driver


def test_lend_moves_available_into_the_pool_and_redeem_brings_it_back() -> None:
    d = lend_driver()
    ev = d(BorrowLend(A, "USDC", "Lend", 400 * USDC))[0]
    assert isinstance(ev, BorrowLendExecuted) and ev.kind == "Lend" and ev.amount == 400 * USDC
    usdc = d.engine.asset_index["USDC"]
    bal = d.engine.ledger.accounts[A].assets[usdc]
    pool = d.engine.pools[usdc]
    assert pool is not None and bal.available == 600 * USDC and pool.cash == 400 * USDC
    assert pool.claim(bal.lend_shares) == 400 * USDC
    # lent funds are not available for orders or withdrawals
    assert d(Withdraw(A, "USDC", 601 * USDC))[0].reason == "InsufficientFunds"  # type: ignore[union-attr]
    # a Borrow against an open lend redeems it (netting); more than the lend is refused
    assert d(BorrowLend(A, "USDC", "Borrow", 401 * USDC))[0].reason == "BorrowRequiresLendRedeem"  # type: ignore[union-attr]
    ev = d(BorrowLend(A, "USDC", "Borrow", 150 * USDC))[0]
    assert isinstance(ev, BorrowLendExecuted) and ev.kind == "LendRedeem"
    ev = d(BorrowLend(A, "USDC", "Borrow", 250 * USDC))[0]
    assert isinstance(ev, BorrowLendExecuted) and bal.lend_shares == 0 and bal.available == 1_000 * USDC
    assert pool.cash == 0 and pool.lend_shares == 0 and bal.lent_principal == 0


def test_rejections_change_nothing() -> None:
    d = lend_driver()

    def state() -> object:  # everything but the sequence number and time every command advances
        return msgspec.structs.replace(take_snapshot(d.engine), seq=0, ts_us=0)

    before = state()
    cases = [
        (BorrowLend(A, "USDC", "Lend", 1_001 * USDC), "InsufficientFunds"),
        (BorrowLend(A, "USDC", "Lend", 0), "InvalidAmount"),
        (BorrowLend(A, "NOPE", "Lend", 1), "UnknownAsset"),
        (BorrowLend(A, "USDC", "Borrow", 5 * USDC), "PoolEmpty"),  # nothing lent yet
        (BorrowLend(4242, "USDC", "Lend", 1), "InsufficientFunds"),
    ]
    for command, reason in cases:
        events = d(command)
        assert len(events) == 1 and isinstance(events[0], BorrowLendRejected) and events[0].reason == reason
    assert state() == before


def test_accrual_clock_catches_up_and_never_repeats() -> None:
    d = lend_driver()
    assert d(AccrueInterest(490_000)) == [] and d.engine.last_accrual_hour == 490_000  # first tick sets the clock
    d(AccrueInterest(490_003))
    assert d.engine.last_accrual_hour == 490_003
    d(AccrueInterest(490_002))  # an older hour changes nothing
    assert d.engine.last_accrual_hour == 490_003


def test_snapshot_round_trip_with_pools() -> None:
    d = lend_driver()
    d(BorrowLend(A, "USDC", "Lend", 123 * USDC))
    d(AccrueInterest(10))
    d(PlaceOrder(A, "SOL_USDC", "Bid", "Limit", lots=10, price=15_000))
    restored = restore(d.spec, decode_snapshot(encode_snapshot(take_snapshot(d.engine))))
    assert state_hash(restored) == state_hash(d.engine)
    usdc = d.engine.asset_index["USDC"]
    assert restored.pools[usdc].cash == 123 * USDC  # type: ignore[union-attr]
    assert restored.last_accrual_hour == 10
