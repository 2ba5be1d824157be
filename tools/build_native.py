"""Compile the pure core with mypyc into a mirror tree, leaving src/ pure Python.

Usage: python tools/build_native.py [OUT_DIR]   (default: build/native)

The mirror holds a copy of src/rucksack with compiled extension modules beside the .py files;
run anything against it with PYTHONPATH=OUT_DIR. Only modules whose classes are plain Python
(not msgspec structs) are compiled; the rest run as Python inside the mirror.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    "rucksack/exchange/core/orders/placement.py",
    "rucksack/exchange/core/orders/cancel.py",
    "rucksack/exchange/core/capital.py",
    "rucksack/exchange/core/accounts.py",
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
]


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "native").resolve()
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ROOT / "src" / "rucksack", out / "rucksack", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    env = dict(os.environ, MYPYPATH=str(out))
    cmd = [sys.executable, "-m", "mypyc", "--strict", *COMPILED]
    result = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.stderr.write(result.stdout + result.stderr)
        return result.returncode
    shutil.rmtree(out / "build", ignore_errors=True)
    built = sorted(p.name for p in out.rglob("*.so"))
    print(f"native core built in {out}: {len(built)} extension modules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
