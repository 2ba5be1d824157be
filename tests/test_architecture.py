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


# -- the read view: outside the core, the engine is read only through core/queries.py ----------------

EXCHANGE = SRC / "exchange"
# the composition root builds the engine and hands it on (ARCHITECTURE.md); it is not a reader
READ_VIEW_EXEMPT = {EXCHANGE / "api" / "service.py"}


def read_view_clients() -> list[Path]:
    paths = [*(EXCHANGE / "api").rglob("*.py"), EXCHANGE / "reserves_export.py"]
    return [p for p in paths if p.exists() and p not in READ_VIEW_EXEMPT]


def _is_engine(node: ast.AST, aliases: set[str]) -> bool:
    """``x.engine``, or a name bound to the engine (``engine``, an alias of ``x.engine``, or a
    parameter annotated ``Engine``)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "engine"
    return isinstance(node, ast.Name) and node.id in aliases


def _engine_aliases(tree: ast.AST) -> set[str]:
    aliases = {"engine"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) and node.value.attr == "engine":
            aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.arg) and node.annotation is not None and "Engine" in ast.unparse(node.annotation):
            aliases.add(node.arg)
    return aliases


def read_view_violations(path: Path) -> list[str]:
    """Every place ``path`` reads the engine other than through ``queries``: an attribute read off
    the engine, the engine handed to anything but ``queries.*`` or a function of the same module, a
    private attribute of another object, an import from ``core.engine`` beyond the ``Engine`` type."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = _engine_aliases(tree)
    local = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    name = path.relative_to(SRC) if path.is_relative_to(SRC) else path.name
    out: list[str] = []
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute):
            if _is_engine(node.value, aliases):
                out.append(f"{where}: reads engine.{node.attr} (use core.queries)")
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if private and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                out.append(f"{where}: reads private {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and any(
            _is_engine(a, aliases) for a in [*node.args, *(k.value for k in node.keywords)]
        ):
            f = node.func
            to_queries = isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "queries"
            if not (to_queries or (isinstance(f, ast.Name) and f.id in local)):
                out.append(f"{where}: hands the engine to {ast.unparse(f)} (use core.queries)")
        elif isinstance(node, ast.ImportFrom) and node.module == "rucksack.exchange.core.engine":
            out += [f"{where}: imports {a.name} from core.engine" for a in node.names if a.name != "Engine"]
    return out


def test_api_and_reserves_export_read_the_engine_only_through_queries() -> None:
    clients = read_view_clients()
    assert len(clients) > 10, "the api package moved: point read_view_clients at it"
    problems = [p for path in clients for p in read_view_violations(path)]
    assert not problems, "\n".join(problems)


def test_the_risk_lab_reads_the_engine_only_through_queries() -> None:
    """rucksack.lab (issue 24): only its composition root (venue.py) holds the engine itself."""
    clients = [p for p in (SRC / "lab").rglob("*.py") if p.name != "venue.py"]
    assert len(clients) > 5, "the lab moved: point this test at it"
    problems = [p for path in clients for p in read_view_violations(path)]
    assert not problems, "\n".join(problems)


def test_the_read_view_check_catches_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from rucksack.exchange.core.engine import Engine, FIRST\n"
        "from rucksack.exchange.core.risk.limits import max_borrow\n"
        "def f(service, e: Engine):\n"
        "    eng = service.engine\n"
        "    a = service.engine.orders\n"
        "    b = eng.client_orders\n"
        "    c = e.triggers\n"
        "    d = max_borrow(service.engine, None, 0)\n"
        "    return service.engine._place, service._closing\n",
        encoding="utf-8",
    )
    found = read_view_violations(bad)
    # FIRST; .orders, .client_orders, .triggers, ._place off the engine; max_borrow(engine); two privates
    assert len(found) == 8, found


# -- order statuses: the API and its read store spell them through enums.OrderStatus -----------------


def status_literals(path: Path) -> list[str]:
    """String constants (or SQL string literals inside them) that spell an order status."""
    from rucksack.exchange.core.enums import ORDER_TRANSITIONS

    statuses = set(ORDER_TRANSITIONS)
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if node.value in statuses or any(f"'{s}'" in node.value for s in statuses):
            found.append(f"{path}:{node.lineno}: {node.value!r}")
    return found


def test_api_and_store_spell_order_statuses_through_the_enum() -> None:
    paths = [*(EXCHANGE / "api").rglob("*.py"), EXCHANGE / "store" / "sqlite.py"]
    problems = [p for path in paths for p in status_literals(path)]
    assert not problems, "use enums.OrderStatus:\n" + "\n".join(problems)


def test_the_status_check_catches_literals(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("a = 'New'\nb = \"UPDATE orders SET status = 'Cancelled'\"\nc = 'Newest'\n", encoding="utf-8")
    assert len(status_literals(bad)) == 2
