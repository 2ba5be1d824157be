"""``rucksack serve --journal nats://...``: a primary and a hot standby on a real JetStream cluster.

The first test: each runs 2 gateways of its own (``--gateways 2``). The primary acknowledges
orders; the standby's warm gateways serve reads of them and answer writes 503 (status
``Maintenance``); the primary is killed (SIGKILL) and its gateways exit with it; the standby takes
the lease, accepts orders through the same gateways, holds every acknowledged order, and its
state hash equals a from-scratch replay of the stream.
A second primary while the lease is held refuses to start, naming the holder. Independent
gateways (``rucksack gateway``) in front of servers with no gateways of their own move to the new
writer after a SIGKILL and after a clean stop (which gives the lease up at once); a fenced writer
leaves no run directory behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.state import state_hash
from rucksack.exchange.replica.node import replay_stream
from tests.api.conftest import Server, Signed, free_port, sandbox_account

ORDER = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "0.1"}


def start(
    data_dir: Path, url: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    cmd += ["--no-makers", "--feed", "manual", "--journal", url, *extra]
    log = data_dir.with_suffix(".log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out, env=env)
    return proc, f"http://127.0.0.1:{port}"


SEQUENCER = ("--gateways", "0", "--link", "127.0.0.1:0")  # no gateways of its own: independent ones


def start_gateway(log: Path, url: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    """``rucksack gateway`` on ``port`` (shared by every gateway started on it), logging to ``log``."""
    cmd = [sys.executable, "-m", "rucksack", "gateway", "--journal", url, "--port", str(port), *extra]
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out)


def status_of(url: str) -> str | None:
    try:
        return str(httpx.get(url + "/api/v1/status", timeout=1).json()["status"])
    except httpx.HTTPError:
        return None


def lease_holder(url: str) -> dict[str, str] | None:
    """The writer lease's value now (None: free)."""
    from rucksack.exchange.replica.lease import Lease
    from rucksack.exchange.replica.link import NatsLink

    link = NatsLink(url, name="rucksack-test")
    try:
        return link.call(Lease(link, "test", "").holder(), 5.0)
    finally:
        link.close()


def log_of(proc: subprocess.Popen[bytes]) -> str:
    data_dir = Path(proc.args[proc.args.index("--data-dir") + 1])  # type: ignore[union-attr,index]
    return data_dir.with_suffix(".log").read_text(errors="replace")


def wait_caught_up(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until the standby has applied the stream up to its end (it says so once)."""
    deadline = time.monotonic() + timeout
    while "caught up" not in log_of(proc):
        assert proc.poll() is None and time.monotonic() < deadline, log_of(proc)[-2000:]
        time.sleep(0.05)


def wait_serving(proc: subprocess.Popen[bytes], url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_of(proc)[-2000:]
        try:
            if httpx.get(url + "/api/v1/status", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(url)


def httpx_serving(url: str) -> bool:
    try:
        return httpx.get(url + "/api/v1/status", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def open_order_ids(client: Signed, at_least: int) -> set[int]:
    """The account's open order ids, once the replica a gateway reads shows ``at_least`` of them
    (a follower's gateway sees an order once the standby has followed and released it)."""
    deadline = time.monotonic() + 5.0
    while True:
        ids = {o["id"] for o in client.request("GET", "/api/v1/orders", "orderQueryAll", ORDER).json()}
        if len(ids) >= at_least or time.monotonic() > deadline:
            return ids
        time.sleep(0.05)


def replay_hash(data_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "rucksack", "replay", "--data-dir", str(data_dir)], capture_output=True, check=True
    )
    return str(json.loads(out.stdout)["state_hash"])


def test_the_standby_takes_over_with_every_acknowledged_order(tmp_path: Path, nats_url: str) -> None:
    primary, url1 = start(tmp_path / "a", nats_url, "--gateways", "2")
    standby = None
    try:
        wait_serving(primary, url1)
        creds = sandbox_account(Server(url1, tmp_path / "a", primary), USDC="100000")
        client = Signed(url1, creds)
        acked = []
        for _ in range(15):
            r = client.request("POST", "/api/v1/order", "orderExecute", ORDER)
            assert r.status_code == 200, r.text
            acked.append(r.json()["id"])
        standby, url2 = start(tmp_path / "b", nats_url, "--standby", "--gateways", "2")
        wait_caught_up(standby)
        wait_serving(standby, url2)  # its gateways are warm: they serve reads ...
        assert status_of(url2) == "Maintenance"  # ... and say that trading is paused there
        client2 = Signed(url2, creds)
        refused = client2.request("POST", "/api/v1/order", "orderExecute", ORDER)
        assert refused.status_code == 503 and refused.json()["code"] == "TRADING_PAUSED", refused.text
        for _ in range(5):  # ... of the orders the primary acknowledges, as the standby follows them
            acked.append(client.request("POST", "/api/v1/order", "orderExecute", ORDER).json()["id"])
        assert set(acked) <= open_order_ids(client2, len(acked))
        killed = time.monotonic()
        primary.kill()
        primary.wait()
        r = client2.request("POST", "/api/v1/order", "orderExecute", ORDER)
        while r.status_code == 503 and time.monotonic() - killed < 10:  # until it takes over
            time.sleep(0.02)
            r = client2.request("POST", "/api/v1/order", "orderExecute", ORDER)
        takeover = time.monotonic() - killed
        assert r.status_code == 200, r.text
        # the target is 3 s (docs/deploy.md); 5 s here leaves room for a loaded CI machine
        # running other tests beside this one
        assert takeover < 5.0, takeover
        assert set(acked) <= open_order_ids(client2, len(acked) + 1)
        assert status_of(url2) == "Ok"  # told by the new writer that it leads (``Role``)
        while httpx_serving(url1):  # the primary's gateways die with it and free its port
            assert time.monotonic() - killed < 5.0, "the killed primary's gateways still serve"
            time.sleep(0.05)
        standby.terminate()
        assert standby.wait(timeout=30) in (0, -15)  # uvicorn re-raises SIGTERM after its clean shutdown
        spec = load_spec_text(default_config_text())
        assert replay_hash(tmp_path / "b") == state_hash(replay_stream(nats_url, spec))
    finally:
        for proc in (primary, standby):
            if proc is not None and proc.poll() is None:
                proc.kill()


def test_a_second_primary_refuses_while_the_lease_is_held(tmp_path: Path, nats_url: str) -> None:
    primary, url1 = start(tmp_path / "a", nats_url)
    try:
        wait_serving(primary, url1)
        second, _ = start(tmp_path / "b", nats_url)
        assert second.wait(timeout=60) == 2
        assert "writer lease is held by" in log_of(second)
    finally:
        primary.kill()


def test_a_new_standby_starts_from_the_replicated_snapshot(tmp_path: Path, nats_url: str) -> None:
    primary, url1 = start(tmp_path / "a", nats_url, "--snapshot-every", "10")
    standby = None
    try:
        wait_serving(primary, url1)
        creds = sandbox_account(Server(url1, tmp_path / "a", primary), USDC="100000")
        client = Signed(url1, creds)
        acked = [client.request("POST", "/api/v1/order", "orderExecute", ORDER).json()["id"] for _ in range(25)]
        time.sleep(2.5)  # the writer uploads its newest snapshot within a second of writing it
        standby, url2 = start(tmp_path / "b", nats_url, "--standby")
        wait_caught_up(standby)
        base = int((tmp_path / "b" / "journal.base").read_text())
        assert base >= 10
        acked += [client.request("POST", "/api/v1/order", "orderExecute", ORDER).json()["id"] for _ in range(5)]
        primary.kill()
        primary.wait()
        wait_serving(standby, url2)
        client2 = Signed(url2, creds)
        open_ids = {o["id"] for o in client2.request("GET", "/api/v1/orders", "orderQueryAll", ORDER).json()}
        assert set(acked) <= open_ids
        standby.terminate()
        standby.wait(timeout=30)
        spec = load_spec_text(default_config_text())
        assert replay_hash(tmp_path / "b") == state_hash(replay_stream(nats_url, spec))
    finally:
        for proc in (primary, standby):
            if proc is not None and proc.poll() is None:
                proc.kill()


def test_independent_gateways_move_to_the_new_writer_and_a_clean_stop_hands_over_at_once(
    tmp_path: Path, nats_url: str
) -> None:
    """Two ``rucksack gateway`` processes on one port in front of a primary and a standby that run
    no gateways of their own. The client only ever talks to that port: across a SIGKILL of the
    writer (writes 503 and status ``Maintenance`` meanwhile, reads keep working, then the new
    writer's) and a SIGTERM of the next one, which gives the lease up as it stops: the standby
    holds it by the time the stopped writer has exited, not a TTL later."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = []
    try:
        primary, _ = start(tmp_path / "a", nats_url, *SEQUENCER)
        procs.append(primary)
        wait_caught_up(primary)
        gateways = [start_gateway(tmp_path / f"g{i}.log", nats_url, port) for i in range(2)]
        procs += gateways
        while status_of(url) != "Ok":
            assert all(p.poll() is None for p in procs), (tmp_path / "g0.log").read_text()[-2000:]
            time.sleep(0.05)
        creds = sandbox_account(Server(url, tmp_path / "a", primary), USDC="100000")
        client = Signed(url, creds)
        acked = [client.request("POST", "/api/v1/order", "orderExecute", ORDER).json()["id"] for _ in range(10)]
        standby, _ = start(tmp_path / "b", nats_url, *SEQUENCER, "--standby")
        procs.append(standby)
        wait_caught_up(standby)
        acked += [client.request("POST", "/api/v1/order", "orderExecute", ORDER).json()["id"] for _ in range(5)]

        # a WebSocket client on one of the two gateways, across the failover
        with connect(url.replace("http://", "ws://") + "/ws") as stream:
            stream.send(json.dumps({"method": "SUBSCRIBE", "params": ["depth.SOL_USDC"]}))
            killed = time.monotonic()
            primary.kill()
            primary.wait()
            seen = set()
            r = client.request("POST", "/api/v1/order", "orderExecute", ORDER)
            while r.status_code == 503:  # TRADING_PAUSED until the gateways are linked to the new writer
                assert r.json()["code"] == "TRADING_PAUSED" and time.monotonic() - killed < 10, r.text
                seen.add(status_of(url))
                orders = client.request("GET", "/api/v1/orders", "orderQueryAll", ORDER)
                assert orders.status_code == 200  # reads keep working from the gateways' replicas
                time.sleep(0.02)
                r = client.request("POST", "/api/v1/order", "orderExecute", ORDER)
            assert r.status_code == 200, r.text
            assert "Maintenance" in seen and status_of(url) == "Ok"
            acked.append(r.json()["id"])
            assert set(acked) <= open_order_ids(client, len(acked))
            assert all(g.poll() is None for g in gateways)  # the same gateway processes, relinked
            replaced = ["replica replaced" in (tmp_path / f"g{i}.log").read_text() for i in range(2)]
            if all(replaced):  # a replica replaced missed events: its WebSocket clients must subscribe again
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        stream.recv(timeout=5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012

        third, _ = start(tmp_path / "c", nats_url, *SEQUENCER, "--standby")
        procs.append(third)
        wait_caught_up(third)
        standby.terminate()
        assert standby.wait(timeout=30) in (0, -15)  # a clean stop, not fenced
        holder = lease_holder(nats_url)  # given up as it stopped: free, or the third one's already
        assert holder is None or holder["writer"] in log_of(third), holder
        r = client.request("POST", "/api/v1/order", "orderExecute", ORDER)
        while r.status_code == 503 and time.monotonic() - killed < 30:
            time.sleep(0.02)
            r = client.request("POST", "/api/v1/order", "orderExecute", ORDER)
        assert r.status_code == 200, r.text
        assert set(acked) <= open_order_ids(client, len(acked) + 1)
        spec = load_spec_text(default_config_text())
        third.terminate()
        third.wait(timeout=30)
        assert replay_hash(tmp_path / "c") == state_hash(replay_stream(nats_url, spec))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_a_fenced_writer_leaves_no_run_directory(tmp_path: Path, nats_url: str) -> None:
    """SIGSTOP the writer past its lease, let the standby take over, SIGCONT: the old writer finds
    itself fenced and exits 75, removing its private run directory (link and API sockets) first."""
    runs = tmp_path / "tmp"
    runs.mkdir()
    env = dict(os.environ, TMPDIR=str(runs))
    primary, _ = start(tmp_path / "a", nats_url, *SEQUENCER, env=env)
    standby = None
    try:
        wait_caught_up(primary)
        while not any(runs.iterdir()):  # its run directory is there while it serves
            assert primary.poll() is None, log_of(primary)[-2000:]
            time.sleep(0.05)
        standby, _ = start(tmp_path / "b", nats_url, *SEQUENCER, "--standby")
        wait_caught_up(standby)
        primary.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 20
        while "took over" not in log_of(standby):
            assert time.monotonic() < deadline, log_of(standby)[-2000:]
            time.sleep(0.05)
        primary.send_signal(signal.SIGCONT)
        assert primary.wait(timeout=20) == 75
        assert "fenced" in log_of(primary)
        assert list(runs.iterdir()) == []
    finally:
        for proc in (primary, standby):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
