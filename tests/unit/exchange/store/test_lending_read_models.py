"""The borrow/lend read models on both backends: movements, interest, positions and pool rates
built from one engine's events, the same after a restart midway, and SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rucksack.exchange.core.commands import AccrueInterest, BorrowLend, Withdraw
from rucksack.exchange.core.events import InterestPaid
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.store.protocol import ReadModels, Store
from tests.unit.exchange.core.perps.helpers import SOL, USDC
from tests.unit.exchange.store.conftest import Opener, wait
from tests.unit.exchange.store.test_read_models import Log, Recorder, feed


@pytest.fixture(scope="module")
def lending_venue() -> tuple[ExchangeSpec, Log, list[int]]:
    """A lender on autoLend, a borrower who borrows, pays four hours of interest, repays part, then
    all (closing the position) and borrows again (a new position); a withdrawal that redeems."""
    d = Recorder()
    lender = d.new_account(auto_lend=True, USDC=100_000 * USDC)
    borrower = d.new_account(SOL=1_000 * SOL, USDC=100 * USDC)  # USDC to pay the interest with
    d.index("SOL", "150")
    d(AccrueInterest(1))  # sets the interest clock
    d(BorrowLend(borrower, "USDC", "Borrow", 20_000 * USDC))
    for hour in (2, 3, 4, 5):
        d(AccrueInterest(hour))
    d(BorrowLend(borrower, "USDC", "Lend", 5_000 * USDC))  # repays part of the debt
    pool = d.engine.pools[0]
    assert pool is not None
    debt = pool.debt(d.acct(borrower).assets[0].borrow_shares)
    d(BorrowLend(borrower, "USDC", "Lend", debt))  # all of it: closed
    d(BorrowLend(borrower, "USDC", "Borrow", 500 * USDC))  # a new position
    d(AccrueInterest(6))
    d(Withdraw(lender, "USDC", 1_000 * USDC, "w-1"))  # redeems from the lend
    return d.spec, d.released, [lender, borrower]


def answers(store: ReadModels, accounts: list[int]) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in accounts:
            out[f"moves {a}"] = await store.borrow_lend_history(a, limit=1000, ascending=True)
            out[f"interest {a}"] = await store.interest_history(a, limit=1000, ascending=True)
            out[f"positions {a}"] = await store.borrow_lend_positions(a, ascending=True)
        out["rates"] = await store.pool_rates(None, 0)
        return out

    return asyncio.run(ask())


def test_histories_are_built_from_the_events(open_store: Opener, lending_venue: Any) -> None:
    spec, log, (lender, borrower) = lending_venue
    store: Store = open_store(spec)
    feed(store, log)
    moves = wait(store.borrow_lend_history(borrower, limit=100, ascending=True))
    assert [(m["kind"], m["source"]) for m in moves] == [
        ("Borrow", "Manual"),
        ("BorrowRepay", "Manual"),
        ("BorrowRepay", "Manual"),
        ("Borrow", "Manual"),
    ]
    assert moves[2]["position_quantity"] == 0 and moves[3]["position_id"] != moves[0]["position_id"]
    lender_moves = wait(store.borrow_lend_history(lender, limit=100, ascending=True))
    assert [(m["kind"], m["source"]) for m in lender_moves] == [("Lend", "AutoLend"), ("LendRedeem", "Withdrawal")]
    # interest rows: exactly the engine's InterestPaid events, each on its position
    paid = [e for _, _, events in log for e in events if isinstance(e, InterestPaid) and e.account == borrower]
    rows = wait(store.interest_history(borrower, limit=100, ascending=True))
    assert [(r["payment_type"], r["quantity"], r["hour"]) for r in rows] == [
        (e.payment_type, e.quantity, e.hour) for e in paid
    ]
    first, second = wait(store.borrow_lend_positions(borrower, ascending=True))
    assert (first["state"], first["side"], first["quantity"]) == ("Closed", "Borrow", 0)
    assert first["cumulative_interest"] == sum(r["quantity"] for r in rows if r["position_id"] == first["id"]) < 0
    assert first["payments"] == 4 and first["rate_sum_ppb"] > 0
    assert second["state"] == "Open" and second["quantity"] < -500 * USDC  # its entry fee and an hour
    [lend] = wait(store.borrow_lend_positions(lender))
    assert lend["side"] == "Lend" and lend["state"] == "Open" and lend["cumulative_interest"] > 0
    rates = wait(store.pool_rates("USDC", 0))
    assert [r["hour"] for r in rates] == [2, 3, 4, 5, 6]
    assert all(r["borrowed"] > 0 and r["utilization"] > 0 for r in rates)


def test_a_restart_midway_continues_the_open_positions(open_store: Opener, lending_venue: Any) -> None:
    spec, log, accounts = lending_venue
    store = open_store(spec)
    feed(store, log[: len(log) // 2])
    store.close()
    reopened = open_store(spec)
    feed(reopened, log)  # the first half is skipped by seq; the open positions were reloaded
    whole = answers(reopened, accounts)
    assert whole["positions " + str(accounts[1])][0]["state"] == "Closed"
    assert len(whole[f"interest {accounts[1]}"]) == len(
        [e for _, _, evs in log for e in evs if isinstance(e, InterestPaid) and e.account == accounts[1]]
    )


def test_sqlite_and_postgresql_answer_alike(tmp_path: Any, pg_dsn: str, lending_venue: Any) -> None:
    from rucksack.exchange.store.postgres import PostgresStore
    from rucksack.exchange.store.sqlite import SqliteStore
    from tests.unit.exchange.store.conftest import _empty

    spec, log, accounts = lending_venue
    asyncio.run(_empty(pg_dsn))
    lite, pg = SqliteStore(tmp_path / "r.sqlite", spec), PostgresStore(pg_dsn, spec)
    try:
        feed(lite, log)
        feed(pg, log, every=5)
        assert answers(lite, accounts) == answers(pg, accounts)
    finally:
        lite.close()
        pg.close()
