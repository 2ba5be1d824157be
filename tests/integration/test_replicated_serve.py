"""``rucksack serve --journal nats://...``: a primary and a hot standby on a real JetStream cluster.

Each runs 2 gateways. The primary acknowledges orders; the standby's warm gateways serve reads of
them and answer writes 503; the primary is killed (SIGKILL) and its gateways exit with it; the
standby takes the lease, accepts orders through the same gateways, holds every acknowledged order,
and its state hash equals a from-scratch replay of the stream.
A second primary while the lease is held refuses to start, naming the holder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.state import state_hash
from rucksack.exchange.replica.node import replay_stream
from tests.api.conftest import Server, Signed, free_port, sandbox_account

ORDER = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "0.1"}


def start(data_dir: Path, url: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    cmd += ["--no-makers", "--feed", "manual", "--journal", url, *extra]
    log = data_dir.with_suffix(".log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out)
    return proc, f"http://127.0.0.1:{port}"


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
