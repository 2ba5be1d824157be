"""The Node tool chain (circom2, snarkjs) and the cached circuit artifacts of tier (b).

Where things are (each overridable by an environment variable):

- ``RUCKSACK_ZK_BUILD`` — the build directory, default ``<repo>/build/zk`` (git-ignored).
- ``RUCKSACK_ZK_NODE_MODULES`` — default ``<build>/node/node_modules``, installed by ``make setup``
  from ``tools/zk/package.json`` + ``package-lock.json`` (``npm ci``: exact, locked versions).
- ``RUCKSACK_ZK_PTAU`` — the prepared powers-of-tau file, default ``<repo>/../shared/zk/pot14_final.ptau``,
  then the team machines' ``/work/shared/zk/``, else one generated once per machine into
  ``<build>/ptau/`` with snarkjs (``local_ptau``; slow: ``prepare phase2`` takes minutes). All
  were made locally for tests; production must use a public ceremony's file (docs/reserves.md).

Artifacts live in ``<build>/circuits/<key>/`` where ``key`` hashes the circuit sources, the
parameters, the tool versions and the ptau file, so any change rebuilds and an unchanged circuit is
compiled and set up once per machine. Building takes a lock (``<key>.lock``) so parallel test
workers wait for one build instead of racing.

The phase-2 setup here is ``groth16 setup`` plus ONE local contribution with fresh random entropy:
whoever ran it could forge proofs if they kept that entropy. It is fine for tests and demos only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rucksack.reserves.zk import statement as st

_HERE = Path(__file__).resolve().parent
CIRCUITS = _HERE / "circuits"
PROVER_JS = _HERE / "prove.js"
REPO = _HERE.parents[3]
MAX_CONSTRAINTS_LOG2 = st.MAX_CONSTRAINTS_LOG2  # the provided ptau's power
SHARED_PTAU = Path("/work/shared/zk/pot14_final.ptau")  # the team machines' shared folder
SETUP_NOTE = (
    "LOCAL TEST SETUP: pot14_final.ptau made locally and a single local phase-2 contribution; "
    "whoever ran it could forge proofs. Production needs a public ceremony ptau and phase-2 "
    "contributions from independent parties (docs/reserves.md)."
)

Progress = Callable[[str], None]


class ToolchainError(RuntimeError):
    """Node, the npm packages or the ptau file are missing, or a tool failed."""


def build_root() -> Path:
    return Path(os.environ.get("RUCKSACK_ZK_BUILD") or REPO / "build" / "zk")


def node_modules() -> Path:
    path = Path(os.environ.get("RUCKSACK_ZK_NODE_MODULES") or build_root() / "node" / "node_modules")
    for package in ("circom2", "snarkjs", "circomlib"):
        if not (path / package / "package.json").exists():
            raise ToolchainError(
                f"npm package {package!r} not found in {path}: run `make setup`"
                " (npm ci from tools/zk/package-lock.json)"
            )
    return path


def ptau_path() -> Path:
    """The prepared powers-of-tau file: ``RUCKSACK_ZK_PTAU``, else the shared test file beside the
    repository, else a test-only file generated once per machine into the build directory."""
    explicit = os.environ.get("RUCKSACK_ZK_PTAU")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise ToolchainError(f"powers-of-tau file not found at {path} (RUCKSACK_ZK_PTAU)")
        return path
    for shared in (REPO.parent / "shared" / "zk" / "pot14_final.ptau", SHARED_PTAU):
        if shared.exists():
            return shared
    return local_ptau()


def local_ptau() -> Path:
    """Generate (once, under a lock) a 2^14 powers-of-tau with one local contribution using
    snarkjs: ``powersoftau new`` -> ``contribute`` (fresh random entropy) -> ``prepare phase2``.
    Like the shared file it is for tests only: whoever made it could forge proofs."""
    root = build_root() / "ptau"
    final = root / f"pot{MAX_CONSTRAINTS_LOG2}_local.ptau"
    if final.exists():
        return final
    with _locked(root / "ptau.lock"):
        if final.exists():
            return final
        snarkjs = str(node_modules() / "snarkjs" / "build" / "cli.cjs")
        exe = node()
        work = root / f"tmp-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        power = str(MAX_CONSTRAINTS_LOG2)
        _run([exe, snarkjs, "powersoftau", "new", "bn128", power, "p0.ptau"], work, "powersoftau new")
        entropy = secrets.token_hex(32)
        _run(
            [exe, snarkjs, "powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=local", f"-e={entropy}"],
            work,
            "powersoftau contribute",
        )
        _run([exe, snarkjs, "powersoftau", "prepare", "phase2", "p1.ptau", "final.ptau"], work, "prepare phase2")
        (work / "final.ptau").rename(final)
        shutil.rmtree(work, ignore_errors=True)
    return final


def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        raise ToolchainError("`node` is not on PATH (Node.js >= 18 is needed for tier (b))")
    return exe


def _version(modules: Path, package: str) -> str:
    return str(json.loads((modules / package / "package.json").read_text())["version"])


@dataclass(frozen=True)
class Artifacts:
    directory: Path
    wasm: Path
    zkey: Path
    vkey: Path
    r1cs: Path
    info: dict[str, Any]  # constraints, tool versions, timings, setup note

    def verification_key(self) -> dict[str, Any]:
        vkey: dict[str, Any] = json.loads(self.vkey.read_text())
        return vkey


def _main_source(shape: st.Shape) -> str:
    return (
        "pragma circom 2.1.0;\n"
        'include "por_batch.circom";\n'
        f"component main {{public [ccoef, dcoef]}} = PorBatch({shape.log_batch}, {shape.assets});\n"
    )


def circuit_key(modules: Path, ptau: Path, shape: st.Shape) -> str:
    h = hashlib.sha256()
    for path in sorted(CIRCUITS.glob("*.circom")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(_main_source(shape).encode())
    for package in ("circom2", "snarkjs", "circomlib"):
        h.update(f"{package}@{_version(modules, package)}\0".encode())
    h.update(_file_digest(ptau).encode())
    return h.hexdigest()[:20]


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(args: list[str], cwd: Path, what: str) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ToolchainError(f"{what} failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
    return done.stdout + done.stderr


def _load(directory: Path) -> Artifacts:
    info = json.loads((directory / "info.json").read_text())
    return Artifacts(
        directory=directory,
        wasm=directory / "main_js" / "main.wasm",
        zkey=directory / "main_final.zkey",
        vkey=directory / "verification_key.json",
        r1cs=directory / "main.r1cs",
        info=info,
    )


def ensure_artifacts(shape: st.Shape, progress: Progress | None = None) -> Artifacts:
    """Compile, set up and cache the batch circuit of ``shape`` if needed; return its artifacts."""
    say = progress or (lambda _m: None)
    modules = node_modules()
    ptau = ptau_path()
    exe = node()
    key = circuit_key(modules, ptau, shape)
    root = build_root() / "circuits"
    final = root / key
    if (final / "info.json").exists():
        return _load(final)
    with _locked(root / f"{key}.lock"):
        if (final / "info.json").exists():  # another process built it while we waited
            return _load(final)
        work = root / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for path in CIRCUITS.glob("*.circom"):
            shutil.copy(path, work / path.name)
        (work / "main.circom").write_text(_main_source(shape))
        # circom2 runs under WASI and only sees paths below its working directory: run it from the
        # common ancestor of the build and node_modules directories, with relative paths.
        base = Path(os.path.commonpath([work.resolve(), modules.resolve()]))
        rel_work = os.path.relpath(work.resolve(), base)
        rel_mods = os.path.relpath(modules.resolve(), base)
        timings: dict[str, float] = {}

        includes = ["--O2", "--r1cs", "--wasm", "-l", rel_mods, "-l", rel_work, "-o", rel_work]
        started = time.perf_counter()
        say(f"compiling the batch circuit ({shape.batch} accounts x {shape.assets} assets) with circom2")
        out = _run(
            [exe, str(modules / "circom2" / "cli.js"), f"{rel_work}/main.circom", *includes],
            base,
            "circom2",
        )
        timings["compile_s"] = round(time.perf_counter() - started, 2)
        counts = {k: int(v) for k, v in re.findall(r"(non-linear constraints|linear constraints): (\d+)", out)}
        constraints = counts.get("non-linear constraints", 0) + counts.get("linear constraints", 0)
        if not constraints or constraints > 1 << MAX_CONSTRAINTS_LOG2:
            raise ToolchainError(f"circuit has {constraints} constraints; the ptau allows 2**{MAX_CONSTRAINTS_LOG2}")
        say(f"{constraints} constraints, compiled in {timings['compile_s']} s; Groth16 setup (phase 2)")

        snarkjs = [exe, str(modules / "snarkjs" / "build" / "cli.cjs")]
        started = time.perf_counter()
        _run([*snarkjs, "groth16", "setup", "main.r1cs", str(ptau.resolve()), "main_0000.zkey"], work, "groth16 setup")
        timings["setup_s"] = round(time.perf_counter() - started, 2)
        say(f"setup in {timings['setup_s']} s; one local phase-2 contribution (TEST ONLY)")
        started = time.perf_counter()
        entropy = secrets.token_hex(32)
        _run(
            [
                *snarkjs,
                "zkey",
                "contribute",
                "main_0000.zkey",
                "main_final.zkey",
                "--name=rucksack local",
                f"-e={entropy}",
            ],
            work,
            "zkey contribute",
        )
        timings["contribute_s"] = round(time.perf_counter() - started, 2)
        _run(
            [*snarkjs, "zkey", "export", "verificationkey", "main_final.zkey", "verification_key.json"], work, "export"
        )
        (work / "main_0000.zkey").unlink()
        info = {
            "key": key,
            "circuit": st.CIRCUIT_NAME,
            "log_batch": shape.log_batch,
            "assets": shape.assets,
            "constraints": constraints,
            "circom2": _version(modules, "circom2"),
            "snarkjs": _version(modules, "snarkjs"),
            "circomlib": _version(modules, "circomlib"),
            "ptau_sha256": _file_digest(ptau),
            "setup": SETUP_NOTE,
            "timings": timings,
        }
        (work / "info.json").write_text(json.dumps(info, indent=2) + "\n")
        say(f"contributed in {timings['contribute_s']} s; artifacts cached in {final}")
        work.rename(final)
    return _load(final)
