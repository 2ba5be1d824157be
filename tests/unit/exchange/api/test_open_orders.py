"""The open-orders read model agrees with the engine once every event is released, reports each
order as of each event, and seeds to the same contents from engine state."""

from __future__ import annotations

import random

from rucksack.exchange.api.open_orders import OpenOrders
from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.commands import CancelOrder, Command, Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import OrderAccepted, OrderClosed, TradeExecuted

ACCOUNTS = (1000, 1001, 1002)


def new_engine() -> tuple[Engine, int]:
    engine = Engine(load_spec_text(default_config_text()))
    seq = 0
    for a in ACCOUNTS:
        for asset, amount in (("USDC", 10**13), ("SOL", 10**14)):
            seq += 1
            engine.apply(Deposit(a, asset, amount, f"{a}{asset}"), seq, seq)
    return engine, seq


def random_command(rng: random.Random, engine: Engine) -> Command:
    account = rng.choice(ACCOUNTS)
    roll = rng.random()
    if roll < 0.2 and engine.orders:
        order = engine.orders[rng.choice(sorted(engine.orders))]
        return CancelOrder(order.account, "SOL_USDC", order_id=order.id)
    side: Side = "Bid" if rng.random() < 0.5 else "Ask"
    if roll < 0.3:
        return PlaceOrder(account, "SOL_USDC", side, "Market", lots=rng.randint(1, 30))
    return PlaceOrder(
        account,
        "SOL_USDC",
        side,
        "Limit",
        lots=rng.randint(1, 20),
        price=15_000 + rng.randint(-8, 8),
        tif=rng.choice(("GTC", "GTC", "GTC", "IOC")),
        client_id=rng.choice((-1, rng.randint(0, 2**31))),
    )


def assert_agrees(model: OpenOrders, engine: Engine) -> None:
    assert set(model.orders) == set(engine.orders) | set(engine.triggers)
    assert {i for ids in model.limit_ids.values() for i in ids} == set(engine.orders)
    assert all(model.limit_ids.values())  # no empty sets kept
    for order in engine.orders.values():
        entry = model.orders[order.id]
        assert (entry.filled_lots, entry.filled_quote) == (order.filled_lots, order.filled_quote)
        assert (entry.placed.account, entry.placed.price, entry.placed.lots, entry.placed.client_id) == (
            order.account,
            order.price,
            order.orig_lots,
            order.client_id,
        )
    for account in ACCOUNTS:
        mine = sorted((o for o in engine.orders.values() if o.account == account), key=lambda o: o.id)
        assert model.resting(account, engine.orders) == mine


def test_fed_model_matches_engine_and_a_fresh_seed() -> None:
    rng = random.Random(7)
    engine, seq = new_engine()
    model = OpenOrders(engine)
    for _ in range(600):
        seq += 1
        events = engine.apply(random_command(rng, engine), seq, seq)
        steps = model.apply(events)
        assert len(steps) == len(events)
        assert_agrees(model, engine)
    seeded = OpenOrders(engine)
    assert seeded.limit_ids == model.limit_ids
    assert {i: (e.filled_lots, e.filled_quote) for i, e in seeded.orders.items()} == {
        i: (e.filled_lots, e.filled_quote) for i, e in model.orders.items()
    }


def test_steps_report_each_order_as_of_its_event() -> None:
    engine, seq = new_engine()
    model = OpenOrders(engine)
    for price in (15_000, 15_001):
        seq += 1
        model.apply(engine.apply(PlaceOrder(1000, "SOL_USDC", "Ask", "Limit", lots=5, price=price), seq, seq))
    seq += 1
    taker = PlaceOrder(1001, "SOL_USDC", "Bid", "Limit", lots=8, price=15_001, client_id=3)
    events = engine.apply(taker, seq, seq)
    steps = model.apply(events)
    lta = engine.market_by_symbol["SOL_USDC"].lot_tick_atoms
    taker_fills = []
    for ev, step in zip(events, steps, strict=True):
        if isinstance(ev, OrderAccepted):
            (accepted,) = step
            assert accepted is not None and accepted.order.placed is ev.order
            assert (accepted.order.id, accepted.filled_lots, accepted.filled_quote) == (ev.order_id, 0, 0)
        elif isinstance(ev, TradeExecuted):
            taker_step, maker_step = step
            assert taker_step is not None and maker_step is not None
            assert taker_step.order.id == ev.taker_order_id and maker_step.order.id == ev.maker_order_id
            taker_fills.append((taker_step.filled_lots, taker_step.filled_quote))
        elif isinstance(ev, OrderClosed):
            (closed,) = step
            assert closed is not None and closed.order.id == ev.order_id
            assert (closed.filled_lots, closed.filled_quote) == (ev.filled_lots, ev.filled_quote_atoms)
            assert ev.order_id not in model.orders
    # cumulative per fill, not the batch's final totals
    assert taker_fills == [(5, 5 * 15_000 * lta), (8, 5 * 15_000 * lta + 3 * 15_001 * lta)]
    assert model.resting(1001, engine.orders) == []  # the taker filled completely
    (resting,) = model.resting(1000, engine.orders)  # the first maker filled completely
    assert resting.price == 15_001 and resting.filled_lots == 3 and model.orders[resting.id].filled_lots == 3
