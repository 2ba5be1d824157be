"""Operations (issue 13, finding 7): the server snapshots periodically, so a kill -9 replays only
the journal's tail to the same state hash; the data directory is the owner's alone (0700/0600),
also one left world-readable by an older version."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow
SERVE = ("--no-makers", "--feed", "manual")


def replay(data_dir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "rucksack", "replay", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def recovery_report(server: Server) -> tuple[int, int, int]:
    """(seq, snapshot seq, commands replayed) as the server reported them at start."""
    assert server.proc.stderr is not None
    while True:
        line = server.proc.stderr.readline().decode()
        assert line, "the server never reported its recovery"
        found = re.search(r"recovered seq (\d+) \(snapshot (\d+), (\d+) replayed", line)
        if found:
            return int(found[1]), int(found[2]), int(found[3])


def wait_for_snapshot(data: Path, above: int = 0, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        seqs = [int(p.stem.split("-")[1]) for p in (data / "snapshots").glob("snapshot-*.bin")]
        if seqs and max(seqs) > above:
            return max(seqs)
        assert time.monotonic() < deadline, "no periodic snapshot was written"
        time.sleep(0.1)


def test_periodic_snapshots_make_a_crash_replay_only_the_tail(tmp_path: Path) -> None:
    data = tmp_path / "d"
    server = start_server(data, *SERVE, "--snapshot-every", "20")
    try:
        assert recovery_report(server)[0] == 0
        trader = Signed(server.url, sandbox_account(server, USDC="10000", SOL="100"))
        for price in range(90, 100):  # commands enough for a snapshot (the risk ticks add one a second)
            order = {
                "symbol": "SOL_USDC",
                "side": "Ask",
                "orderType": "Limit",
                "quantity": "1",
                "price": str(price + 10),
            }
            assert trader.request("POST", "/api/v1/order", "orderExecute", order).status_code == 200
        taken = wait_for_snapshot(data)  # written while the server runs, no shutdown involved
        trader.request("DELETE", "/api/v1/orders", "orderCancelAll", {"symbol": "SOL_USDC"})
    finally:
        server.proc.kill()  # kill -9: no shutdown snapshot
        server.proc.wait(timeout=30)
    crashed = replay(data)
    assert crashed["snapshot_seq"] >= taken > 0 and crashed["invariants"] == "ok"
    assert crashed["replayed"] == crashed["seq"] - crashed["snapshot_seq"] < crashed["seq"]
    full = tmp_path / "full"  # the same journal without snapshots: the whole history replayed
    shutil.copytree(data, full)
    shutil.rmtree(full / "snapshots")
    everything = replay(full)
    assert (everything["snapshot_seq"], everything["replayed"]) == (0, crashed["seq"])
    assert everything["state_hash"] == crashed["state_hash"]
    server = start_server(data, *SERVE, "--snapshot-every", "20")
    trader.url = server.url
    try:  # the restart recovers from the periodic snapshot and replays the tail only
        seq, snapshot_seq, replayed = recovery_report(server)
        assert (seq, snapshot_seq, replayed) == (crashed["seq"], crashed["snapshot_seq"], crashed["replayed"])
        assert trader.request("GET", "/api/v1/orders", "orderQueryAll", {"symbol": "SOL_USDC"}).json() == []
    finally:
        server.stop()


def owner_only(data: Path) -> list[str]:
    """Every path under ``data`` (and itself) whose mode is not 0700 (directories) / 0600 (files)."""
    wrong = []
    for path in [data, *data.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode != (0o700 if path.is_dir() else 0o600):
            wrong.append(f"{path.relative_to(data.parent)} {oct(mode)}")
    return wrong


def test_the_data_dir_is_owner_only_and_an_old_one_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "d"
    server = start_server(data, *SERVE, "--snapshot-every", "5")
    try:
        sandbox_account(server, USDC="100")
        wait_for_snapshot(data)
        assert owner_only(data) == []  # while running: journal, snapshots, read.sqlite and its -wal/-shm
    finally:
        server.stop()
    assert owner_only(data) == []
    names = {p.name for p in data.iterdir()}
    assert {"config.toml", "journal.log", "read.sqlite", "admin.token", "snapshots"} <= names
    for path in [data, *data.rglob("*")]:  # as versions before this one left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    server = start_server(data, *SERVE, "--snapshot-every", "5")
    try:
        assert owner_only(data) == []  # tightened at start
        sandbox_account(server, USDC="100")
        wait_for_snapshot(data, above=max(int(p.stem.split("-")[1]) for p in (data / "snapshots").glob("*.bin")))
        assert owner_only(data) == []
    finally:
        server.stop()
    assert owner_only(data) == []
