"""Real clients, unmodified, against a cluster deployment (issue 16, "Done when").

One deployment for the module: the 3-node JetStream cluster (the session's, streams dropped
first), one PostgreSQL database for the read models, a primary ``rucksack serve --journal nats://…
--store postgresql://… --gateways 0 --link 127.0.0.1:0`` and a hot standby (``--standby``, the same
journal, store and flags, its own data dir), and in front of them two independent gateways
(``rucksack gateway --journal nats://… --store postgresql://…``) sharing one port. The clients
only ever talk to that port. ccxt, bpx-py and backpack-exchange-sdk trade there; the primary is
killed with SIGKILL; ccxt, on the same port, sees ``Maintenance`` and ``ExchangeNotAvailable``
(503 ``TRADING_PAUSED``) while the gateways find the new writer, then finds every acknowledged
order and fill (the history is PostgreSQL's, written by the dead primary and continued by the new
writer) and keeps trading; bpx-py and the SDK carry on too.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ccxt
import pytest
from backpack_exchange_sdk.authenticated import AuthenticationClient
from backpack_exchange_sdk.public import PublicClient

from tests.api.conftest import Creds, Server, free_port, sandbox_account
from tests.api.test_bpx_and_sdk import BPX_PYTHON, ROOT
from tests.integration.test_replicated_serve import SEQUENCER, log_of, start, start_gateway, wait_caught_up

pytestmark = pytest.mark.slow
BTC = "BTC/USDC"  # ccxt's market here; bpx-py and the SDK trade SOL_USDC beside it


@dataclass
class Deployment:
    primary: subprocess.Popen[bytes]
    standby: subprocess.Popen[bytes]
    gateways: list[subprocess.Popen[bytes]]
    url: str  # the gateways' one port: the only address clients use
    writer: Server  # for sandbox accounts (the admin token is in the primary's data dir)
    maker: Creds
    taker: Creds
    logs: Path
    acked: dict[str, str] = field(default_factory=dict)  # order id -> status the client was told
    fills: set[tuple[str, str]] = field(default_factory=set)  # (order id, trade id) the taker saw


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, nats_cluster: Any, pg_dsn: str) -> Iterator[Deployment]:
    from rucksack.exchange.replica.link import drop_venue_streams

    drop_venue_streams(nats_cluster.url)  # a fresh venue on the session's cluster
    url = str(nats_cluster.url)
    base = tmp_path_factory.mktemp("cluster")
    port = free_port()
    gateway_url = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        primary, _ = start(base / "a", url, "--store", pg_dsn, *SEQUENCER)
        procs.append(primary)
        wait_caught_up(primary)
        gateways = [start_gateway(base / f"g{i}.log", url, port, "--store", pg_dsn) for i in range(2)]
        procs += gateways
        wait_ok(gateway_url, procs, base)
        writer = Server(gateway_url, base / "a", primary)
        maker = sandbox_account(writer, USDC="100000", BTC="10")
        taker = sandbox_account(writer, USDC="100000")
        standby, _ = start(base / "b", url, "--store", pg_dsn, "--standby", *SEQUENCER)
        procs.append(standby)
        wait_caught_up(standby)
        yield Deployment(primary, standby, gateways, gateway_url, writer, maker, taker, base)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def wait_ok(url: str, procs: list[subprocess.Popen[bytes]], logs: Path, timeout: float = 60.0) -> None:
    """Until the gateways' port says ``Ok`` (linked to a writer)."""
    public = ccxt.backpack({"urls": {"api": {"public": url, "private": url}}})
    deadline = time.monotonic() + timeout
    while True:
        assert all(p.poll() is None for p in procs), (logs / "g0.log").read_text()[-2000:]
        try:
            if public.fetch_status()["status"] == "ok":
                return
        except ccxt.NetworkError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)


def ccxt_client(url: str, creds: Creds | None = None) -> ccxt.backpack:
    config: dict[str, object] = {"urls": {"api": {"public": url, "private": url}}}
    if creds is not None:
        config.update(apiKey=creds.api_key, secret=creds.secret)
    ex = ccxt.backpack(config)
    ex.load_markets()
    return ex


def test_ccxt_trades_through_the_gateways(cluster: Deployment) -> None:
    maker, taker = ccxt_client(cluster.url, cluster.maker), ccxt_client(cluster.url, cluster.taker)
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


def test_bpx_py_and_the_sdk_through_the_gateways(cluster: Deployment) -> None:
    url = cluster.url
    creds = bpx_flow(cluster.writer)
    sdk = AuthenticationClient(*keys(creds), base_url=url + "/")
    assert PublicClient(base_url=url + "/").get_depth("SOL_USDC")["asks"][0] == ["100.50", "20.00"]
    placed = sdk.execute_order("Limit", "Ask", "SOL_USDC", price="111", quantity="1", clientId=9)
    assert placed["status"] == "New"
    assert [o["id"] for o in sdk.get_open_orders(symbol="SOL_USDC")] == [placed["id"]]
    assert sdk.cancel_open_order("SOL_USDC", orderId=placed["id"])["status"] == "Cancelled"
    assert sdk.get_order_history(symbol="SOL_USDC")[0]["id"] == placed["id"]


def bpx_flow(server: Server) -> Creds:
    """bpx-py's whole flow (tests/api/clients/bpx_flow.py) on ``server.url`` against fresh
    liquidity, with a fresh account (returned), sandbox accounts made with ``server``'s admin token."""
    url = server.url
    lp = sandbox_account(server, USDC="10000", SOL="100")  # liquidity bpx_flow.py trades against
    liquidity = AuthenticationClient(*keys(lp), base_url=url + "/")
    liquidity.execute_order("Limit", "Ask", "SOL_USDC", price="100.5", quantity="20")
    liquidity.execute_order("Limit", "Bid", "SOL_USDC", price="99.5", quantity="20")
    creds = sandbox_account(server, USDC="5000", SOL="20")
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
    return creds


def keys(creds: Creds) -> tuple[str, str]:
    return creds.api_key, creds.secret


def test_after_sigkill_the_same_port_has_every_acknowledged_order_and_trades_on(cluster: Deployment) -> None:
    maker = ccxt_client(cluster.url, cluster.maker)
    taker = ccxt_client(cluster.url, cluster.taker)
    killed = time.monotonic()
    cluster.primary.kill()
    cluster.primary.wait()
    statuses = set()
    while True:  # the same port: 503 TRADING_PAUSED (retryable) until the gateways link to the new writer
        try:
            ask = maker.create_order(BTC, "limit", "sell", 0.02, 65000, {"clientOrderId": 99})
            break
        except ccxt.ExchangeNotAvailable:
            assert time.monotonic() - killed < 10, log_of(cluster.standby)[-2000:]
            statuses.add(maker.fetch_status()["status"])  # reads keep working meanwhile
            time.sleep(0.05)
    takeover = time.monotonic() - killed
    assert takeover < 10  # ~1.5 s (the lease's TTL) here; room for a loaded CI machine
    # paused gateways say "maintenance"; the other gateway may already be linked again ("ok")
    assert "maintenance" in statuses and maker.fetch_status()["status"] == "ok"
    assert all(g.poll() is None for g in cluster.gateways)  # the same gateways, relinked
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


def test_bpx_py_and_the_sdk_carry_on_after_the_failover(cluster: Deployment) -> None:
    """After the SIGKILL (the test above), on the same port: the SDK places and cancels an order,
    and bpx-py runs its whole flow against the new writer."""
    creds = cluster.maker
    sdk = AuthenticationClient(*keys(creds), base_url=cluster.url + "/")
    placed = sdk.execute_order("Limit", "Bid", "BTC_USDC", price="50000", quantity="0.01", clientId=11)
    assert placed["status"] == "New"
    assert placed["id"] in {o["id"] for o in sdk.get_open_orders(symbol="BTC_USDC")}
    assert sdk.cancel_open_order("BTC_USDC", orderId=placed["id"])["status"] == "Cancelled"
    # sandbox accounts now with the new writer's admin token (each server's own, in its data dir)
    bpx_flow(Server(cluster.url, cluster.logs / "b", cluster.standby))
