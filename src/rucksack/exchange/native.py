"""Serving on the mypyc-compiled core when a fresh build of it exists, on pure Python otherwise.

``tools/build_native.py`` (``make native``) compiles the core into ``build/native`` and writes
:data:`MANIFEST` there: the digest of every ``exchange/core/**/*.py`` it compiled from, the
interpreter's cache tag and each compiled module's extension file. :func:`use_compiled` (called by
``rucksack serve --native DIR`` before anything imports the core) installs an import finder that
loads exactly those modules from the build and everything else from the sources in use -- unlike
``PYTHONPATH=build/native``, a build never shadows the API, store or custody code -- but only when
the manifest's digest matches the core's sources now. A missing, stale or unloadable build leaves
the pure-Python core in place. Either way it returns the one line that says which core runs.

Behaviour is the same on both cores (the core's tests run on both: ``make test-native``); the
compiled one is faster (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

MANIFEST = "rucksack-native.json"
CORE_PACKAGE = "rucksack.exchange.core"
PROBE = "rucksack.exchange.core.engine"  # compiled in every build; the line reports on it
CORE_DIR = Path(__file__).resolve().parent / "core"


def source_digest(core_dir: Path = CORE_DIR) -> str:
    """SHA-256 over the core's Python sources (relative path and bytes, in path order)."""
    h = hashlib.sha256()
    for path in sorted(core_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(core_dir).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def write_manifest(out: Path, core_dir: Path) -> dict[str, object]:
    """Record what ``out`` was compiled from and its extension modules (``tools/build_native.py``)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    modules = {}
    for so in sorted(out.rglob("*" + suffix)):
        name = so.relative_to(out).as_posix().removesuffix(suffix).replace("/", ".")
        modules[name] = so.relative_to(out).as_posix()
    manifest: dict[str, object] = {
        "digest": source_digest(core_dir),
        "cache_tag": sys.implementation.cache_tag,
        "modules": modules,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


class CompiledCore(importlib.abc.MetaPathFinder):
    """Finds the build's extension modules by name (the compiled core and mypyc's shared library)."""

    def __init__(self, modules: dict[str, Path]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        file = self.modules.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def running_core() -> str:
    """``compiled`` when the loaded core's engine is an extension module, else ``pure Python``."""
    module = sys.modules.get(PROBE)
    file = str(getattr(module, "__file__", "") or "")
    return "pure Python" if file.endswith(".py") else "compiled"


def build_problem(native_dir: Path) -> tuple[str, dict[str, Path]]:
    """Why the build in ``native_dir`` cannot serve ("" when it can), and its modules by name."""
    manifest_path = native_dir / MANIFEST
    if not manifest_path.is_file():
        return f"no compiled core at {native_dir} (`make native` builds it; it needs a C compiler)", {}
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        modules = {name: native_dir / rel for name, rel in manifest["modules"].items()}
        digest, tag = manifest["digest"], manifest["cache_tag"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"the manifest {manifest_path} is unreadable ({exc})", {}
    if tag != sys.implementation.cache_tag:
        return f"{native_dir} was built for {tag}, this is {sys.implementation.cache_tag}", {}
    if digest != source_digest():
        return f"{native_dir} is stale: the core's sources changed since it was built (`make native`)", {}
    if PROBE not in modules:
        return f"{native_dir} holds no compiled {PROBE}", {}
    return "", modules


def use_compiled(native_dir: Path | None) -> str:
    """Serve on the compiled core in ``native_dir`` when it is fresh; return the line saying which
    core runs (and, on pure Python, why). Call before anything imports the core."""
    if native_dir is None:
        core = running_core() if PROBE in sys.modules else _probe()
        how = "from the import path" if core == "compiled" else "no --native build given"
        return f"core: {core} ({how})"
    if any(name == CORE_PACKAGE or name.startswith(CORE_PACKAGE + ".") for name in sys.modules):
        return f"core: {running_core()} (the core was imported before --native could apply)"
    why, modules = build_problem(native_dir)
    if why:
        return f"core: pure Python ({why})"
    finder = CompiledCore(modules)
    sys.meta_path.insert(0, finder)
    try:
        importlib.import_module(PROBE)
    except ImportError as exc:  # e.g. built against another libpython: fall back, whole
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.startswith(CORE_PACKAGE) or n in modules]:
            del sys.modules[name]
        return f"core: pure Python (the build in {native_dir} does not load: {exc})"
    compiled = sum(1 for name in modules if name.startswith(CORE_PACKAGE + "."))
    return f"core: compiled (mypyc, {compiled} modules from {native_dir})"


def _probe() -> str:
    importlib.import_module(PROBE)
    return running_core()
