"""``rucksack serve --gateways 2``: a gateway killed under load is restarted, and no order it had
acknowledged is lost; an order whose answer never came is applied once or not at all, and a retry
with the same clientId cannot place it twice."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import Server, Signed, sandbox_account, serve_gateways

pytestmark = pytest.mark.slow
LOAD_THREADS = 4


@pytest.fixture(scope="module", name="server")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve_gateways(tmp_path_factory, 2)


def gateway_pids(server: Server) -> set[int]:
    """The server's live gateway processes (children of the sequencer process)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{server.proc.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"rucksack.exchange.gateway" in cmdline and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
                pids.add(int(pid))
    return pids


def wait_for_gateways(server: Server, count: int, gone: int = 0, timeout: float = 60.0) -> set[int]:
    """The ``count`` live gateways, once ``gone`` (a pid just killed) is no longer among them."""
    deadline = time.monotonic() + timeout
    while len(pids := gateway_pids(server)) != count or gone in pids:
        assert time.monotonic() < deadline, f"expected {count} gateways, have {pids}"
        time.sleep(0.1)
    return pids


def place(client: Signed, client_id: int) -> httpx.Response:
    params: dict[str, Any] = {
        "symbol": "SOL_USDC",
        "side": "Bid",
        "orderType": "Limit",
        "price": f"{50 + client_id % 40}",
        "quantity": "0.1",
        "clientId": client_id,
    }
    return client.request("POST", "/api/v1/order", "orderExecute", params)


def open_orders(client: Signed) -> list[dict[str, Any]]:
    response = client.request("GET", "/api/v1/orders", "orderQueryAll", {"symbol": "SOL_USDC"})
    assert response.status_code == 200, response.text
    orders: list[dict[str, Any]] = response.json()
    return orders


def test_reads_and_writes_agree_across_gateways(server: Server) -> None:
    """Each request on its own connection (so on either gateway): a write is visible to the next read."""
    wait_for_gateways(server, 2)
    client = Signed(server.url, sandbox_account(server, USDC="100000"))
    for client_id in range(1, 21):
        placed = place(client, client_id)
        assert placed.status_code == 200, placed.text
        ids = {o["id"] for o in open_orders(client)}
        assert placed.json()["id"] in ids


def test_gateway_killed_under_load_loses_no_acknowledged_order(server: Server) -> None:
    before = wait_for_gateways(server, 2)
    clients = [Signed(server.url, sandbox_account(server, USDC="1000000")) for _ in range(LOAD_THREADS)]
    acked: list[dict[int, str]] = [{} for _ in clients]  # clientId -> order id, per account
    unanswered: list[list[int]] = [[] for _ in clients]  # no answer: applied once or not at all
    stop = threading.Event()

    def load(n: int) -> None:
        client_id = 1000
        while not stop.is_set():
            client_id += 1
            try:
                response = place(clients[n], client_id)
            except httpx.HTTPError:
                unanswered[n].append(client_id)
                continue
            if response.status_code == 200:
                acked[n][client_id] = response.json()["id"]
            else:
                unanswered[n].append(client_id)  # e.g. 503 from a gateway going down

    threads = [threading.Thread(target=load, args=(n,)) for n in range(LOAD_THREADS)]
    for t in threads:
        t.start()

    def wait_for_acks(count: int) -> None:  # however slow a shared host makes each request
        deadline = time.monotonic() + 60
        while sum(len(a) for a in acked) < count:
            assert time.monotonic() < deadline, "the load made no progress"
            time.sleep(0.05)

    try:
        wait_for_acks(4 * LOAD_THREADS)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)  # mid-load: requests are in flight on it
        after = wait_for_gateways(server, 2, gone=victim)
        assert victim not in after and len(after - before) == 1  # a new gateway replaced the killed one
        wait_for_acks(sum(len(a) for a in acked) + 4 * LOAD_THREADS)  # and the pair takes orders again
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)

    for n, client in enumerate(clients):
        # retry every order whose answer never came, with its clientId: placed now, or refused as a
        # duplicate because the first attempt was applied (it rests: the prices never cross)
        for client_id in unanswered[n]:
            retry = place(client, client_id)
            assert retry.status_code == 200 or "clientId" in retry.json()["message"], retry.text
        orders = open_orders(client)
        by_client_id: dict[int, list[str]] = {}
        for order in orders:
            by_client_id.setdefault(order["clientId"], []).append(order["id"])
        for client_id, order_id in acked[n].items():
            assert by_client_id.get(client_id) == [order_id], f"acknowledged order {order_id} lost or doubled"
        for client_id in unanswered[n]:
            assert len(by_client_id.get(client_id, [])) == 1, (
                f"clientId {client_id} applied {by_client_id.get(client_id)}"
            )
        assert len(orders) == len(acked[n]) + len(unanswered[n])
        # every gateway (fresh connections land on either) tells the same story
        for _ in range(6):
            assert {o["id"] for o in open_orders(client)} == {o["id"] for o in orders}


def test_one_gateway_serves_and_restarts(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``--gateways 1``: the same API through a single gateway; killed, it comes back with the state."""
    for srv in serve_gateways(tmp_path_factory, 1):
        (pid,) = wait_for_gateways(srv, 1)
        client = Signed(srv.url, sandbox_account(srv, USDC="100000"))
        placed = place(client, 7)
        assert placed.status_code == 200, placed.text
        os.kill(pid, signal.SIGKILL)
        (new_pid,) = wait_for_gateways(srv, 1, gone=pid)
        assert new_pid != pid
        # connections wait on the listening socket until the new gateway has its state and accepts;
        # an unsigned request first, so the signed read's 5 s window does not pass in that queue
        assert httpx.get(srv.url + "/api/v1/status", timeout=60).status_code == 200
        orders = open_orders(client)
        assert [o["id"] for o in orders] == [placed.json()["id"]]
        cancelled = client.request("DELETE", "/api/v1/order", "orderCancel", {"symbol": "SOL_USDC", "clientId": 7})
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "Cancelled", cancelled.text
        assert open_orders(client) == []


def test_metrics_of_the_gateways_and_of_the_sequencer_behind_them(server: Server) -> None:
    """Behind gateways, ``/metrics`` answers the gateway that took the connection and
    ``/metrics/sequencer`` the writer's registry, where the commands are counted."""
    client = Signed(server.url, sandbox_account(server, USDC="1000"))
    assert place(client, 4242).status_code == 200
    gateway = httpx.get(server.url + "/metrics", timeout=30)
    writer = httpx.get(server.url + "/metrics/sequencer", timeout=30)
    assert gateway.status_code == writer.status_code == 200
    assert "rucksack_http_request_seconds" in gateway.text
    placed = [
        line for line in writer.text.splitlines() if line.startswith('rucksack_commands_total{command="PlaceOrder"}')
    ]
    assert placed and float(placed[0].split()[-1]) >= 1, writer.text[:2000]
