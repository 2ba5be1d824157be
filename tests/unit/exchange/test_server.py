"""``rucksack serve`` loads only what serves, and no library moves its recursion limit.

Each check runs in a fresh interpreter, as ``rucksack serve`` does: py_ecc's import raised the
limit to 100,000 for the whole process, after which nested JSON overflowed the C stack (SIGSEGV).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

WALLET_STACK = ("py_ecc", "eth", "eth_account", "eth_keys", "rucksack.wallet", "rucksack.chains.devnet")


def run_python(code: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_the_serve_command_imports_no_wallet_or_chain_stack() -> None:
    """The path ``rucksack serve`` takes: its parser, then the server module it runs."""
    result = run_python(
        "import json, sys\n"
        "from rucksack.cli import build_parser\n"
        "args = build_parser('serve').parse_args(['serve', '--data-dir', 'x'])\n"
        "import rucksack.exchange.server\n"
        f"heavy = sorted(m for m in sys.modules if m.startswith({WALLET_STACK!r}))\n"
        "print(json.dumps({'heavy': heavy, 'limit': sys.getrecursionlimit(), 'func': args.func.__name__}))\n"
    )
    assert result == {"heavy": [], "limit": 1000, "func": "cmd_serve"}


def test_the_full_command_line_still_offers_every_command() -> None:
    result = run_python(
        "import json\n"
        "from rucksack.cli import build_parser\n"
        "sub = next(a for a in build_parser()._actions if a.dest == 'command')\n"
        "print(json.dumps({'commands': sorted(sub.choices)}))\n"
    )
    assert result == {
        "commands": [
            "audit",
            "bench",
            "chaos",
            "cluster",
            "devnet",
            "gateway",
            "lab",
            "operator",
            "replay",
            "reserves",
            "sandbox",
            "serve",
            "surveil",
            "vault",
            "verify-exchange",
            "wallet",
        ]
    }


def test_no_library_changes_the_servers_recursion_limit() -> None:
    """Custody starts on the first deposit-address request and imports eth-account, hence py_ecc."""
    result = run_python(
        "import json, sys\n"
        "from rucksack.exchange.server import RECURSION_LIMIT, pin_recursion_limit\n"
        "pin_recursion_limit()\n"
        "import py_ecc\n"
        "import rucksack.exchange.custody.service\n"
        "print(json.dumps({'limit': sys.getrecursionlimit(), 'pinned': RECURSION_LIMIT}))\n"
    )
    assert result == {"limit": 1000, "pinned": 1000}


def test_serve_names_a_read_store_it_cannot_use_and_stops(tmp_path: Path) -> None:
    """``--store`` that cannot be used stops the start with one clear line (no traceback, no password)."""
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for store, said in (
        (
            f"postgresql://venue:s3cret@127.0.0.1:{port}/reads",
            f"cannot reach the PostgreSQL read store postgresql://127.0.0.1:{port}/reads",
        ),
        ("mysql://127.0.0.1/reads", "unknown read store 'mysql://127.0.0.1/reads'"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(tmp_path / "d"), "--store", store],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 2 and said in out.stderr, out.stderr
        assert "Traceback" not in out.stderr and "s3cret" not in out.stderr
