"""Trigger orders (standalone and attached TP/SL): hand-computed scenarios on SOL_USDC_PERP.

Units: price 0.01 USDC a tick, 100 lots = 1 SOL, notional = lots x price x 100 atoms. Index
updates are made while the book has at most one side, so the mark equals the index.
"""

from __future__ import annotations

from rucksack.exchange.core.commands import CancelAllOrders, CancelOrder, PlaceOrder
from rucksack.exchange.core.events import (
    Event,
    OrderAccepted,
    OrderClosed,
    OrderRejected,
    TradeExecuted,
    TriggerAccepted,
    TriggerFired,
)
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.unit.exchange.core.perps.helpers import USDC, PerpDriver

PERP = "SOL_USDC_PERP"


def _of(events: list[Event], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def _pos(d: PerpDriver, account: int):  # type: ignore[no-untyped-def]
    return d.acct(account).positions[d.engine.market_by_symbol[PERP].index]


def _long_with(d: PerpDriver, a: int, maker: int, **tpsl: int) -> tuple[int, list[Event]]:
    """``a`` buys 1 SOL at 150 from ``maker`` with TP/SL attached; returns the parent id."""
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=100, price=15_000))
    events = d(PlaceOrder(a, PERP, "Bid", "Limit", lots=100, price=15_000, **tpsl))
    return _of(events, OrderAccepted)[0].order_id, events


def test_stop_loss_on_a_long_fires_when_the_mark_falls_through() -> None:
    d = PerpDriver()
    d.index("SOL", "150")
    maker = d.new_account(USDC=100_000 * USDC)
    a = d.new_account(USDC=1_000 * USDC)
    parent, events = _long_with(d, a, maker, stop_loss_price=14_000)
    [sl] = _of(events, TriggerAccepted)
    assert sl.parent_id == parent and sl.order.side == "Ask" and sl.order.order_type == "Market"
    assert sl.order.lots == 100 and sl.order.reduce_only and sl.order.trigger_by == "MarkPrice"
    assert _pos(d, a).lots == 100
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=100, price=13_900))
    assert not _of(d.index("SOL", "140.01"), TriggerFired)  # 140.01 > 140: still pending
    assert sl.order_id in d.engine.triggers
    events = d.index("SOL", "140")
    [fired] = _of(events, TriggerFired)
    assert fired.order_id == sl.order_id and fired.price == 14_000
    [accepted] = _of(events, OrderAccepted)
    assert accepted.order_id == sl.order_id  # the trigger keeps its id when it fires
    [trade] = _of(events, TradeExecuted)
    assert (trade.price, trade.lots, trade.taker_order_id) == (13_900, 100, sl.order_id)
    assert _of(events, OrderClosed)[-1].status == "Filled"
    pos = _pos(d, a)
    # bought 100 lots at 150.00, sold at 139.00: cost basis 100*(15000-13900)*100 = 11 USDC lost
    assert pos.lots == 0 and pos.cost == 11 * USDC
    assert not d.engine.triggers and not d.engine.tpsl


def test_take_profit_limit_on_a_short_and_the_stop_loss_expires_without_position() -> None:
    d = PerpDriver()
    d.index("SOL", "150")
    maker = d.new_account(USDC=100_000 * USDC)
    a = d.new_account(USDC=1_000 * USDC)
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=100, price=15_000))
    events = d(
        PlaceOrder(
            a,
            PERP,
            "Ask",
            "Limit",
            lots=100,
            price=15_000,
            take_profit_price=14_000,
            take_profit_limit=14_010,
            stop_loss_price=16_000,
        )
    )
    tp, sl = _of(events, TriggerAccepted)
    assert (tp.order.side, tp.order.order_type, tp.order.price, tp.order.tif) == ("Bid", "Limit", 14_010, "GTC")
    assert (sl.order.order_type, sl.order.trigger_price) == ("Market", 16_000)
    assert _pos(d, a).lots == -100
    events = d.index("SOL", "140")  # a short's take-profit fires when the price falls to it
    assert [e.order_id for e in _of(events, TriggerFired)] == [tp.order_id]
    assert not _of(events, OrderClosed)  # nothing to buy from: the limit rests as New
    resting = d.engine.orders[tp.order_id]
    assert resting.reduce_only and resting.price == 14_010 and resting.lots == 100
    assert sl.order_id in d.engine.triggers
    events = d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=100, price=14_010))
    closed = {e.order_id: e for e in _of(events, OrderClosed)}
    assert closed[tp.order_id].status == "Filled"
    # the position is gone: the stop-loss expires
    assert (closed[sl.order_id].status, closed[sl.order_id].reason) == ("Expired", "StopWithoutPosition")
    pos = _pos(d, a)
    assert pos.lots == 0 and pos.cost == -100 * (15_000 - 14_010) * 100  # 9.90 USDC gained
    assert not d.engine.triggers


def test_trigger_by_last_price_versus_index_price() -> None:
    d = PerpDriver()
    d.index("SOL", "150")
    maker = d.new_account(USDC=100_000 * USDC)
    b = d.new_account(USDC=5_000 * USDC)
    c = d.new_account(USDC=5_000 * USDC)
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=100, price=15_000))
    d(PlaceOrder(c, PERP, "Bid", "Limit", lots=100, price=15_000))  # last price 150.00
    [by_last] = d(PlaceOrder(b, PERP, "Bid", "Market", lots=100, trigger_price=15_500, trigger_by="LastPrice"))
    [by_index] = d(PlaceOrder(b, PERP, "Bid", "Market", lots=100, trigger_price=15_500, trigger_by="IndexPrice"))
    assert isinstance(by_last, TriggerAccepted) and isinstance(by_index, TriggerAccepted)
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=100, price=15_400))
    events = d.index("SOL", "155")  # the index trigger fires and buys at 154; last 154 < 155
    assert [e.order_id for e in _of(events, TriggerFired)] == [by_index.order_id]
    assert [(t.price, t.lots) for t in _of(events, TradeExecuted)] == [(15_400, 100)]
    assert by_last.order_id in d.engine.triggers
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=200, price=15_500))
    events = d(PlaceOrder(c, PERP, "Bid", "Limit", lots=100, price=15_500))  # a trade at 155.00
    assert [e.order_id for e in _of(events, TriggerFired)] == [by_last.order_id]
    assert [(t.taker_order_id, t.price) for t in _of(events, TradeExecuted)][-1] == (by_last.order_id, 15_500)
    assert _pos(d, b).lots == 200


def test_cancel_client_ids_failure_and_validation() -> None:
    d = PerpDriver()
    d.index("SOL", "150")
    a = d.new_account(USDC=10 * USDC)
    kw = {"lots": 100, "trigger_price": 16_000}
    [t1] = d(PlaceOrder(a, PERP, "Bid", "Market", client_id=7, **kw))
    [dup] = d(PlaceOrder(a, PERP, "Bid", "Market", client_id=7, **kw))
    assert isinstance(dup, OrderRejected) and dup.reason == "DuplicateClientId"
    [t2] = d(PlaceOrder(a, PERP, "Ask", "Limit", price=14_000, **kw))
    [t3] = d(PlaceOrder(a, PERP, "Bid", "Market", lots=100, trigger_price=14_000))
    assert len(d.engine.triggers) == 3
    [closed] = d(CancelOrder(a, PERP, client_id=7))
    assert isinstance(closed, OrderClosed) and (closed.order_id, closed.status) == (t1.order_id, "Cancelled")
    [gone] = d(CancelOrder(a, PERP, order_id=t1.order_id))
    assert gone.reason == "OrderNotFound"  # type: ignore[union-attr]
    events = d(CancelAllOrders(a, PERP))
    assert [(e.order_id, e.status) for e in events] == [(t2.order_id, "Cancelled"), (t3.order_id, "Cancelled")]  # type: ignore[union-attr]
    # fires, but $10 cannot carry a 10 SOL buy (above its positionLimit of 10 x 50 = $500, and
    # unmargined): closed as TriggerFailed with the reason
    [t4] = d(PlaceOrder(a, PERP, "Bid", "Market", lots=1_000, trigger_price=15_100))
    events = d.index("SOL", "151")
    names = [type(e).__name__ for e in events if type(e).__name__ != "IndexPriceSet"]
    assert names == ["TriggerFired", "OrderRejected", "OrderClosed"]
    assert (events[-1].order_id, events[-1].status, events[-1].reason) == (  # type: ignore[union-attr]
        t4.order_id,
        "TriggerFailed",
        "PositionLimit",
    )
    for bad, reason in (
        (PlaceOrder(a, PERP, "Bid", "Market", lots=100, trigger_price=15_000, trigger_by="Moon"), "InvalidOrder"),
        (PlaceOrder(a, PERP, "Bid", "Limit", lots=100, trigger_price=15_000), "InvalidPrice"),
        (PlaceOrder(a, PERP, "Bid", "Market", lots=100, trigger_price=15_000, trigger_by="LastPrice"), "NoMarkPrice"),
        (PlaceOrder(a, PERP, "Bid", "Limit", lots=100, price=15_000, take_profit_price=14_000), "InvalidPrice"),
        (PlaceOrder(a, "SOL_USDC", "Bid", "Limit", lots=100, price=15_000, stop_loss_price=14_000), "InvalidOrder"),
    ):
        [rej] = d(bad)
        assert isinstance(rej, OrderRejected) and rej.reason == reason, (bad, rej)


def test_tp_sl_on_a_resting_parent_and_replay_gives_the_same_hash() -> None:
    d = PerpDriver()
    d.index("SOL", "150")
    maker = d.new_account(USDC=100_000 * USDC)
    a = d.new_account(USDC=2_000 * USDC)
    [acc] = d(PlaceOrder(a, PERP, "Bid", "Limit", lots=300, price=14_900, client_id=3, stop_loss_price=14_000))[:1]
    parent = acc.order_id  # type: ignore[union-attr]
    assert parent in d.engine.tpsl
    d(PlaceOrder(a, PERP, "Ask", "Market", lots=100, trigger_price=16_000, client_id=4))
    # the parent fills 100 then 200 as a maker: one stop-loss per fill, for the filled lots
    first = d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=100, price=14_900))
    assert [t.order.lots for t in _of(first, TriggerAccepted)] == [100]
    mid = take_snapshot(d.engine)
    cut = len(d.log)
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=200, price=14_900))
    assert parent not in d.engine.tpsl and len(d.engine.triggers) == 3
    assert sorted(t.order.lots for t in d.engine.triggers.values()) == [100, 100, 200]
    restored = restore(d.spec, decode_snapshot(encode_snapshot(mid)))
    for seq, ts, command in d.log[cut:]:
        restored.apply(command, seq, ts)
    assert state_hash(restored) == state_hash(d.engine)
    # both stop-losses fire in (trigger price, id) order and close the 3 SOL long
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=300, price=13_900))
    events = d.index("SOL", "139.5")
    assert [e.order_id for e in _of(events, TriggerFired)] == sorted(
        t.id for t in restored.triggers.values() if t.parent_id == parent
    )
    assert _pos(d, a).lots == 0
    # the standalone reduce-only-free trigger sell survives; replay from scratch matches too
    final = restore(d.spec, decode_snapshot(encode_snapshot(take_snapshot(d.engine))))
    assert state_hash(final) == state_hash(d.engine) and len(final.triggers) == 1


def test_a_stop_loss_its_own_parent_filled_through_is_not_armed() -> None:
    """Regression (margin property test): a bid at 190 with a last-price stop at 188 fills at
    185, already through the stop. Firing the stop inside the same command sold 0.9 SOL into a
    stale 135 bid and left the account at -14.65 USDC equity holding 0.1 SOL: an accepted,
    exposure-raising order with available equity < 0. Now the child fails as
    ``TriggerAlreadyCrossed`` and the position stays, within its initial margin."""
    d = PerpDriver()
    d.index("SOL", "150")
    maker = d.new_account(USDC=100_000 * USDC)
    a = d.new_account(USDC=30 * USDC)
    d(PlaceOrder(maker, PERP, "Bid", "Limit", lots=90, price=13_500))
    d.index("SOL", "190")  # the 135 bid is now stale
    d(PlaceOrder(maker, PERP, "Ask", "Limit", lots=100, price=18_500))
    events = d(
        PlaceOrder(a, PERP, "Bid", "Limit", lots=100, price=19_000, stop_loss_price=18_800, stop_loss_by="LastPrice")
    )
    [trade] = _of(events, TradeExecuted)
    assert (trade.price, trade.lots, trade.taker_account) == (18_500, 100, a)
    [sl] = _of(events, TriggerAccepted)
    assert not _of(events, TriggerFired) and sl.order_id not in d.engine.triggers
    closed = _of(events, OrderClosed)[-1]
    assert (closed.order_id, closed.status, closed.reason) == (sl.order_id, "TriggerFailed", "TriggerAlreadyCrossed")
    assert _pos(d, a).lots == 100
    r = d.margin(a)
    assert r.equity - r.im >= 0
