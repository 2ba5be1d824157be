"""The read-model suite both backends pass: every history a client can ask for, built from one
engine's events; idempotent by seq (a replay doubles nothing, the store remembers how far it got);
a second writer fenced off whole; and SQLite and PostgreSQL answering every query alike."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rucksack.exchange.core.commands import (
    ApplyFunding,
    CancelOrder,
    Command,
    CreateAccount,
    PlaceOrder,
    SettlePnl,
    Withdraw,
)
from rucksack.exchange.core.events import Event, FundingPaid
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.store import postgres
from rucksack.exchange.store.postgres import PostgresStore
from rucksack.exchange.store.protocol import ReadModels, Store
from rucksack.exchange.store.sql import StoreFenced
from rucksack.exchange.store.sqlite import SqliteStore
from tests.unit.exchange.core.perps.helpers import SOL, USDC, PerpDriver
from tests.unit.exchange.store.conftest import Opener, ReaderOpener, _empty, wait

PERP = "SOL_USDC_PERP"
Log = list[tuple[int, int, list[Event]]]


class Recorder(PerpDriver):
    """The perps driver, keeping every command's events as released: (seq, ts_us, events)."""

    def __init__(self) -> None:
        super().__init__()
        self.released: Log = []

    def __call__(self, command: Command) -> list[Event]:
        events = super().__call__(command)
        self.released.append((self.seq, self.now, events))
        return events


@pytest.fixture(scope="module")
def venue() -> tuple[ExchangeSpec, Log, list[int]]:
    """A venue's worth of events: accounts and a subaccount, deposits, a withdrawal, spot orders
    (filled, partly filled, cancelled, with and without client ids), a perp position opened, funded
    for three hours, partly closed and settled."""
    d = Recorder()
    a, b, c = (d.new_account(USDC=1_000_000 * USDC, SOL=1_000 * SOL) for _ in range(3))
    d(CreateAccount("savings", parent=a))
    d.index("SOL", "150")
    d(PlaceOrder(a, "SOL_USDC", "Ask", "Limit", lots=500, price=15_010, client_id=7))
    d(PlaceOrder(b, "SOL_USDC", "Bid", "Limit", lots=200, price=15_010, client_id=8))  # partly fills a's
    d(PlaceOrder(b, "SOL_USDC", "Bid", "Limit", lots=100, price=14_900))
    d(CancelOrder(b, "SOL_USDC", order_id=max(d.engine.orders)))
    d(PlaceOrder(c, "SOL_USDC", "Bid", "Market", lots=300))  # fills the rest of a's ask
    d(PlaceOrder(a, PERP, "Ask", "Limit", lots=1_000, price=15_000))
    d(PlaceOrder(b, PERP, "Bid", "Limit", lots=1_000, price=15_000))  # b long 10, a short 10
    d(ApplyFunding(0))
    for hour, price in ((1, "151"), (2, "149"), (3, "152")):
        d.index("SOL", price)
        d(ApplyFunding(hour))
    d(SettlePnl())
    d(PlaceOrder(b, PERP, "Ask", "Limit", lots=400, price=15_100))
    d(PlaceOrder(c, PERP, "Bid", "Limit", lots=400, price=15_100))  # c buys 4 of b's: b's position shrinks
    d(SettlePnl())
    d(Withdraw(c, "USDC", 1_234 * USDC, "w-1"))
    return d.spec, d.released, [a, b, c]


def feed(store: Store, log: Log, every: int = 3) -> None:
    """Project ``log`` in released groups of ``every`` commands, then wait until all is visible."""
    for i, (seq, ts, events) in enumerate(log, 1):
        store.project(seq, ts, events)
        if i % every == 0:
            store.commit()
    store.commit()
    store.wait_visible()


def answers(store: ReadModels, accounts: list[int]) -> dict[str, Any]:
    """Every query's answer (what the API serves), for comparing stores."""

    async def ask() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in accounts:
            out[f"orders {a}"] = await store.order_history(a, limit=1000)
            out[f"fills {a}"] = await store.fills(a, limit=1000, ascending=True)
            out[f"deposits {a}"] = await store.capital(a, "deposit")
            out[f"withdrawals {a}"] = await store.capital(a, "withdrawal")
            out[f"subaccounts {a}"] = await store.subaccounts(a)
            out[f"funding {a}"] = await store.funding_payments(a, ascending=True)
            out[f"settlements {a}"] = await store.settlements(a)
            out[f"positions {a}"] = await store.position_history(a, ascending=True)
        for market in ("SOL_USDC", PERP):
            out[f"trades {market}"] = await store.trades(market)
            out[f"ticker {market}"] = await store.ticker(market, 0)
            out[f"klines {market}"] = await store.klines(market, 60_000_000, 0, 2**62)
            out[f"funding rates {market}"] = await store.funding_rates(market)
            for kind in ("Index", "Mark"):
                out[f"{kind} klines {market}"] = await store.price_klines(market, kind, 60_000_000, 0, 2**62)
        return out

    result = asyncio.run(ask())
    result["sandbox deposits"] = store.deposit_totals("dep-", 10**9)
    result["withdrawn"] = store.withdrawal_debited("w-1"), store.withdrawal_debited("w-2")
    return result


def test_every_history_is_built_from_the_events(open_store: Opener, venue: Any) -> None:
    spec, log, (a, b, c) = venue
    store = open_store(spec)
    feed(store, log)
    assert store.last_seq == store.visible_seq == log[-1][0]
    got = answers(store, [a, b, c])
    statuses = {o["client_id"]: o["status"] for o in got[f"orders {a}"] if o["market"] == "SOL_USDC"}
    assert statuses == {7: "Filled"}
    b_spot = [o for o in got[f"orders {b}"] if o["market"] == "SOL_USDC"]
    assert sorted(o["status"] for o in b_spot) == ["Cancelled", "Filled"]
    assert [(f["lots"], f["client_id"]) for f in got[f"fills {b}"] if f["market"] == "SOL_USDC"] == [(200, 8)]
    assert len(got["trades SOL_USDC"]) == 2 and got["ticker SOL_USDC"]["lots"] == 500
    assert [r["amount"] for r in got[f"withdrawals {c}"]] == [1_234 * USDC]
    assert got["withdrawn"] == (True, False)
    assert got["sandbox deposits"] == {"USDC": 3 * 1_000_000 * USDC, "SOL": 3 * 1_000 * SOL}
    assert [label for label, _ in got[f"subaccounts {a}"].values()] == ["savings"]
    paid = [e for _, _, events in log for e in events if isinstance(e, FundingPaid)]
    payments = [p["quantity"] for acct in (a, b, c) for p in got[f"funding {acct}"]]
    assert payments and sum(q for q in payments if q < 0) == -sum(e.paid for e in paid)
    assert sum(q for q in payments if q > 0) == sum(e.received for e in paid)
    (b_position,) = got[f"positions {b}"]
    assert (b_position["state"], b_position["lots"], b_position["closed_lots"]) == ("Open", 600, 400)
    assert b_position["funding"] == sum(p["quantity"] for p in got[f"funding {b}"])
    assert len(got["funding rates SOL_USDC_PERP"]) == 3
    (whole,) = wait(store.price_klines(PERP, "Index", 2**40, 0, 2**62))  # every minute folded into one
    assert (whole["open"], whole["high"], whole["low"], whole["close"]) == (15_000, 15_200, 14_900, 15_200)
    assert got["Index klines SOL_USDC"] and got["Mark klines SOL_USDC_PERP"]


def test_a_replayed_command_never_doubles_a_row(open_store: Opener, venue: Any) -> None:
    spec, log, accounts = venue
    store = open_store(spec)
    feed(store, log[: len(log) // 2])
    feed(store, log)  # the first half again, then the rest: the first half is skipped
    once = answers(store, accounts)
    store.close()
    reopened = open_store(spec)  # remembers how far it projected
    assert reopened.last_seq == reopened.visible_seq == log[-1][0]
    feed(reopened, log)  # a whole replay from the start: every command skipped
    assert answers(reopened, accounts) == once


def test_a_second_writer_is_refused_whole(open_store: Opener, venue: Any) -> None:
    spec, log, accounts = venue
    first, second = open_store(spec), open_store(spec)  # both continue from seq 0
    feed(first, log)
    written = answers(first, accounts)
    for seq, ts, events in log[:5]:
        second.project(seq, ts, events)
    second.commit()
    second.wait_visible()
    assert isinstance(second.failed, StoreFenced) and second.failed_seq == 1
    assert answers(first, accounts) == written  # nothing of the second writer's landed
    with pytest.raises(RuntimeError):
        second.project(6, 6, [])


def test_a_reader_answers_what_the_writer_made_visible(
    open_store: Opener, open_reader: ReaderOpener, venue: Any
) -> None:
    """A process that only reads (a gateway) holds ``ReadModels``: it sees each batch once the
    writer's ``visible_seq`` covers it, and answers exactly as the writer's own store does."""
    spec, log, accounts = venue
    store = open_store(spec)
    feed(store, log[: len(log) // 2])
    reader = open_reader()
    assert answers(reader, accounts) == answers(store, accounts)
    feed(store, log)
    assert answers(reader, accounts) == answers(store, accounts)
    (row,) = wait(reader.capital(accounts[2], "withdrawal"))
    assert row["amount"] == 1_234 * USDC


def test_sqlite_and_postgresql_answer_every_query_alike(tmp_path: Any, pg_dsn: str, venue: Any) -> None:
    spec, log, accounts = venue
    asyncio.run(_empty(pg_dsn))
    stores: list[Store] = [SqliteStore(tmp_path / "read.sqlite", spec), PostgresStore(pg_dsn, spec)]
    try:
        for store, every in zip(stores, (1, 7), strict=True):  # batch sizes differ too
            feed(store, log, every)
        sqlite, postgres = (answers(s, accounts) for s in stores)
        assert sqlite == postgres
        assert wait(stores[1].fills(accounts[1], limit=1)) == wait(stores[0].fills(accounts[1], limit=1))
    finally:
        for store in stores:
            store.close()


def test_a_standby_sharing_the_store_writes_only_what_the_dead_writer_had_not(
    pg_dsn: str, venue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --standby --store postgresql://...``: the standby projects what it follows but
    writes nothing while the writer lives; when it takes over (``lead``) it writes what the dead
    writer had not -- batches whose boundaries differ from the writer's, one of them straddling the
    writer's last -- and the database ends exactly as one writer would have left it."""
    spec, log, accounts = venue
    monkeypatch.setattr(postgres, "SHADOW_TRIM", 2)  # the standby forgets what the writer wrote as it goes
    asyncio.run(_empty(pg_dsn))
    alone = PostgresStore(pg_dsn, spec)
    feed(alone, log)
    whole = answers(alone, accounts)
    alone.close()
    asyncio.run(_empty(pg_dsn))
    writer = PostgresStore(pg_dsn, spec)
    standby = PostgresStore(pg_dsn, spec, follower=True)
    try:
        cut = 5 * ((len(log) - 4) // 5) + 2  # inside one of the standby's batches of 5 (below)
        feed(writer, log[:cut], every=3)
        at_cut = answers(writer, accounts)
        feed(standby, log, every=5)  # ahead of the writer, in other groups: nothing written
        assert standby.failed is None and standby.visible_seq == log[-1][0]
        assert answers(writer, accounts) == at_cut
        writer.close()  # the writer dies with log[cut:] durable in the stream but not projected
        assert log[cut - 1][0] == cut < len(log)  # the standby's batch 1+5k..5k+5 was written in part
        standby.lead()
        assert standby.failed is None and standby.visible_seq == log[-1][0]
        assert answers(standby, accounts) == whole
        standby.project(log[-1][0] + 1, log[-1][1] + 1, [])  # a writer now: its batches continue the database
        standby.commit()
        standby.wait_visible()
        assert standby.failed is None
    finally:
        writer.close()
        standby.close()
