"""Order semantics on the tight test market (see tests/conftest.py for its numbers).

One lot = 0.01 SOL = 10_000_000 SOL atoms; price 150.00 = 15_000 ticks; one lot at one tick =
100 USDC atoms, so 1 lot at 150.00 costs 1_500_000 USDC atoms (1.5 USDC). Tier 1 spot fees:
maker 8 bp, taker 10 bp, charged on what each side receives, rounded up.
"""

from __future__ import annotations

from rucksack.exchange.core.commands import CancelAllOrders, CancelOrder, PlaceOrder, PlaceOrders, SetFeeTier
from rucksack.exchange.core.events import CancelRejected, OrderAccepted, OrderClosed, OrderRejected, TradeExecuted
from tests.conftest import Driver

A, B, C = 1000, 1001, 1002
LOT = 10_000_000
USDC = 1_000_000


def limit(account: int, side: str, lots: int, price: int, **kw: object) -> PlaceOrder:
    return PlaceOrder(account, "SOL_USDC", side, "Limit", lots=lots, price=price, **kw)  # type: ignore[arg-type]


def funded(driver: Driver) -> Driver:
    for acct in (A, B, C):
        driver.fund(acct, USDC=10_000 * USDC, SOL=100 * 10**9)
    return driver


def closes(events: list[object]) -> list[tuple[int, str, str]]:
    return [(e.order_id, e.status, e.reason) for e in events if isinstance(e, OrderClosed)]


def test_resting_bid_holds_exact_quote(driver: Driver) -> None:
    funded(driver)
    before = driver.available(A, "USDC")
    events = driver(limit(A, "Bid", 10, 15_000))
    assert isinstance(events[0], OrderAccepted) and len(events) == 1
    assert driver.locked(A, "USDC") == 10 * 15_000 * 100 == 15_000_000
    assert driver.available(A, "USDC") == before - 15_000_000


def test_cross_fills_at_maker_price_with_fees_in_received_asset(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 10, 15_000))  # maker sells 0.1 SOL at 150
    a_usdc, a_sol = driver.available(A, "USDC"), driver.available(A, "SOL")
    b_usdc = driver.available(B, "USDC")
    events = driver(limit(A, "Bid", 4, 15_010))  # taker bids above; fills 4 lots at 150.00
    trade = next(e for e in events if isinstance(e, TradeExecuted))
    assert (trade.price, trade.lots, trade.taker_side) == (15_000, 4, "Bid")
    quote = 4 * 15_000 * 100  # 6 USDC
    base = 4 * LOT
    assert trade.taker_fee == base * 10 // 10_000 == 40_000  # 10 bp of 0.04 SOL, exact
    assert trade.maker_fee == quote * 8 // 10_000 == 4_800  # 8 bp of 6 USDC
    assert driver.available(A, "USDC") == a_usdc - quote  # the 15_010 hold was released in full
    assert driver.locked(A, "USDC") == 0
    assert driver.available(A, "SOL") == a_sol + base - 40_000
    assert driver.available(B, "USDC") == b_usdc + quote - 4_800
    assert closes(events) == [(2, "Filled", "")]
    assert driver.engine.markets[0].last_price == 15_000


def test_fee_rounds_up_in_the_ledgers_favour(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 1, 14_999))
    events = driver(limit(A, "Bid", 1, 14_999))
    trade = next(e for e in events if isinstance(e, TradeExecuted))
    # maker receives 1_499_900 atoms; 8 bp = 1199.92 -> 1200
    assert trade.maker_fee == 1_200
    # taker receives 10_000_000 SOL atoms; 10 bp = 10_000 exactly
    assert trade.taker_fee == 10_000


def test_partial_fill_rests_remainder_with_hold_for_remaining_lots(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 3, 15_000))
    driver(limit(A, "Bid", 10, 15_005))
    order = driver.engine.orders[2]
    assert (order.lots, order.filled_lots) == (7, 3)
    assert driver.locked(A, "USDC") == 7 * 15_005 * 100


def test_price_time_priority(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 1, 15_002))  # id 1
    driver(limit(C, "Ask", 1, 15_001))  # id 2: better price
    driver(limit(B, "Ask", 1, 15_001))  # id 3: same price, later
    events = driver(limit(A, "Bid", 3, 15_002))
    assert [e.maker_order_id for e in events if isinstance(e, TradeExecuted)] == [2, 3, 1]


def test_ioc_remainder_expires(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 2, 15_000))
    events = driver(limit(A, "Bid", 5, 15_000, tif="IOC"))
    assert closes(events)[-1] == (2, "Expired", "ImmediateOrCancel")
    assert driver.locked(A, "USDC") == 0 and 2 not in driver.engine.orders


def test_fok_fills_fully_or_not_at_all(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 2, 15_000))
    events = driver(limit(A, "Bid", 3, 15_000, tif="FOK"))
    assert not any(isinstance(e, TradeExecuted) for e in events)
    assert closes(events) == [(2, "Expired", "FillOrKill")]
    events = driver(limit(A, "Bid", 2, 15_000, tif="FOK"))
    assert closes(events)[-1] == (3, "Filled", "")


def test_post_only_rejected_when_it_would_take(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 2, 15_000))
    events = driver(limit(A, "Bid", 1, 15_000, post_only=True))
    assert isinstance(events[0], OrderRejected) and events[0].reason == "PostOnlyTaker"
    events = driver(limit(A, "Bid", 1, 14_999, post_only=True))
    assert isinstance(events[0], OrderAccepted)


def test_market_buy_by_quantity_and_by_quote(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 2, 15_000))
    driver(limit(B, "Ask", 5, 15_010))
    events = driver(PlaceOrder(A, "SOL_USDC", "Bid", "Market", lots=3, tif="IOC"))
    assert [(e.price, e.lots) for e in events if isinstance(e, TradeExecuted)] == [(15_000, 2), (15_010, 1)]
    assert closes(events)[-1] == (3, "Filled", "")
    assert driver.locked(A, "USDC") == 0
    # spend 4 USDC: 4_000_000 // 1_501_000 = 2 lots, then the budget cannot pay another lot
    events = driver(PlaceOrder(A, "SOL_USDC", "Bid", "Market", quote_atoms=4 * USDC, tif="IOC"))
    assert [(e.price, e.lots) for e in events if isinstance(e, TradeExecuted)] == [(15_010, 2)]
    assert closes(events)[-1] == (4, "Filled", "")
    assert driver.locked(A, "USDC") == 0


def test_market_order_on_empty_book_expires_insufficient_liquidity(driver: Driver) -> None:
    funded(driver)
    events = driver(PlaceOrder(A, "SOL_USDC", "Ask", "Market", lots=3, tif="IOC"))
    assert closes(events) == [(1, "Expired", "InsufficientLiquidity")]
    assert driver.locked(A, "SOL") == 0


def test_self_trade_prevention_modes(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 1, 15_000))  # 1: other account, best
    driver(limit(A, "Ask", 1, 15_001))  # 2: own
    driver(limit(B, "Ask", 1, 15_002))  # 3: other
    # RejectTaker: fills order 1, then stops at own order 2; makers stay
    events = driver(limit(A, "Bid", 3, 15_002, tif="IOC", stp="RejectTaker"))
    assert [e.maker_order_id for e in events if isinstance(e, TradeExecuted)] == [1]
    assert closes(events) == [(1, "Filled", ""), (4, "Expired", "SelfTradePrevention")]
    assert 2 in driver.engine.orders
    # RejectMaker: own order 2 expires, taker continues to order 3
    events = driver(limit(A, "Bid", 2, 15_002, tif="IOC", stp="RejectMaker"))
    assert [e.maker_order_id for e in events if isinstance(e, TradeExecuted)] == [3]
    assert (2, "Expired", "SelfTradePrevention") in closes(events)
    assert driver.locked(A, "SOL") == 0
    # RejectBoth: both end
    driver(limit(A, "Ask", 1, 15_001))  # 6
    driver(limit(B, "Ask", 1, 15_002))  # 7
    events = driver(limit(A, "Bid", 2, 15_002, stp="RejectBoth"))
    assert closes(events) == [(6, "Expired", "SelfTradePrevention"), (8, "Expired", "SelfTradePrevention")]
    assert 7 in driver.engine.orders


def test_allow_self_trade_moves_fees_only(driver: Driver) -> None:
    funded(driver)
    driver(limit(A, "Ask", 1, 15_000))
    usdc, sol = driver.available(A, "USDC"), driver.available(A, "SOL")
    events = driver(limit(A, "Bid", 1, 15_000, stp="Allow"))
    trade = next(e for e in events if isinstance(e, TradeExecuted))
    assert driver.available(A, "USDC") == usdc - trade.maker_fee
    assert driver.available(A, "SOL") == sol + LOT - trade.taker_fee


def test_price_band_and_impact_band(driver: Driver) -> None:
    funded(driver)
    driver(limit(B, "Ask", 1, 15_000))
    driver(limit(A, "Bid", 1, 15_000))  # last price 150.00; band +-0.2% = +-30 ticks
    assert driver(limit(A, "Bid", 1, 15_031))[0].reason == "PriceOutOfBounds"  # type: ignore[union-attr]
    assert driver(limit(A, "Ask", 1, 14_969))[0].reason == "PriceOutOfBounds"  # type: ignore[union-attr]
    # impact +0.1% of the best ask (15_010 -> 15_025): a taker cannot fill at 15_026
    driver(limit(B, "Ask", 1, 15_010))
    driver(limit(B, "Ask", 1, 15_026))
    events = driver(limit(A, "Bid", 2, 15_030))
    assert [e.price for e in events if isinstance(e, TradeExecuted)] == [15_010]
    assert closes(events)[-1][1:] == ("Expired", "PriceImpact")


def test_validation_rejections(driver: Driver) -> None:
    funded(driver)
    cases = [
        (PlaceOrder(A, "NOPE_USDC", "Bid", "Limit", lots=1, price=15_000), "UnknownMarket"),
        (PlaceOrder(A, "SOL_USDC_PERP", "Bid", "Limit", lots=1, price=15_000), "NoMarkPrice"),
        (limit(A, "Bid", 0, 15_000), "InvalidQuantity"),
        (limit(A, "Bid", -3, 15_000), "InvalidQuantity"),
        (limit(A, "Bid", 1, 0), "InvalidPrice"),
        (limit(A, "Bid", 100_001, 15_000), "InvalidQuantity"),
        (PlaceOrder(A, "SOL_USDC", "Bid", "Market", lots=1, quote_atoms=5), "InvalidQuantity"),
        (PlaceOrder(A, "SOL_USDC", "Bid", "Market"), "InvalidQuantity"),
        (PlaceOrder(A, "SOL_USDC", "Bid", "Market", lots=1, post_only=True), "InvalidOrder"),
        (PlaceOrder(A, "SOL_USDC", "Bid", "Market", quote_atoms=5 * USDC, tif="FOK"), "InvalidOrder"),
        (PlaceOrder(A, "SOL_USDC", "Bid", "Market", quote_atoms=10), "InvalidQuantity"),
        (limit(A, "Bid", 1, 15_000, client_id=1 << 32), "InvalidOrder"),
        (limit(A, "Bid", 10**9, 15_000), "InvalidQuantity"),
        (limit(9999, "Bid", 1, 15_000), "InsufficientFunds"),
    ]
    for command, reason in cases:
        events = driver(command)
        assert len(events) == 1 and isinstance(events[0], OrderRejected), command
        assert events[0].reason == reason, command
    assert not driver.engine.orders


def test_minimum_notional(driver: Driver) -> None:
    d = Driver(__import__("tests.conftest", fromlist=["tight_spec"]).tight_spec(min_notional="2"))
    funded(d)
    assert d(limit(A, "Bid", 1, 15_000))[0].reason == "InvalidQuantity"  # type: ignore[union-attr]
    assert isinstance(d(limit(A, "Bid", 2, 15_000))[0], OrderAccepted)


def test_insufficient_funds_changes_nothing(driver: Driver) -> None:
    driver.fund(A, USDC=1_500_000)  # exactly one lot at 150
    assert isinstance(driver(limit(A, "Bid", 1, 15_000))[0], OrderAccepted)
    events = driver(limit(A, "Bid", 1, 15_000))
    assert events[0].reason == "InsufficientFunds"  # type: ignore[union-attr]
    assert driver.available(A, "USDC") == 0 and driver.locked(A, "USDC") == 1_500_000


def test_cancel_by_id_and_client_id_releases_hold(driver: Driver) -> None:
    funded(driver)
    driver(limit(A, "Bid", 2, 15_000, client_id=7))
    driver(limit(A, "Ask", 2, 15_100))
    assert driver(limit(A, "Bid", 1, 14_990, client_id=7))[0].reason == "DuplicateClientId"  # type: ignore[union-attr]
    events = driver(CancelOrder(A, "SOL_USDC", client_id=7))
    assert closes(events) == [(1, "Cancelled", "UserCancelled")]
    assert driver.locked(A, "USDC") == 0
    assert isinstance(driver(CancelOrder(B, "SOL_USDC", order_id=2))[0], CancelRejected)  # not B's order
    assert isinstance(driver(CancelOrder(A, "BTC_USDC", order_id=2))[0], CancelRejected)  # wrong market
    events = driver(CancelOrder(A, "SOL_USDC", order_id=2))
    assert closes(events) == [(2, "Cancelled", "UserCancelled")]
    assert driver.locked(A, "SOL") == 0
    # the client id is free again
    assert isinstance(driver(limit(A, "Bid", 1, 14_990, client_id=7))[0], OrderAccepted)


def test_cancel_all_only_touches_own_orders_in_that_market(driver: Driver) -> None:
    funded(driver)
    driver(limit(A, "Bid", 1, 14_990))
    driver(limit(B, "Bid", 1, 14_991))
    driver(limit(A, "Ask", 1, 15_010))
    events = driver(CancelAllOrders(A, "SOL_USDC"))
    assert closes(events) == [(1, "Cancelled", "UserCancelled"), (3, "Cancelled", "UserCancelled")]
    assert list(driver.engine.orders) == [2]


def test_batch_applies_in_order_each_with_its_own_result(driver: Driver) -> None:
    funded(driver)
    events = driver(PlaceOrders([limit(B, "Ask", 1, 15_000), limit(A, "Bid", 0, 15_000), limit(A, "Bid", 1, 15_000)]))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["OrderAccepted", "OrderRejected", "OrderAccepted", "TradeExecuted", "OrderClosed", "OrderClosed"]
    too_many = driver(PlaceOrders([limit(A, "Bid", 1, 14_000 + i) for i in range(51)]))
    assert len(too_many) == 51 and all(e.reason == "BatchTooLarge" for e in too_many)  # type: ignore[union-attr]


def test_fee_tier_changes_rates(driver: Driver) -> None:
    funded(driver)
    driver(SetFeeTier(A, 1))  # zero-fee tier
    driver(limit(B, "Ask", 1, 15_000))
    trade = next(e for e in driver(limit(A, "Bid", 1, 15_000)) if isinstance(e, TradeExecuted))
    assert trade.taker_fee == 0 and trade.maker_fee == 1_200
    assert type(driver(SetFeeTier(A, 9))[0]).__name__ == "FeeTierRejected"
