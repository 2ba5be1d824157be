"""Compile the pure core with mypyc into a mirror tree, leaving src/ pure Python.

Usage: python tools/build_native.py [OUT_DIR]           (default: build/native)
       python tools/build_native.py --check [OUT_DIR]   exit 0 when OUT_DIR matches the core's
                                                         sources, else 1 with the reason
       python tools/build_native.py --sync [OUT_DIR]    copy src/rucksack's current Python files
                                                         over the mirror (its extensions stay)

The mirror holds a copy of src/rucksack with compiled extension modules beside the .py files;
run anything against it with PYTHONPATH=OUT_DIR. Only modules whose classes are plain Python
(not msgspec structs) are compiled; the rest run as Python inside the mirror.

OUT_DIR/rucksack-native.json records the digest of the core's sources it was compiled from and
the extension modules: ``rucksack serve --native OUT_DIR`` (``make run``) loads just those, and
only while the digest still matches (rucksack.exchange.native). Without a C compiler the build
stops at once with status 2 (``make run`` then serves on the pure-Python core).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPILED = [
    "rucksack/exchange/core/numeric.py",
    "rucksack/exchange/core/enums.py",
    "rucksack/exchange/core/book/order.py",
    "rucksack/exchange/core/book/side.py",
    "rucksack/exchange/core/book/matching.py",
    "rucksack/exchange/core/ledger/balances.py",
    "rucksack/exchange/core/exchange_state.py",
    "rucksack/exchange/core/engine.py",
    "rucksack/exchange/core/ledger/operations.py",
    "rucksack/exchange/core/risk/checks.py",
    "rucksack/exchange/core/orders/resting.py",
    "rucksack/exchange/core/orders/fills.py",
    "rucksack/exchange/core/tiers/volume.py",  # each fill's fee-tier volume (per fill side)
    "rucksack/exchange/core/orders/placement.py",
    "rucksack/exchange/core/orders/cancel.py",
    "rucksack/exchange/core/capital.py",
    "rucksack/exchange/core/accounts.py",
    "rucksack/exchange/core/conversion.py",
    "rucksack/exchange/core/lending/commands.py",
    "rucksack/exchange/core/prices.py",
    "rucksack/exchange/core/market_state.py",
    "rucksack/exchange/core/lending/pool.py",
    "rucksack/exchange/core/perps/position.py",
    "rucksack/exchange/core/perps/funding.py",
    "rucksack/exchange/core/perps/settlement.py",
    "rucksack/exchange/core/liquidation/sweep.py",
    "rucksack/exchange/core/risk/margin.py",
    "rucksack/exchange/core/risk/limits.py",
    "rucksack/exchange/core/growth/handlers.py",  # observe: every command with trades (docs/performance.md)
    "rucksack/exchange/core/growth/points.py",
    "rucksack/exchange/core/growth/affiliates.py",
]


def c_compiler() -> str | None:
    """The C compiler setuptools would call (``CC``, else the one Python was built with)."""
    cc = os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc")
    return shutil.which(cc.split()[0]) if cc.split() else None


def check(out: Path) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from rucksack.exchange.native import build_problem

    problem, _ = build_problem(out)
    if problem:
        sys.stderr.write(f"build_native: {problem}\n")
    return 1 if problem else 0


def sync(out: Path) -> int:
    """Bring the mirror's pure-Python files up to date (``PYTHONPATH=OUT_DIR`` runs them: make
    test-native, make bench). The compiled modules' .py copies are overwritten too, harmlessly: an
    extension module is found before a source file of the same name, and a changed core source
    fails --check, which rebuilds everything."""
    ignore = shutil.ignore_patterns("__pycache__", "*.so")
    shutil.copytree(ROOT / "src" / "rucksack", out / "rucksack", ignore=ignore, dirs_exist_ok=True)
    return 0


def main() -> int:
    args = sys.argv[1:]
    if args[:1] in (["--check"], ["--sync"]):
        out_dir = Path(args[1] if len(args) > 1 else ROOT / "build" / "native").resolve()
        return check(out_dir) if args[0] == "--check" else sync(out_dir)
    out = Path(args[0] if args else ROOT / "build" / "native").resolve()
    started = time.monotonic()
    if out.exists():
        shutil.rmtree(out)
    if c_compiler() is None:
        sys.stderr.write("build_native: no C compiler found (set CC or install one): the core stays pure Python\n")
        return 2
    shutil.copytree(ROOT / "src" / "rucksack", out / "rucksack", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    env = dict(os.environ, MYPYPATH=str(out))
    cmd = [sys.executable, "-m", "mypyc", "--strict", *COMPILED]
    result = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.stderr.write(result.stdout + result.stderr)
        return result.returncode
    shutil.rmtree(out / "build", ignore_errors=True)
    sys.path.insert(0, str(ROOT / "src"))
    from rucksack.exchange.native import write_manifest

    # the digest of the copy mypyc compiled, not of src/: a core file edited during the build
    # must leave the build stale, not stamped with the edit it never saw
    manifest = write_manifest(out, out / "rucksack" / "exchange" / "core")
    modules = manifest["modules"]
    assert isinstance(modules, dict)
    core = sum(1 for name in modules if name.startswith("rucksack."))
    print(f"native core built in {out}: {core} compiled modules in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
