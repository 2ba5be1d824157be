"""Spot margin (autoBorrow, autoBorrowRepay, autoLendRedeem) and autoLend (deposits lent at once,
redeemed for orders, withdrawals and transfers; they keep their collateral weight)."""

from __future__ import annotations

from rucksack.exchange.core.commands import BorrowLend, PlaceOrder, Transfer, UpdateAccount, Withdraw
from rucksack.exchange.core.events import (
    BorrowLendExecuted,
    OrderRejected,
    TradeExecuted,
    Withdrawn,
)
from tests.unit.exchange.core.perps.helpers import SOL, USDC, PerpDriver


def kinds(events: list[object]) -> list[str]:
    return [e.kind for e in events if isinstance(e, BorrowLendExecuted)]


def test_auto_borrow_shorts_sol_and_auto_repay_buys_it_back() -> None:
    d = PerpDriver()
    lender = d.new_account(SOL=1_000 * SOL)
    d(BorrowLend(lender, "SOL", "Lend", 1_000 * SOL))
    maker = d.new_account(USDC=1_000_000 * USDC, SOL=1_000 * SOL)
    trader = d.new_account(USDC=1_000 * USDC)
    d.index("SOL", "150")
    d(PlaceOrder(maker, "SOL_USDC", "Bid", "Limit", lots=1_000, price=15_000))
    # without autoBorrow the trader has no SOL to sell
    [rej] = d(PlaceOrder(trader, "SOL_USDC", "Ask", "Limit", lots=1_000, price=15_000))
    assert isinstance(rej, OrderRejected) and rej.reason == "InsufficientFunds"
    events = d(PlaceOrder(trader, "SOL_USDC", "Ask", "Limit", lots=1_000, price=15_000, auto_borrow=True))
    assert kinds(events) == ["Borrow"] and any(isinstance(e, TradeExecuted) for e in events)
    sol = d.acct(trader).assets[1]
    assert d.engine.pools[1].debt(sol.borrow_shares) == 10 * SOL  # type: ignore[union-attr]
    # too much for the margin: 500 SOL ($75k, IM 20%) on ~$1k of equity is refused, nothing borrowed
    [big] = d(PlaceOrder(trader, "SOL_USDC", "Ask", "Limit", lots=50_000, price=15_000, auto_borrow=True))
    assert isinstance(big, OrderRejected) and big.reason == "InsufficientMargin"
    # buy it back with autoBorrowRepay: the SOL received repays the borrow
    d(PlaceOrder(maker, "SOL_USDC", "Ask", "Limit", lots=1_100, price=15_000))
    events = d(PlaceOrder(trader, "SOL_USDC", "Bid", "Limit", lots=1_011, price=15_000, auto_borrow_repay=True))
    assert kinds(events) == ["BorrowRepay"]
    assert not sol.borrow_shares and sol.available > 0


def test_auto_lend_lends_deposits_and_redeems_for_orders_and_withdrawals() -> None:
    d = PerpDriver()
    a = d.new_account()
    d(UpdateAccount(a, auto_lend=True))
    from rucksack.exchange.core.commands import Deposit

    events = d(Deposit(a, "USDC", 1_000 * USDC, "dep-a"))
    assert kinds(events) == ["Lend"] and d.available(a, "USDC") == 0
    d.index("SOL", "150")
    r = d.margin(a)
    assert r.collateral == 1_000 * USDC  # lent funds keep their collateral weight
    # an order needs 150 USDC: the lend is redeemed for it (then the rest stays lent)
    events = d(PlaceOrder(a, "SOL_USDC", "Bid", "Limit", lots=100, price=15_000))
    assert kinds(events) == ["LendRedeem"] and d.locked(a, "USDC") == 150 * USDC
    # a withdrawal redeems what it needs too
    events = d(Withdraw(a, "USDC", 100 * USDC, "w"))
    assert kinds(events) == ["LendRedeem"] and any(isinstance(e, Withdrawn) for e in events)
    # a transfer into an autoLend subaccount is lent on arrival
    from rucksack.exchange.core.commands import CreateAccount

    [created] = d(CreateAccount("sub", parent=a))
    sub = created.account  # type: ignore[attr-defined]
    d(UpdateAccount(sub, auto_lend=True))
    events = d(Transfer(a, a, sub, "USDC", 50 * USDC))
    assert kinds(events) == ["LendRedeem", "Lend"]
    pool = d.engine.pools[0]
    assert pool is not None and pool.claim(d.acct(sub).assets[0].lend_shares) == 50 * USDC


def test_redeeming_a_whole_lend_above_the_utilization_cap_is_refused_not_raised() -> None:
    """Lent 2,000, borrowed 960: redeeming a 1,000 lend in full would leave 960 / 1,000 = 96% >
    95%. An order or a withdrawal that needs it is refused and changes nothing (it used to raise
    the pool's error out of the engine)."""
    d = PerpDriver()
    lender = d.new_account(USDC=1_000 * USDC)
    d(UpdateAccount(lender, auto_lend=True))
    other = d.new_account(USDC=1_000 * USDC)
    d(BorrowLend(other, "USDC", "Lend", 1_000 * USDC))
    borrower = d.new_account(USDC=10_000 * USDC)
    d(BorrowLend(borrower, "USDC", "Borrow", 960 * USDC))
    d.index("SOL", "150")
    seller = d.new_account(SOL=100 * SOL)
    d(PlaceOrder(seller, "SOL_USDC", "Ask", "Limit", lots=1_000, price=15_000))
    pool = d.engine.pools[0]
    assert pool is not None
    before = (pool.cash, pool.lend_shares, pool.borrow_shares)
    # 10 SOL for 1,500: the whole lend (1,000) and a 500 borrow
    [rej] = d(PlaceOrder(lender, "SOL_USDC", "Bid", "Limit", lots=1_000, price=15_000, auto_borrow=True))
    assert isinstance(rej, OrderRejected) and rej.reason == "PoolLimit"
    # the whole lend, no borrow: still 96%
    [no] = d(Withdraw(lender, "USDC", 1_000 * USDC, "w-all"))
    assert not isinstance(no, Withdrawn)
    assert (pool.cash, pool.lend_shares, pool.borrow_shares) == before
    # a part of the lend that keeps utilization at or under 95% still goes through
    events = d(Withdraw(lender, "USDC", 10 * USDC, "w-part"))
    assert any(isinstance(e, Withdrawn) for e in events)
