"""``rucksack serve --native DIR`` (what ``make run`` starts) serves on the compiled core when the
build in DIR matches the core's sources, and on pure Python otherwise, saying which once at start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rucksack.exchange.native import MANIFEST, source_digest
from tests.api.conftest import Server, start_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
BUILT = ROOT / "build" / "native"  # make native (test-pure runs after it)


def fresh(native: Path) -> bool:
    try:
        return bool(json.loads((native / MANIFEST).read_text(encoding="utf-8"))["digest"] == source_digest())
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture(scope="module")
def native_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's build when it is fresh, else a build made here (about a minute)."""
    if fresh(BUILT):
        return BUILT
    out = tmp_path_factory.mktemp("native")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_native.py"), str(out)], capture_output=True)
    if done.returncode == 2:
        pytest.skip("no C compiler: the compiled core cannot be built here")
    assert done.returncode == 0, done.stderr.decode()
    return out


def core_line(server: Server) -> str:
    """Stop the server and return what it said about its core (exactly one line)."""
    server.stop()
    assert server.proc.stderr is not None
    lines = [ln for ln in server.proc.stderr.read().decode().splitlines() if ln.startswith("rucksack: core: ")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def serve() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()


def test_make_run_serves_on_the_compiled_core(native_dir: Path, tmp_path: Path, serve: list[Server]) -> None:
    server = start_server(tmp_path / "data", "--native", str(native_dir))
    serve.append(server)
    # the makers trade through the compiled engine: a book forms
    depth: dict[str, list[object]] = {"bids": []}
    for _ in range(100):
        depth = httpx.get(server.url + "/api/v1/depth", params={"symbol": "SOL_USDC"}).json()
        if depth["bids"]:
            break
        time.sleep(0.1)
    assert depth["bids"]
    line = core_line(server)
    assert line.startswith("rucksack: core: compiled (mypyc, ")
    assert str(native_dir) in line


def test_without_a_build_it_serves_on_pure_python_and_says_so(tmp_path: Path, serve: list[Server]) -> None:
    missing = tmp_path / "no-build"
    server = start_server(tmp_path / "data", "--native", str(missing), "--no-makers")
    serve.append(server)
    assert httpx.get(server.url + "/api/v1/status").status_code == 200
    assert core_line(server) == (
        f"rucksack: core: pure Python (no compiled core at {missing} (`make native` builds it; it needs a C compiler))"
    )


def test_a_stale_build_is_not_used(native_dir: Path, tmp_path: Path, serve: list[Server]) -> None:
    """A build from other core sources (here: its manifest says so) would run other code: refused."""
    stale = tmp_path / "stale"
    shutil.copytree(native_dir, stale, ignore=shutil.ignore_patterns("rucksack"))  # manifest + shared lib
    manifest = json.loads((stale / MANIFEST).read_text(encoding="utf-8"))
    (stale / MANIFEST).write_text(json.dumps({**manifest, "digest": "0" * 64}), encoding="utf-8")
    server = start_server(tmp_path / "data", "--native", str(stale), "--no-makers")
    serve.append(server)
    assert core_line(server) == (
        f"rucksack: core: pure Python ({stale} is stale: the core's sources changed since it was built (`make native`))"
    )


def test_without_a_c_compiler_the_build_stops_at_once(tmp_path: Path) -> None:
    """``make run`` then serves on pure Python (the case above) instead of failing."""
    env = {**os.environ, "CC": str(tmp_path / "no-such-cc")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_native.py"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no C compiler found" in done.stderr
    assert not (tmp_path / "out" / MANIFEST).exists()
