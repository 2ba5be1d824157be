"""Subaccounts (isolated margin, transfers checked against margin), account settings, reduce-only,
and the USDC settlement waterfall (§14.6)."""

from __future__ import annotations

from fractions import Fraction as F

from rucksack.exchange.core.commands import (
    BorrowLend,
    CreateAccount,
    LiquidationSweep,
    PlaceOrder,
    SettlePnl,
    Transfer,
    UpdateAccount,
)
from rucksack.exchange.core.events import (
    AccountCreated,
    AccountRejected,
    AccountUpdated,
    BorrowLendExecuted,
    OrderClosed,
    OrderModified,
    OrderRejected,
    PnlSettled,
    Transferred,
    TransferRejected,
)
from tests.unit.exchange.core.perps.helpers import USDC, PerpDriver

PERP = "SOL_USDC_PERP"


def test_subaccounts_transfers_and_isolation() -> None:
    d = PerpDriver()
    main = d.new_account(USDC=10_000 * USDC)
    [created] = d(CreateAccount("hedge", parent=main))
    assert isinstance(created, AccountCreated) and created.parent == main
    sub = created.account
    other = d.new_account(USDC=1 * USDC)
    [bad] = d(CreateAccount("nested", parent=sub))  # subaccounts of subaccounts are refused
    assert isinstance(bad, AccountRejected)
    moved, lent = d(Transfer(main, main, sub, "USDC", 1_000 * USDC))  # a new subaccount auto-lends
    assert isinstance(moved, Transferred)
    assert isinstance(lent, BorrowLendExecuted) and (lent.kind, lent.source) == ("Lend", "AutoLend")
    for command, reason in (
        (Transfer(main, main, other, "USDC", 1), "UnknownAccount"),  # not the owner's wallet
        (Transfer(other, sub, other, "USDC", 1), "UnknownAccount"),  # another owner's subaccount
        (Transfer(main, sub, main, "USDC", 1_001 * USDC), "InsufficientFunds"),
        (Transfer(main, main, main, "USDC", 1), "InvalidAmount"),
    ):
        [rejected] = d(command)
        assert isinstance(rejected, TransferRejected) and rejected.reason == reason
    # the subaccount goes 5x long; the main account's money is not its margin
    d.index("SOL", "150")
    maker = d.new_account(USDC=1_000_000 * USDC)
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=3_300, price=15_000))
    d(PlaceOrder(sub, PERP, "Bid", "Limit", lots=3_300, price=15_000))  # 33 SOL, $4,950
    # moving margin out of the subaccount is checked: its IM is 0.05 x 4,950 = 247.50
    [too_much] = d(Transfer(main, sub, main, "USDC", 800 * USDC))
    assert isinstance(too_much, TransferRejected) and too_much.reason == "InsufficientMargin"
    d.index("SOL", "120")  # -990: the subaccount is liquidated, the main account untouched
    events = d(LiquidationSweep())
    assert d.acct(sub).liquidating or any(type(e).__name__ == "LiquidationEnded" for e in events)
    assert all(getattr(e, "account", sub) != main for e in events)
    assert d.available(main, "USDC") == 9_000 * USDC and not d.acct(main).positions


def test_settings_and_leverage_limit() -> None:
    d = PerpDriver()
    a = d.new_account(USDC=1_000 * USDC)
    *lent, upd = d(UpdateAccount(a, auto_lend=True, leverage_limit=5))
    assert isinstance(upd, AccountUpdated) and upd.auto_lend and upd.leverage_limit == 5
    assert [e.kind for e in lent] == ["Lend"]  # type: ignore[attr-defined]  # idle USDC lent at once
    assert d.available(a, "USDC") == 0
    [bad] = d(UpdateAccount(a, leverage_limit=0))
    assert isinstance(bad, AccountRejected) and bad.reason == "InvalidSetting"
    d.index("SOL", "150")
    maker = d.new_account(USDC=1_000_000 * USDC)
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=10_000, price=15_000))
    # 5x cap: IMF >= 1/5, so $1,000 supports a bit under $5,000 (fees included); $5,100 is also
    # above the positionLimit of 1,000 x 5, which is the reason given
    [rej] = d(PlaceOrder(a, PERP, "Bid", "Limit", lots=3_400, price=15_000))[:1]
    assert isinstance(rej, OrderRejected) and rej.reason == "PositionLimit"
    events = d(PlaceOrder(a, PERP, "Bid", "Limit", lots=3_300, price=15_000))  # $4,950 x 0.2 = 990
    assert not any(isinstance(e, OrderRejected) for e in events)
    # lowering the limit below what the position needs is refused
    [lower] = d(UpdateAccount(a, leverage_limit=2))
    assert isinstance(lower, AccountRejected) and lower.reason == "InsufficientMargin"


def test_reduce_only_orders_never_flip_and_are_never_margin_blocked() -> None:
    d = PerpDriver()
    a = d.new_account(USDC=1_000 * USDC)
    maker = d.new_account(USDC=1_000_000 * USDC)
    d.index("SOL", "150")
    [rej] = d(PlaceOrder(a, PERP, "Ask", "Limit", lots=100, price=15_000, reduce_only=True))
    assert isinstance(rej, OrderRejected) and rej.reason == "ReduceOnlyNotReduced"
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=3_000, price=15_000))
    d(PlaceOrder(a, PERP, "Bid", "Limit", lots=3_000, price=15_000))  # 30 SOL long
    # a resting reduce-only sell larger than the position is cut to the position
    events = d(PlaceOrder(a, PERP, "Ask", "Limit", lots=5_000, price=16_000, reduce_only=True))
    order_id = events[0].order_id  # type: ignore[union-attr]
    assert d.engine.orders[order_id].lots == 3_000
    # the position shrinks by another fill: the resting reduce-only order would flip it: it is cut
    # to the position, as Backpack trims it (orderModified), and keeps its place
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=1_000, price=14_990))
    events = d(PlaceOrder(a, PERP, "Ask", "Market", lots=1_000))
    assert [e for e in events if isinstance(e, OrderModified)] == [OrderModified(order_id, a, PERP, 2_000)]
    order = d.engine.orders[order_id]
    assert order.lots == order.hold == 2_000 and order.level is not None and order.level.lots == 2_000
    pos = d.acct(a).positions[d.engine.market_by_symbol[PERP].index]
    assert pos.open_sells == 2_000
    # the position closes by another order: nothing is left to reduce: expired
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=2_000, price=14_990))
    events = d(PlaceOrder(a, PERP, "Ask", "Market", lots=2_000))
    expired = [e for e in events if isinstance(e, OrderClosed) and e.order_id == order_id]
    assert expired and expired[0].reason == "ReduceOnlyNotReduced"
    assert not any(isinstance(e, OrderModified) for e in events)
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=2_000, price=15_000))
    d(PlaceOrder(a, PERP, "Bid", "Limit", lots=2_000, price=15_000))  # 20 SOL long again
    # even deep under water, a reduce-only close is accepted
    d.index("SOL", "120")
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=2_000, price=12_000))
    events = d(PlaceOrder(a, PERP, "Ask", "Market", lots=2_000, reduce_only=True))
    assert not any(isinstance(e, OrderRejected) for e in events)
    assert not d.acct(a).positions[d.engine.market_by_symbol[PERP].index].lots


def test_settlement_waterfall_borrows_usdc_for_a_loser_and_repays_for_a_winner() -> None:
    d = PerpDriver()
    lender = d.new_account(USDC=1_000_000 * USDC)
    d(BorrowLend(lender, "USDC", "Lend", 1_000_000 * USDC))
    long_ = d.new_account(BTC=10**8)  # no USDC at all: losses must be borrowed
    short = d.new_account(USDC=10_000 * USDC)
    d.index("BTC", "60000")
    d.index("SOL", "150")
    d(PlaceOrder(short, PERP, "Ask", "Limit", lots=1_000, price=15_000))
    d(PlaceOrder(long_, PERP, "Bid", "Limit", lots=1_000, price=15_000))  # 10 SOL
    d.index("SOL", "140")
    events = {e.account: e for e in d(SettlePnl()) if isinstance(e, PnlSettled)}
    fee_long = F(1_500) * F("0.0005")  # the long took the short's resting ask
    fee_short = F(1_500) * F("0.0002")
    # the long owes 100 + fee: it has no USDC, so the settlement borrows it from the pool
    assert F(events[long_].realized, USDC) == -100
    assert F(-events[long_].paid, USDC) == 100 + fee_long == F(events[long_].borrowed, USDC)
    assert events[long_].unsettled == 0
    assert F(events[short].realized, USDC) == 100 and F(events[short].paid, USDC) == 100 - fee_short
    assert F(d.available(short, "USDC"), USDC) == 10_000 + 100 - fee_short
    # the long wins it back: the gain repays its USDC borrow first
    d.index("SOL", "160")
    d(SettlePnl())
    debt = d.engine.pools[0].debt(d.acct(long_).assets[0].borrow_shares)  # type: ignore[union-attr]
    assert debt == 0 and F(d.available(long_, "USDC"), USDC) == 200 - 100 - fee_long


def test_position_limit_caps_futures_exposure_and_never_blocks_reducing() -> None:
    """positionLimit = max(equity, 0) x leverage limit: an order that raises the account's futures
    exposure (at the mark, open orders included) above it is refused with PositionLimit; orders
    that do not raise it — reduce-only among them — pass however far above the limit it is."""
    d = PerpDriver()
    a = d.new_account(USDC=1_000 * USDC)
    maker = d.new_account(USDC=1_000_000 * USDC)
    d(UpdateAccount(a, leverage_limit=10))
    d.index("SOL", "150")
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=6_000, price=15_000))
    d(PlaceOrder(a, PERP, "Ask", "Limit", lots=6_000, price=15_000))  # 60 SOL short, taker fee 4.50
    # the short goes against the account: at 160 the book is empty, so the mark is the index
    d.index("SOL", "160")
    equity = F(1_000) - F(9_000) * F("0.0005") - 60 * 10
    exposure = 60 * F(160)
    r = d.margin(a)
    assert (F(r.equity, USDC), F(r.exposure, USDC)) == (equity, exposure) == (F("395.5"), F(9_600))
    assert equity * 10 < exposure  # above its positionLimit, not (yet) liquidatable
    assert not d.acct(a).liquidating
    # one more lot short raises the exposure: refused as over the position limit
    [rej] = d(PlaceOrder(a, PERP, "Ask", "Limit", lots=1, price=16_000))
    assert isinstance(rej, OrderRejected) and rej.reason == "PositionLimit"
    # a reduce-only buy and a plain buy that lowers the exposure are accepted
    for reduce_only in (True, False):
        events = d(PlaceOrder(a, PERP, "Bid", "Limit", lots=1_000, price=15_900, reduce_only=reduce_only))
        assert not any(isinstance(e, OrderRejected) for e in events)
