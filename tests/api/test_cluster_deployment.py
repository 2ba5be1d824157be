"""Real clients, unmodified, against a cluster deployment (issue 16, "Done when").

One deployment for the module: the 3-node JetStream cluster (the session's, streams dropped
first), one PostgreSQL database for the read models, a primary ``rucksack serve --journal nats://…
--store postgresql://… --gateways 2`` and a hot standby ``--standby`` with the same journal and
the same store, each with its own data dir and port. ccxt, bpx-py and backpack-exchange-sdk trade
on the primary; the standby's warm gateways show the same orders and refuse writes; the primary is
killed with SIGKILL; ccxt on the standby's port then finds every acknowledged order and fill (the
history is PostgreSQL's, written by the dead primary and continued by the new writer) and keeps
trading there.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ccxt
import pytest
from backpack_exchange_sdk.authenticated import AuthenticationClient
from backpack_exchange_sdk.public import PublicClient

from tests.api.conftest import Creds, Server, sandbox_account
from tests.api.test_bpx_and_sdk import BPX_PYTHON, ROOT
from tests.integration.test_replicated_serve import log_of, start, wait_caught_up, wait_serving

pytestmark = pytest.mark.slow
BTC = "BTC/USDC"  # ccxt's market here; bpx-py and the SDK trade SOL_USDC beside it


@dataclass
class Deployment:
    primary: subprocess.Popen[bytes]
    standby: subprocess.Popen[bytes]
    writer_url: str
    standby_url: str
    writer: Server  # for sandbox accounts (the admin token is in its data dir)
    maker: Creds
    taker: Creds
    acked: dict[str, str] = field(default_factory=dict)  # order id -> status the client was told
    fills: set[tuple[str, str]] = field(default_factory=set)  # (order id, trade id) the taker saw


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, nats_cluster: Any, pg_dsn: str) -> Iterator[Deployment]:
    from rucksack.exchange.replica.link import drop_venue_streams

    drop_venue_streams(nats_cluster.url)  # a fresh venue on the session's cluster
    url = str(nats_cluster.url)
    base = tmp_path_factory.mktemp("cluster")
    primary, writer_url = start(base / "a", url, "--store", pg_dsn, "--gateways", "2")
    standby = None
    try:
        wait_serving(primary, writer_url)
        writer = Server(writer_url, base / "a", primary)
        maker = sandbox_account(writer, USDC="100000", BTC="10")
        taker = sandbox_account(writer, USDC="100000")
        standby, standby_url = start(base / "b", url, "--store", pg_dsn, "--standby", "--gateways", "2")
        wait_caught_up(standby)
        wait_serving(standby, standby_url)
        yield Deployment(primary, standby, writer_url, standby_url, writer, maker, taker)
    finally:
        for proc in (primary, standby):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def ccxt_client(url: str, creds: Creds | None = None) -> ccxt.backpack:
    config: dict[str, object] = {"urls": {"api": {"public": url, "private": url}}}
    if creds is not None:
        config.update(apiKey=creds.api_key, secret=creds.secret)
    ex = ccxt.backpack(config)
    ex.load_markets()
    return ex


def test_ccxt_trades_on_the_writer(cluster: Deployment) -> None:
    maker, taker = ccxt_client(cluster.writer_url, cluster.maker), ccxt_client(cluster.writer_url, cluster.taker)
    assert BTC in maker.markets
    assert maker.fetch_balance()["USDC"]["free"] == 100000
    rest = maker.create_order(BTC, "limit", "buy", 0.01, 60000, {"clientOrderId": 7})
    assert rest["status"] == "open"
    assert [o["id"] for o in maker.fetch_open_orders(BTC)] == [rest["id"]]
    assert maker.fetch_order_book(BTC)["bids"][0] == [60000.0, 0.01]
    cancelled = maker.cancel_order(rest["id"], BTC)
    assert cancelled["status"] == "canceled"
    cluster.acked[rest["id"]] = "canceled"
    for _ in range(3):  # fills: a resting ask taken whole by a market buy
        ask = maker.create_order(BTC, "limit", "sell", 0.01, 65000)
        bought = taker.create_order(BTC, "market", "buy", 0.01)
        assert bought["status"] == "closed" and bought["filled"] == 0.01
        cluster.acked[bought["id"]] = cluster.acked[ask["id"]] = "closed"
    resting = maker.create_order(BTC, "limit", "buy", 0.01, 60000, {"clientOrderId": 8})
    cluster.acked[resting["id"]] = "open"
    trades = taker.fetch_my_trades(BTC)
    cluster.fills = {(t["order"], t["id"]) for t in trades}
    assert len(cluster.fills) == 3 and {o for o, _ in cluster.fills} <= set(cluster.acked)
    history = {o["id"]: o["status"] for o in maker.fetch_orders(BTC)}
    assert history[rest["id"]] == "canceled" and history[resting["id"]] == "open"


def test_bpx_py_and_the_sdk_on_the_writer(cluster: Deployment) -> None:
    url = cluster.writer_url
    lp = sandbox_account(cluster.writer, USDC="10000", SOL="100")  # liquidity bpx_flow.py trades against
    liquidity = AuthenticationClient(*keys(lp), base_url=url + "/")
    liquidity.execute_order("Limit", "Ask", "SOL_USDC", price="100.5", quantity="20")
    liquidity.execute_order("Limit", "Bid", "SOL_USDC", price="99.5", quantity="20")
    creds = sandbox_account(cluster.writer, USDC="5000", SOL="20")
    out = subprocess.run(
        [str(BPX_PYTHON), str(ROOT / "tests/api/clients/bpx_flow.py"), url, creds.api_key, creds.secret],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["placed"]["status"] == "New" and r["cancelled"]["status"] == "Cancelled"
    assert r["market"]["status"] == "Filled" and r["fills"][0]["price"] == "99.50"
    assert {h["status"] for h in r["history"]} == {"Cancelled", "Filled"}
    sdk = AuthenticationClient(*keys(creds), base_url=url + "/")
    assert PublicClient(base_url=url + "/").get_depth("SOL_USDC")["asks"][0] == ["100.50", "20.00"]
    placed = sdk.execute_order("Limit", "Ask", "SOL_USDC", price="111", quantity="1", clientId=9)
    assert placed["status"] == "New"
    assert [o["id"] for o in sdk.get_open_orders(symbol="SOL_USDC")] == [placed["id"]]
    assert sdk.cancel_open_order("SOL_USDC", orderId=placed["id"])["status"] == "Cancelled"
    assert sdk.get_order_history(symbol="SOL_USDC")[0]["id"] == placed["id"]


def keys(creds: Creds) -> tuple[str, str]:
    return creds.api_key, creds.secret


def test_the_standby_serves_the_same_orders_and_refuses_writes(cluster: Deployment) -> None:
    maker = ccxt_client(cluster.standby_url, cluster.maker)
    resting = {i for i, status in cluster.acked.items() if status == "open"}
    deadline = time.monotonic() + 5  # the standby's gateways follow a few milliseconds behind
    while {o["id"] for o in maker.fetch_open_orders(BTC)} != resting:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        maker.create_order(BTC, "limit", "buy", 0.01, 60000)


def test_after_sigkill_the_standby_has_every_acknowledged_order_and_trades_on(cluster: Deployment) -> None:
    killed = time.monotonic()
    cluster.primary.kill()
    cluster.primary.wait()
    maker = ccxt_client(cluster.standby_url, cluster.maker)
    taker = ccxt_client(cluster.standby_url, cluster.taker)
    while True:  # a client moves to the standby's port and retries while it answers 503 TRADING_PAUSED
        try:
            ask = maker.create_order(BTC, "limit", "sell", 0.02, 65000, {"clientOrderId": 99})
            break
        except ccxt.ExchangeNotAvailable:
            assert time.monotonic() - killed < 10, log_of(cluster.standby)[-2000:]
            time.sleep(0.05)
    takeover = time.monotonic() - killed
    assert takeover < 10  # ~1.5 s (the lease's TTL) here; room for a loaded CI machine
    # every acknowledged order, with the status the client was told, in the history (PostgreSQL)
    history = {o["id"]: o["status"] for o in maker.fetch_orders(BTC, limit=100)}
    history.update({o["id"]: o["status"] for o in taker.fetch_orders(BTC, limit=100)})
    assert {i: history.get(i) for i in cluster.acked} == cluster.acked
    assert {(t["order"], t["id"]) for t in taker.fetch_my_trades(BTC)} == cluster.fills
    # and trading continues: the new writer fills, projects and answers history
    bought = taker.create_order(BTC, "market", "buy", 0.02)
    assert bought["status"] == "closed" and bought["filled"] == 0.02
    assert bought["id"] in {t["order"] for t in taker.fetch_my_trades(BTC)}
    assert maker.fetch_order(ask["id"], BTC)["status"] == "closed"
    resting = [i for i, status in cluster.acked.items() if status == "open"]
    assert [o["id"] for o in maker.fetch_open_orders(BTC)] == resting
    assert taker.fetch_balance()["BTC"]["total"] == pytest.approx(0.05 * (1 - 0.001))  # 10 bp taker fee
