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


def test_bench_journal_prints_acknowledged_rate(tmp_path: Path) -> None:
    out = rucksack("bench", "journal", "--records", "20000", "--dir", str(tmp_path))
    assert out["records"] == 20000 and out["acked_per_s"] > 0 and out["flushes"] >= 1


def test_serve_runs_and_restarts_from_its_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "d"
    proc = subprocess.run(
        [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(data), "--duration", "1.5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout.strip().splitlines()[-1])
    assert status["trades"] > 0 and status["open_orders"] > 0
    first = rucksack("replay", "--data-dir", str(data))
    proc = subprocess.run(
        [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(data), "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and f"recovered seq {first['seq']}" in proc.stderr
    second = rucksack("replay", "--data-dir", str(data))
    assert second["seq"] > first["seq"] and second["invariants"] == "ok"
