"""The ``rucksack`` command line, end to end in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rucksack.exchange.sequencer.journal import frame

pytestmark = pytest.mark.slow
ACCOUNTS = 50  # the bench funds each account with 4 deposits before its workload


def rucksack(*args: str, check: bool = True) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "rucksack", *args], capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"stderr": proc.stderr, "code": proc.returncode}


def test_bench_engine_prints_json_and_journal_replays_to_the_same_hash(tmp_path: Path) -> None:
    plain = rucksack(
        "bench", "engine", "--workload", "spot", "--commands", "20000", "--seed", "3", "--accounts", str(ACCOUNTS)
    )
    for key in ("commands", "seconds", "cmds_per_s", "fills", "state_hash"):
        assert key in plain
    assert plain["commands"] == 20000 and plain["fills"] > 1000
    journaled = rucksack(
        "bench",
        "engine",
        "--commands",
        "20000",
        "--seed",
        "3",
        "--accounts",
        str(ACCOUNTS),
        "--data-dir",
        str(tmp_path / "d"),
        "--snapshot-every",
        "7000",
    )
    assert journaled["state_hash"] == plain["state_hash"]
    replayed = rucksack("replay", "--data-dir", str(tmp_path / "d"))
    assert replayed["state_hash"] == plain["state_hash"] and replayed["seq"] == 20000 + 4 * ACCOUNTS
    assert replayed["snapshot_seq"] == 14000 + 4 * ACCOUNTS and replayed["invariants"] == "ok"
    assert (
        rucksack("bench", "engine", "--commands", "20000", "--seed", "4", "--accounts", str(ACCOUNTS))["state_hash"]
        != plain["state_hash"]
    )


def test_sigkill_mid_run_then_torn_tail_replays_to_the_prefix_state(tmp_path: Path) -> None:
    data = tmp_path / "d"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rucksack",
            "bench",
            "engine",
            "--commands",
            "400000",
            "--seed",
            "5",
            "--accounts",
            str(ACCOUNTS),
            "--data-dir",
            str(data),
            "--snapshot-every",
            "25000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    journal = data / "journal.log"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if journal.exists() and journal.stat().st_size > 3_000_000:
            break
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # and as if the machine died mid-write: half a record at the end
    with journal.open("ab") as f:
        f.write(frame(b"\x93\x00" * 40)[:23])
    replayed = rucksack("replay", "--data-dir", str(data))
    assert replayed["torn_tail_bytes"] == 23 and replayed["invariants"] == "ok"
    done = replayed["seq"] - 4 * ACCOUNTS
    assert 0 < done < 400_000
    prefix = rucksack("bench", "engine", "--commands", str(done), "--seed", "5", "--accounts", str(ACCOUNTS))
    assert prefix["state_hash"] == replayed["state_hash"]


def test_replay_refuses_mid_file_corruption_naming_the_offset(tmp_path: Path) -> None:
    data = tmp_path / "d"
    rucksack("bench", "engine", "--commands", "2000", "--seed", "1", "--accounts", "5", "--data-dir", str(data))
    journal = data / "journal.log"
    raw = bytearray(journal.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    journal.write_bytes(bytes(raw))
    out = rucksack("replay", "--data-dir", str(data), check=False)
    assert out["code"] == 2 and "corrupt at byte offset" in out["stderr"]


def ancestry(pid: int) -> list[int]:
    """``pid`` and its parents' pids (Linux /proc)."""
    chain = [pid]
    while pid > 1:
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def test_a_second_server_on_the_same_data_dir_exits_at_once_naming_the_first(tmp_path: Path) -> None:
    from tests.api.conftest import free_port, start_server

    first = start_server(tmp_path / "d", "--no-makers", "--feed", "manual")
    try:
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(tmp_path / "d"), "--port", str(free_port())],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3 and time.monotonic() - started < 30
        holder = json.loads((tmp_path / "d" / "writer.lock").read_text())  # the first server's writer
        assert f"in use by another writer (pid {holder['pid']} on {holder['host']}, started " in second.stderr
        assert first.proc.pid in ancestry(holder["pid"])  # the server, or its writer process
        assert httpx.get(first.url + "/api/v1/status").json()["status"] == "Ok"  # the first one serves on
    finally:
        first.stop()


def test_replay_refuses_a_journal_spliced_from_two_histories(tmp_path: Path) -> None:
    """A copy of the data dir that went on writing is a second history: its records appended to the
    first's have contiguous sequence numbers but go back in time, and replay names where."""
    import shutil

    from rucksack.bench.clock import SimClock
    from rucksack.exchange.config import default_config_text
    from rucksack.exchange.core.commands import Deposit
    from rucksack.exchange.sequencer.datadir import Exchange, init_data_dir
    from rucksack.exchange.sequencer.journal import encode_entry, read_entries, scan

    def write(path: Path, clock: SimClock, refs: range) -> None:
        ex = Exchange(path, clock)
        for i in refs:
            ex.sequencer.submit(Deposit(1000, "USDC", 10 + i, f"tx-{i}"))
        ex.close()

    main, fork = tmp_path / "main", tmp_path / "fork"
    init_data_dir(main, default_config_text())
    write(main, SimClock(), range(5))
    shutil.copytree(main, fork)
    write(main, SimClock(2_000_000_000_000_000), range(5, 10))  # seq 6..10, later
    write(fork, SimClock(), range(100, 107))  # seq 6..12, earlier
    journal = main / "journal.log"
    valid = scan(journal).valid_end
    tail = [e for e in read_entries(fork / "journal.log") if e.seq > 10]
    with journal.open("ab") as f:
        f.write(b"".join(frame(encode_entry(e), 2) for e in tail))
    out = rucksack("replay", "--data-dir", str(main), check=False)
    assert out["code"] == 2
    assert f"journal {journal} is corrupt at byte offset {valid} (seq 11): timestamp goes backwards" in out["stderr"]
    served = subprocess.run(  # recovery at start refuses it the same way, before serving anything
        [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(main), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 2 and f"corrupt at byte offset {valid} (seq 11)" in served.stderr


def test_bench_journal_prints_acknowledged_rate(tmp_path: Path) -> None:
    out = rucksack("bench", "journal", "--records", "20000", "--dir", str(tmp_path))
    assert out["records"] == 20000 and out["acked_per_s"] > 0 and out["flushes"] >= 1


def test_serve_with_demo_makers_shows_live_books_and_trades(tmp_path: Path) -> None:
    from tests.api.conftest import start_server

    server = start_server(tmp_path / "d", "--feed", "manual")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            trades = httpx.get(server.url + "/api/v1/trades?symbol=SOL_USDC").json()
            depth = httpx.get(server.url + "/api/v1/depth?symbol=SOL_USDC").json()
            if trades and depth["bids"] and depth["asks"]:
                break
            time.sleep(0.2)
        assert trades and depth["bids"] and depth["asks"]
        out = rucksack(
            "sandbox",
            "price",
            "--url",
            server.url,
            "--data-dir",
            str(server.data_dir),
            "--symbol",
            "SOL_USDC",
            "--price",
            "170",
        )
        assert out == {"symbol": "SOL_USDC", "price": "170.00"}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            asks = httpx.get(server.url + "/api/v1/depth?symbol=SOL_USDC").json()["asks"]
            if asks and float(asks[0][0]) > 160:
                break
            time.sleep(0.2)
        # the makers' quotes follow the manual price (within the price band of the last trade)
        assert float(httpx.get(server.url + "/api/v1/depth?symbol=SOL_USDC").json()["asks"][-1][0]) > 160
        refused = rucksack(
            "sandbox",
            "price",
            "--url",
            server.url,
            "--data-dir",
            str(tmp_path / "elsewhere"),
            "--symbol",
            "SOL_USDC",
            "--price",
            "1",
            check=False,
        )
        assert refused["code"] != 0 and "no admin token" in refused["stderr"]
    finally:
        server.stop()
