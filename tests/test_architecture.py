"""House rules enforced on the source: a pure core, and products that stay apart."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "rucksack"
CORE = SRC / "exchange" / "core"
FORBIDDEN_IN_CORE = {
    "time",
    "datetime",
    "random",
    "secrets",
    "uuid",
    "os",
    "io",
    "pathlib",
    "socket",
    "select",
    "selectors",
    "asyncio",
    "threading",
    "multiprocessing",
    "concurrent",
    "subprocess",
    "signal",
    "tempfile",
    "shutil",
    "logging",
    "sqlite3",
    "urllib",
    "http",
    "zoneinfo",
    "locale",
}


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_core_imports_only_stdlib_msgspec_and_itself() -> None:
    for path in CORE.rglob("*.py"):
        for name in imports(path):
            top = name.split(".")[0]
            if name.startswith("rucksack."):
                assert name.startswith("rucksack.exchange.core"), f"{path}: imports {name}"
            elif top != "msgspec":
                assert top in sys.stdlib_module_names, f"{path}: imports third-party {name}"
                assert top not in FORBIDDEN_IN_CORE, f"{path}: imports {name} (clock, I/O or randomness)"


def test_core_has_no_floats() -> None:
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), f"{path}: float literal"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"float", "round"}, f"{path}:{node.lineno}: {node.func.id}()"
            if isinstance(node, ast.BinOp):
                assert not isinstance(node.op, ast.Div), f"{path}:{node.lineno}: true division"


def test_products_never_import_the_exchange() -> None:
    for product in ("reserves", "chains", "wallet"):
        for path in (SRC / product).rglob("*.py"):
            for name in imports(path):
                assert not name.startswith("rucksack.exchange"), f"{path}: imports {name}"
