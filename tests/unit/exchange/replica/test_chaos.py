"""``rucksack chaos failover``, short: 2 SIGKILLed writers, a killed NATS node, a paused writer.

The real thing end to end (its own cluster, real ``rucksack serve`` processes with no gateways of
their own and 2 independent ``rucksack gateway`` processes on one port in front of them, signed
orders on loopback to that port); the longer runs' figures are in docs/deploy.md (takeover <= 1.67 s
as clients saw it there; this short run allows 5 s, since make test runs other tests on the same
two cores meanwhile). About 30 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_failover_loses_no_acknowledged_order(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "rucksack", "chaos", "failover", "--trials", "2", "--dir", str(tmp_path)]
    out = subprocess.run(
        [*cmd, "--takeover-target", "5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    summary = lines[-1]
    assert [r["trial"] for r in lines[:-1]] == ["kill", "kill", "nats_node", "pause"], out.stderr[-2000:]
    assert summary["acked"] > 0
    assert summary["acked_lost"] == 0
    assert summary["hash_equal"] and summary["seq_twice"] == 0
    assert summary["takeover_s_max"] <= 5.0
    assert summary["nats_node_ok"] and summary["pause_ok"]
    assert summary["ok"] and out.returncode == 0
    pause = lines[3]
    assert pause["old_writer_exit"] == 75 and pause["old_writer_fenced"]
    assert all(r["gateways_kept"] for r in lines[:-1])  # the same 2 gateways served every trial
