"""The projector's in-memory client ids: exactly the open orders that have one, the same after
reopening the store, and on every fill row as the orders table has them (both backends)."""

from __future__ import annotations

import random

from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.commands import CancelOrder, Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from tests.unit.exchange.store.conftest import Opener, wait


def test_client_ids_follow_open_orders_and_survive_reopening(open_store: Opener) -> None:
    spec = load_spec_text(default_config_text())
    engine = Engine(spec)
    store = open_store(spec)
    rng = random.Random(3)
    seq = 0

    def run(command: object) -> None:
        nonlocal seq
        seq += 1
        store.project(seq, seq, engine.apply(command, seq, seq))  # type: ignore[arg-type]
        if seq % 7 == 0:  # batches of several commands, as a released group is
            store.commit()

    for a in (1, 2):
        run(Deposit(a, "USDC", 10**13, f"u{a}"))
        run(Deposit(a, "SOL", 10**14, f"s{a}"))
    for i in range(400):
        if i % 5 == 4 and engine.orders:
            order = engine.orders[rng.choice(sorted(engine.orders))]
            run(CancelOrder(order.account, "SOL_USDC", order_id=order.id))
            continue
        run(
            PlaceOrder(
                rng.choice((1, 2)),
                "SOL_USDC",
                rng.choice(("Bid", "Ask")),
                "Limit",
                lots=rng.randint(1, 9),
                price=15_000 + rng.randint(-4, 4),
                client_id=rng.choice((-1, i)),
            )
        )
        expected = {o.id: o.client_id for o in engine.orders.values() if o.client_id >= 0}
        assert store.projector.client_ids == expected  # type: ignore[attr-defined]
    expected = {o.id: o.client_id for o in engine.orders.values() if o.client_id >= 0}
    store.close()
    reopened = open_store(spec)
    assert reopened.projector.client_ids == expected and expected  # type: ignore[attr-defined]
    checked = 0
    for account in (1, 2):
        orders = {r["id"]: r["client_id"] for r in wait(reopened.order_history(account, limit=10**6))}
        for fill in wait(reopened.fills(account, limit=10**6)):
            assert fill["client_id"] == orders[fill["order_id"]]
            checked += 1
    assert checked > 0
