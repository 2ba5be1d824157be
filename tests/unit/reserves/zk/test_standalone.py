"""The tier (b) verifier stays standalone: stdlib, PyNaCl, py_ecc and its own reserves modules only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ZK = Path(__file__).resolve().parents[4] / "src" / "rucksack" / "reserves" / "zk"
STANDALONE = ["verify.py", "groth16.py", "poseidon.py", "statement.py"]
ALLOWED = {
    "rucksack.reserves",
    "rucksack.reserves.commitments",
    "rucksack.reserves.signing",
    "rucksack.reserves.verify",
    "rucksack.reserves.zk",
    "rucksack.reserves.zk.groth16",
    "rucksack.reserves.zk.poseidon",
    "rucksack.reserves.zk.statement",
}


def test_zk_verifier_imports_only_stdlib_pynacl_py_ecc() -> None:
    for name in STANDALONE:
        for node in ast.walk(ast.parse((ZK / name).read_text(encoding="utf-8"))):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                mods.append(node.module)
            for mod in mods:
                top = mod.split(".")[0]
                ok = top in sys.stdlib_module_names or top in {"nacl", "py_ecc", "__future__"} or mod in ALLOWED
                assert ok, f"zk/{name} imports {mod}"


def test_importing_the_zk_verifier_loads_no_exchange_msgspec_or_py_ecc() -> None:
    code = (
        "import sys, rucksack.reserves.zk.verify\n"
        "print(sorted(m for m in sys.modules if m.startswith(('msgspec', 'rucksack', 'py_ecc'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "msgspec" not in out and "rucksack.exchange" not in out and "py_ecc" not in out
