"""A real ``rucksack serve --store postgresql://...``: order history, fills, trades and capital
come from PostgreSQL through the REST API, each order's fills readable as soon as its response
arrives, exact NUMERIC columns, and a restart (or a rebuild from the journal) that doubles nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.api.conftest import Signed, sandbox_account, start_server

SERVE = ("--no-makers", "--feed", "manual")
ROUNDS = 5


def history(client: Signed) -> dict[str, Any]:
    return {
        "orders": client.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll").json(),
        "fills": client.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll").json(),
        "deposits": client.request("GET", "/wapi/v1/capital/deposits", "depositQueryAll").json(),
    }


def order(client: Signed, **params: Any) -> dict[str, Any]:
    response = client.request("POST", "/api/v1/order", "orderExecute", {"symbol": "SOL_USDC", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _sql(dsn: str, query: str) -> list[Any]:
    con = await asyncpg.connect(dsn)
    try:
        return list(await con.fetch(query))
    finally:
        await con.close()


def sql(dsn: str, query: str) -> list[Any]:
    return asyncio.run(_sql(dsn, query))


def test_history_fills_trades_and_capital_come_from_postgresql(tmp_path: Path, pg_dsn: str) -> None:
    server = start_server(tmp_path / "d", *SERVE, "--store", pg_dsn)
    try:
        maker = Signed(server.url, sandbox_account(server, USDC="100000", SOL="500"))
        taker = Signed(server.url, sandbox_account(server, USDC="100000", SOL="500"))
        for i in range(ROUNDS):  # each order's fills are in the history when its response arrives
            order(maker, orderType="Limit", side="Ask", price="100.5", quantity="1.25")
            taken = order(taker, orderType="Market", side="Bid", quantity="1.25", clientId=i)
            assert taken["status"] == "Filled"
            fills = taker.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll").json()
            assert len(fills) == i + 1 and fills[0]["orderId"] == taken["id"] and fills[0]["clientId"] == str(i)
            orders = taker.request("GET", "/wapi/v1/history/orders", "orderHistoryQueryAll").json()
            assert orders[0]["id"] == taken["id"] and orders[0]["status"] == "Filled"
        order(maker, orderType="Limit", side="Bid", price="90", quantity="2", clientId=77)
        before = {"maker": history(maker), "taker": history(taker)}
        assert len(before["taker"]["fills"]) == ROUNDS and len(before["maker"]["orders"]) == ROUNDS + 1
        assert {Decimal(f["price"]) for f in before["taker"]["fills"]} == {Decimal("100.5")}
        assert {Decimal(f["quantity"]) for f in before["taker"]["fills"]} == {Decimal("1.25")}
        assert sorted(d["symbol"] for d in before["maker"]["deposits"]) == ["SOL", "USDC"]
        trades = httpx.get(server.url + "/api/v1/trades", params={"symbol": "SOL_USDC", "limit": 100}).json()
        assert len(trades) == ROUNDS and {Decimal(t["price"]) for t in trades} == {Decimal("100.5")}
        types = {r["column_name"]: r["data_type"] for r in sql(pg_dsn, "SELECT * FROM information_schema.columns")}
        assert types["amount"] == types["fee"] == types["filled_quote"] == "numeric"
        (row,) = sql(pg_dsn, "SELECT SUM(filled_quote) AS q FROM orders WHERE status = 'Filled'")
        assert row["q"] == 2 * ROUNDS * 125_625_000  # maker and taker: 1.25 SOL at 100.5, in USDC atoms
        (seq,) = sql(pg_dsn, "SELECT value FROM meta WHERE key = 'last_seq'")
        assert seq["value"] > 2 * ROUNDS  # the store remembers how far it projected
    finally:
        server.stop()
    counts = "SELECT (SELECT COUNT(*) FROM orders) o, (SELECT COUNT(*) FROM fills) f, (SELECT COUNT(*) FROM capital) c"
    (written,) = sql(pg_dsn, counts)
    for rebuild in (False, True):
        if rebuild:  # emptied: the next start projects the whole journal again
            sql(pg_dsn, "DROP TABLE meta")
        server = start_server(tmp_path / "d", *SERVE, "--store", pg_dsn)
        maker.url = taker.url = server.url
        try:
            assert {"maker": history(maker), "taker": history(taker)} == before
            assert sql(pg_dsn, counts) == [written]  # nothing doubled
        finally:
            server.stop()


def test_behind_gateways_each_fill_is_in_the_history_when_its_order_is_answered(
    tmp_path: Path, pg_cluster: Any
) -> None:
    """``--gateways 2 --store postgresql://...``: a gateway answers an order once its replica has
    applied it, so the sequencer sends a command to the gateways only once PostgreSQL shows its
    rows: the fills are there, whichever gateway the next request reaches."""
    dsn = pg_cluster.create_database("t_pg_behind_gateways")
    server = start_server(tmp_path / "d", *SERVE, "--store", dsn, "--gateways", "2")
    try:
        maker = Signed(server.url, sandbox_account(server, USDC="100000", SOL="500"))
        taker = Signed(server.url, sandbox_account(server, USDC="100000", SOL="500"))
        order(maker, orderType="Limit", side="Ask", price="100.5", quantity="20")
        for i in range(20):
            taken = order(taker, orderType="Market", side="Bid", quantity="1", clientId=i)
            fills = taker.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll").json()
            assert [f["orderId"] for f in fills[:1]] == [taken["id"]], i
    finally:
        server.stop()
