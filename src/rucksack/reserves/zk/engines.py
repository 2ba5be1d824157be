"""Groth16 proving engines for tier (b): snarkjs, or arkworks natively; parallel and resumable.

- ``snarkjs``: ``prove.js`` in mode ``prove`` (snarkjs 0.7.6 computes the witness and the proof;
  it already spreads one proof over the cores with its own worker threads, so one worker).
- ``arkworks``: ``prove.js`` in mode ``witness`` (snarkjs' witness calculator, the circuit's own
  wasm) and the arkworks Groth16 prover of ``groth16py`` (optional extra ``zk-native``, pinned),
  with the SAME zkey (``import_zkey``: the ceremony's key, no new setup). One proof uses one core,
  so one worker per core. Its proofs are snarkjs' JSON and verify with the same verification key
  (tests check them with the standalone verifier and with snarkjs).
- ``auto``: ``arkworks`` when ``groth16py`` is importable, else ``snarkjs``.

Every worker is a process owning one long-lived Node process (and, for arkworks, the proving
key), so the wasm and the zkey are read once per worker, not once per batch.

Resume: with ``work_dir``, each proved batch is written to ``work_dir/batch-NNNNNNN.json`` as soon
as it is proved (atomically: written beside, then renamed), tagged with the sha256 of the circuit
key and the batch's exact circuit input. A rerun with the same snapshot secret and liabilities
finds the same tags and proves only the missing batches; a changed input never reuses a proof.
The work directory holds proofs and hashes only (no balances).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from rucksack.reserves.zk.toolchain import PROVER_JS, Artifacts, ToolchainError, node, node_modules

Progress = Callable[[str], None]
ENGINES = ("snarkjs", "arkworks")
NATIVE_PACKAGE = "groth16py"


class NoWitness(ValueError):
    """The circuit has no witness for a batch's input (a constraint fails)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"batch {index}: {message}")
        self.index = index
        self.message = message


def native_available() -> bool:
    try:
        import groth16py  # noqa: F401
    except ImportError:
        return False
    return True


def choose(name: str) -> str:
    if name == "auto":
        return "arkworks" if native_available() else "snarkjs"
    if name not in ENGINES:
        raise ToolchainError(f"unknown prover {name!r} (have auto, {', '.join(ENGINES)})")
    if name == "arkworks" and not native_available():
        raise ToolchainError(f"the arkworks prover needs {NATIVE_PACKAGE} (pip install 'rucksack[zk-native]')")
    return name


def default_workers(engine: str) -> int:
    cores = os.cpu_count() or 1
    return 1 if engine == "snarkjs" else cores


def describe(engine: str) -> str:
    if engine == "arkworks":
        return f"arkworks via {NATIVE_PACKAGE} {metadata.version(NATIVE_PACKAGE)} (witness: snarkjs)"
    return "snarkjs"


# --- inside a worker process ------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(engine: str, wasm: str, zkey: str, modules: str, exe: str, tmp: str) -> None:
    mode = "prove" if engine == "snarkjs" else "witness"
    proc = subprocess.Popen(
        [exe, str(PROVER_JS), modules, mode, wasm, zkey],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    _worker.update(engine=engine, proc=proc, tmp=tmp)
    if engine == "arkworks":
        import groth16py

        _worker["pk"] = groth16py.import_zkey(zkey)[0]


def _ask(request: dict[str, Any]) -> dict[str, Any]:
    proc: subprocess.Popen[str] = _worker["proc"]
    stdin: IO[str] | None = proc.stdin
    stdout: IO[str] | None = proc.stdout
    assert stdin is not None and stdout is not None
    stdin.write(json.dumps(request) + "\n")
    stdin.flush()
    line = stdout.readline()
    if not line:
        raise ToolchainError(f"the Node prover exited ({proc.poll()})")
    answer: dict[str, Any] = json.loads(line)
    return answer


def _prove_one(index: int, circuit_input: dict[str, Any], n_public: int) -> dict[str, Any]:
    started = time.perf_counter()
    if _worker["engine"] == "snarkjs":
        answer = _ask({"index": index, "input": circuit_input})
        answer["ms"] = round((time.perf_counter() - started) * 1000)
        return answer
    wtns = os.path.join(_worker["tmp"], f"{index}.wtns")
    answer = _ask({"index": index, "input": circuit_input, "wtns": wtns})
    if "error" in answer:
        return answer
    import groth16py

    witness_ms, cpu = answer["ms"], time.process_time()
    try:
        blob = groth16py.prove_wtns(_worker["pk"], wtns)
        public = [str(x) for x in wtns_public(Path(wtns), n_public)]
    finally:
        os.unlink(wtns)
    return {
        "index": index,
        "proof": proof_from_bytes(blob),
        "public": public,
        "ms": round((time.perf_counter() - started) * 1000),
        "witness_ms": witness_ms,
        "witness_cpu_ms": answer["cpu_ms"],
        "cpu_ms": answer["cpu_ms"] + round((time.process_time() - cpu) * 1000),
    }


def proof_from_bytes(blob: bytes) -> dict[str, Any]:
    """groth16py's 256-byte proof (Ethereum order: A.x A.y B.x1 B.x0 B.y1 B.y0 C.x C.y) -> snarkjs JSON."""
    if len(blob) != 256:
        raise ToolchainError(f"a Groth16 proof is 256 bytes, got {len(blob)}")
    n = [str(int.from_bytes(blob[i : i + 32], "big")) for i in range(0, 256, 32)]
    return {
        "pi_a": [n[0], n[1], "1"],
        "pi_b": [[n[3], n[2]], [n[5], n[4]], ["1", "0"]],
        "pi_c": [n[6], n[7], "1"],
        "protocol": "groth16",
        "curve": "bn128",
    }


def wtns_public(path: Path, n_public: int) -> list[int]:
    """The public signals of a snarkjs ``.wtns`` file: witness values 1..n_public (little-endian,
    standard form; value 0 is the constant 1)."""
    data = path.read_bytes()
    if data[:4] != b"wtns":
        raise ToolchainError(f"{path} is not a .wtns file")
    pos, sections = 12, {}
    while pos < len(data):
        kind = int.from_bytes(data[pos : pos + 4], "little")
        size = int.from_bytes(data[pos + 4 : pos + 12], "little")
        sections[kind] = pos + 12
        pos += 12 + size
    n8 = int.from_bytes(data[sections[1] : sections[1] + 4], "little")
    base = sections[2]
    return [int.from_bytes(data[base + i * n8 : base + (i + 1) * n8], "little") for i in range(1, 1 + n_public)]


# --- the coordinator --------------------------------------------------------------------------


def _tag(circuit_key: str, circuit_input: dict[str, Any]) -> str:
    body = json.dumps(circuit_input, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(circuit_key.encode() + b"\0" + body).hexdigest()


def _done_path(work_dir: Path, index: int) -> Path:
    return work_dir / f"batch-{index:07d}.json"


def _load_done(work_dir: Path, index: int, tag: str) -> dict[str, Any] | None:
    path = _done_path(work_dir, index)
    try:
        saved: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return saved if saved.get("tag") == tag and "proof" in saved and "public" in saved else None


def _save_done(work_dir: Path, index: int, tag: str, result: dict[str, Any]) -> None:
    path = _done_path(work_dir, index)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"tag": tag, "proof": result["proof"], "public": result["public"], "resumed": True}))
    os.replace(tmp, path)


def prove_all(
    engine: str,
    artifacts: Artifacts,
    inputs: Iterator[dict[str, Any]],
    count: int,
    *,
    workers: int,
    work_dir: Path | None,
    progress: Progress,
    accounts_per_batch: int,
) -> tuple[list[dict[str, Any]], int]:
    """Prove the ``count`` circuit inputs (taken from ``inputs`` as workers free up); ``(results in
    order, how many were resumed from work_dir)``.

    Raises :class:`NoWitness` for the first batch the circuit refuses (the ones proved are kept
    in ``work_dir``), :class:`ToolchainError` when a tool fails.
    """
    key = str(artifacts.info["key"])
    n_public = int(artifacts.verification_key()["nPublic"])
    results: list[dict[str, Any] | None] = [None] * count
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    modules, exe = str(node_modules()), node()
    tmp = tempfile.mkdtemp(prefix="rucksack-zk-")  # witnesses in flight (arkworks), removed at the end
    init = (engine, str(artifacts.wasm), str(artifacts.zkey), modules, exe, tmp)
    started = time.perf_counter()
    proved = resumed = 0
    failure: NoWitness | None = None
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=init))
        numbered = enumerate(inputs)
        running: dict[Future[dict[str, Any]], tuple[int, str]] = {}

        def submit() -> None:
            """Queue the next batch that is not already in the work directory."""
            nonlocal resumed
            for i, circuit_input in numbered:
                tag = _tag(key, circuit_input)
                saved = _load_done(work_dir, i, tag) if work_dir is not None else None
                if saved is None:
                    running[pool.submit(_prove_one, i, circuit_input, n_public)] = (i, tag)
                    return
                results[i] = saved
                resumed += 1

        for _ in range(2 * workers):
            submit()
        if resumed:
            progress(f"resuming: {resumed} batches already proved in {work_dir}")
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                i, tag = running.pop(fut)
                out = fut.result()
                if "error" in out:
                    failure = failure or NoWitness(i, str(out["error"]))
                    continue
                results[i] = out
                if work_dir is not None:
                    _save_done(work_dir, i, tag, out)
                proved += 1
                elapsed = time.perf_counter() - started
                rate = proved * accounts_per_batch / elapsed
                left = count - proved - resumed
                progress(
                    f"proved batch {proved + resumed}/{count} in {out['ms'] / 1000:.2f} s "
                    f"({rate:.1f} accounts/s, about {left * elapsed / proved:.0f} s left)"
                )
                if failure is None:
                    submit()
        if failure is None:
            submit()  # an input list ending in resumed batches: take them too
    if failure is not None:
        raise failure
    if any(r is None for r in results):
        raise ToolchainError("the prover did not answer for every batch")
    return [r for r in results if r is not None], resumed


def verify_all_native(document: dict[str, Any]) -> list[int]:
    """Indices of the batches of ``zk.json`` whose proof the native (arkworks) verifier rejects.
    Only the pairing check: the chain, prices and totals are the standalone verifier's."""
    import groth16py

    vk = groth16py.VerifyingKey.from_snarkjs(json.dumps(document["verification_key"]))
    verifier = groth16py.Verifier(vk)
    bad = []
    for i, batch in enumerate(document["batches"]):
        proof = {**batch["proof"], "protocol": "groth16", "curve": "bn128"}
        try:
            good = verifier.verify_snarkjs(json.dumps(proof), json.dumps(batch["public"]))
        except Exception:  # a malformed proof is a rejected one
            good = False
        if not good:
            bad.append(i)
    return bad


def cleanup(work_dir: Path) -> None:
    """Remove a finished job's work directory."""
    shutil.rmtree(work_dir, ignore_errors=True)
