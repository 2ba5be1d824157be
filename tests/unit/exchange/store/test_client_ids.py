"""The projector's in-memory client ids: exactly the open orders that have one, the same after
reopening the database, and on every fill row as the orders table has them."""

from __future__ import annotations

import random
from pathlib import Path

from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.commands import CancelOrder, Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.store.sqlite import ReadStore


def test_client_ids_follow_open_orders_and_survive_reopening(tmp_path: Path) -> None:
    spec = load_spec_text(default_config_text())
    engine = Engine(spec)
    store = ReadStore(tmp_path / "read.sqlite", spec)
    rng = random.Random(3)
    seq = 0

    def run(command: object) -> None:
        nonlocal seq
        seq += 1
        store.project(seq, seq, engine.apply(command, seq, seq))  # type: ignore[arg-type]
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
        assert store.client_ids == expected
    expected = {o.id: o.client_id for o in engine.orders.values() if o.client_id >= 0}
    assert store.client_ids == expected
    store.close()
    reopened = ReadStore(tmp_path / "read.sqlite", spec)
    assert reopened.client_ids == expected and expected
    mismatched = reopened.db.execute(
        "SELECT COUNT(*), SUM(f.client_id != o.client_id) FROM fills f JOIN orders o ON o.id = f.order_id"
    ).fetchone()
    assert mismatched[0] > 0 and mismatched[1] == 0
    reopened.close()
