"""Progress bars of long operator commands: drawn on a terminal, silent otherwise."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from rucksack.bench.clock import SimClock
from rucksack.exchange.config import default_config_text
from rucksack.exchange.core.commands import Deposit
from rucksack.exchange.sequencer.datadir import Exchange, init_data_dir


def replay(data_dir: Path, *, terminal: bool) -> tuple[str, str]:
    return run(["replay", "--data-dir", str(data_dir)], terminal=terminal)


def run(args: list[str], *, terminal: bool) -> tuple[str, str]:
    """``rucksack ARGS``'s stdout and stderr, stderr on a pseudo-terminal or a pipe."""
    command = [sys.executable, "-m", "rucksack", *args]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout, done.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=120) == 0
    os.close(master)
    return out, err.decode(errors="replace")


def test_replay_draws_a_bar_on_a_terminal_and_nothing_on_a_pipe(tmp_path: Path) -> None:
    init_data_dir(tmp_path, default_config_text())
    ex = Exchange(tmp_path, SimClock(), fsync=False)
    for i in range(3000):
        ex.sequencer.submit(Deposit(1000, "USDC", 1, f"d{i}"))
    ex.close()
    out, err = replay(tmp_path, terminal=True)
    assert '"seq": 3000' in out and "replay" in err and "3000/" not in err and "cmd" in err
    out, err = replay(tmp_path, terminal=False)
    assert '"seq": 3000' in out and err == ""
    out, err = run(["surveil", "--data-dir", str(tmp_path)], terminal=True)  # market surveillance, the same bar
    assert '"seq": 3000' in out and '"alerts": []' in out and "surveil" in err and "cmd" in err


def test_reserves_snapshot_draws_its_bars_on_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "d"
    init_data_dir(data, default_config_text())
    ex = Exchange(data, SimClock(), fsync=False)
    for i in range(2000):
        ex.sequencer.submit(Deposit(1000 + i % 5, "USDC", 10, f"d{i}"))
    ex.close()
    out, err = run(["reserves", "snapshot", "--data-dir", str(data), "--out", str(tmp_path / "a")], terminal=True)
    assert '"accounts": 5' in out and "recovering" in err and "inclusion proofs" in err and "5/5" in err
    out, err = run(["reserves", "snapshot", "--data-dir", str(data), "--out", str(tmp_path / "b")], terminal=False)
    assert '"accounts": 5' in out and "inclusion proofs" not in err and "recovering:" not in err
