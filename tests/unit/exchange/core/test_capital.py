"""Deposits (idempotent by transaction id) and withdrawals (against available balance)."""

from __future__ import annotations

from rucksack.exchange.core.commands import Deposit, PlaceOrder, Withdraw
from rucksack.exchange.core.events import Deposited, DepositRejected, WithdrawalRejected, Withdrawn
from rucksack.exchange.core.invariants import conservation_report
from tests.conftest import Driver


def test_deposit_is_idempotent_by_tx_id(driver: Driver) -> None:
    assert isinstance(driver(Deposit(1000, "USDC", 5, "tx-1"))[0], Deposited)
    again = driver(Deposit(1000, "USDC", 5, "tx-1"))
    assert isinstance(again[0], DepositRejected) and again[0].reason == "DuplicateDeposit"
    assert driver.available(1000, "USDC") == 5


def test_deposit_rejections(driver: Driver) -> None:
    assert driver(Deposit(1000, "NOPE", 5, "a"))[0].reason == "UnknownAsset"  # type: ignore[union-attr]
    assert driver(Deposit(1000, "USDC", 0, "b"))[0].reason == "InvalidAmount"  # type: ignore[union-attr]
    assert driver(Deposit(1000, "USDC", -5, "c"))[0].reason == "InvalidAmount"  # type: ignore[union-attr]
    # a rejected deposit does not burn its tx id
    assert isinstance(driver(Deposit(1000, "USDC", 5, "b"))[0], Deposited)


def test_withdrawal_only_from_available(driver: Driver) -> None:
    driver(Deposit(1000, "USDC", 3_000_000, "a"))
    driver(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=1, price=15_000))  # locks 1.5 USDC
    rejected = driver(Withdraw(1000, "USDC", 1_500_001))
    assert isinstance(rejected[0], WithdrawalRejected) and rejected[0].reason == "InsufficientFunds"
    assert isinstance(driver(Withdraw(1000, "USDC", 1_500_000))[0], Withdrawn)
    assert driver(Withdraw(1000, "USDC", 0))[0].reason == "InvalidAmount"  # type: ignore[union-attr]
    assert driver(Withdraw(1000, "XYZ", 1))[0].reason == "UnknownAsset"  # type: ignore[union-attr]
    assert driver(Withdraw(4242, "USDC", 1))[0].reason == "InsufficientFunds"  # type: ignore[union-attr]
    report = conservation_report(driver.engine)["USDC"]
    assert report == {
        "accounts": 1_500_000,
        "fees": 0,
        "lending_pool": 0,
        "deposited": 3_000_000,
        "withdrawn": 1_500_000,
        "imbalance": 0,
    }
