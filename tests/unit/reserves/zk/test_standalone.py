"""The tier (b) verifier stays standalone: stdlib, PyNaCl, py_ecc and its own reserves modules only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[4] / "src"
ZK = SRC / "rucksack" / "reserves" / "zk"
STANDALONE = ["verify.py", "groth16.py", "poseidon.py", "statement.py"]
ALLOWED = {
    "rucksack.reserves",
    "rucksack.reserves.commitments",
    "rucksack.reserves.evm_control",  # stdlib at import; eth-account only when installed (optional)
    "rucksack.reserves.signing",
    "rucksack.reserves.verify",
    "rucksack.reserves.zk",
    "rucksack.reserves.zk.groth16",
    "rucksack.reserves.zk.poseidon",
    "rucksack.reserves.zk.statement",
}


def _imported(node: ast.AST) -> list[str]:
    """The modules an import statement loads: relative ones made absolute (from inside ``zk``), and for
    ``from pkg import name`` also ``pkg.name`` when that is a module of ours (a submodule would
    otherwise slip past the allow-list behind its package's name)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        package = ["rucksack", "reserves", "zk"][: 4 - node.level]
        base = ".".join([*package, base] if base else package)
    out = [base]
    if base.startswith("rucksack"):
        root = SRC.joinpath(*base.split("."))
        out += [f"{base}.{a.name}" for a in node.names if (root / f"{a.name}.py").exists() or (root / a.name).is_dir()]
    return out


def test_zk_verifier_imports_only_stdlib_pynacl_py_ecc() -> None:
    for name in STANDALONE:
        for node in ast.walk(ast.parse((ZK / name).read_text(encoding="utf-8"))):
            for mod in _imported(node):
                top = mod.split(".")[0]
                ok = top in sys.stdlib_module_names or top in {"nacl", "py_ecc", "__future__"} or mod in ALLOWED
                assert ok, f"zk/{name} imports {mod}"


def test_the_allow_list_sees_submodules_and_relative_imports() -> None:
    def mods(code: str) -> list[str]:
        return [m for node in ast.walk(ast.parse(code)) for m in _imported(node)]

    assert mods("from rucksack.reserves import build") == ["rucksack.reserves", "rucksack.reserves.build"]
    assert mods("from . import poseidon") == ["rucksack.reserves.zk", "rucksack.reserves.zk.poseidon"]
    assert mods("from ..tree import x") == ["rucksack.reserves.tree"]
    assert "rucksack.reserves.build" not in ALLOWED


def test_importing_the_zk_verifier_loads_no_exchange_msgspec_or_py_ecc() -> None:
    code = (
        "import sys, rucksack.reserves.zk.verify\n"
        "print(sorted(m for m in sys.modules if m.startswith(('msgspec', 'rucksack', 'py_ecc'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "msgspec" not in out and "rucksack.exchange" not in out and "py_ecc" not in out
