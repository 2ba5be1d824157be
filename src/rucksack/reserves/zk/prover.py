"""Liabilities snapshot -> tier (b) publication: per-batch Groth16 proofs, the chain, the final opening.

:func:`build_zk` is called after tier (a) with the same liabilities, snapshot secret and signing
key. It orders accounts by tier (a)'s keyed shuffle, cuts them into batches of the circuit shape
:func:`~rucksack.reserves.zk.statement.shape_for` picks for the snapshot's asset count (the last
batch padded with zero-balance accounts), proves every batch with one of
:mod:`~rucksack.reserves.zk.engines` (snarkjs, or the native arkworks prover; in parallel worker
processes; resumable from a work directory), checks every public signal against the same values
computed in Python, and returns:

- ``zk.json`` (published, signed with kind ``zk``): circuit identity, setup note, scale and price
  coefficients, the verification key, every batch's proof and public signals, and the opening
  ``(chain, totals, salt)`` of the last accumulator;
- one private ``zk-proofs/<account>.json`` per account: its salt, balances, batch, position and
  Poseidon siblings up to its batch root.

Every secret (uids of padding accounts, accumulator salts) is derived from the snapshot secret, so
the build is reproducible from it except for the proofs' own randomness.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from rucksack.reserves import commitments as c
from rucksack.reserves.liabilities import LiabilitySnapshot, check_snapshot
from rucksack.reserves.signing import sign_document
from rucksack.reserves.zk import engines
from rucksack.reserves.zk import statement as st
from rucksack.reserves.zk.toolchain import ToolchainError, ensure_artifacts

Progress = Callable[[str], None]


class ZkProverError(ValueError):
    """No proof can be made: an account's debt exceeds its haircut collateral, or the prover refused."""


@dataclass
class ZkPublication:
    document: dict[str, Any]  # zk.json, signed
    proofs: dict[int, dict[str, Any]]  # account -> its private zk inclusion proof
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Account:
    account: int | None  # None: padding
    salt: bytes
    uid: int
    equity: list[int]  # padded to the circuit's asset columns
    debt: list[int]


def _field_from(secret: bytes, label: bytes, i: int) -> int:
    return int.from_bytes(hmac.digest(secret, c.VERSION.encode() + label + c.u64(i), "sha256")[:31], "big")


def _strs(values: list[int]) -> list[str]:
    return [str(v) for v in values]


def prepare_batches(
    snap: LiabilitySnapshot, secret: bytes, snapshot_id: bytes, *, precheck: bool = True
) -> tuple[st.Shape, int, list[int], list[int], list[list[_Account]]]:
    """``(shape, scale, ccoef, dcoef, batches)``; raises :class:`ZkProverError` for an uncovered account."""
    check_snapshot(snap)
    try:
        shape = st.shape_for(len(snap.assets))
        scale, ccoef, dcoef = st.coefficients(
            [a.price for a in snap.assets],
            [a.collateral_weight for a in snap.assets],
            [a.decimals for a in snap.assets],
        )
    except st.StatementError as exc:
        raise ZkProverError(str(exc)) from exc
    rows = sorted(snap.rows, key=lambda r: c.order_key_account(secret, r.account))
    accounts: list[_Account] = []
    for row in rows:
        equity, debt = st.pad(row.equity, shape.assets), st.pad(row.debt, shape.assets)
        if precheck and not st.covered(equity, debt, ccoef, dcoef):
            raise ZkProverError(
                f"account {row.account}: debt exceeds haircut collateral at the snapshot's prices; "
                "the circuit cannot prove this snapshot"
            )
        salt = c.derive_salt(secret, row.account)
        accounts.append(_Account(row.account, salt, st.zk_uid(salt, snapshot_id, row.account), equity, debt))
    i = 0
    while not accounts or len(accounts) % shape.batch:
        zero = [0] * shape.assets
        accounts.append(_Account(None, b"", _field_from(secret, b"/zk-pad", i), zero, zero))
        i += 1
    batches = [accounts[j : j + shape.batch] for j in range(0, len(accounts), shape.batch)]
    return shape, scale, ccoef, dcoef, batches


def build_zk(
    snap: LiabilitySnapshot,
    secret: bytes,
    key: SigningKey,
    snapshot_id: bytes,
    *,
    progress: Progress | None = None,
    precheck: bool = True,
    prover: str = "auto",
    workers: int | None = None,
    work_dir: Path | None = None,
) -> ZkPublication:
    """Prove every batch and assemble the signed ``zk.json`` plus one private proof per account.

    ``snapshot_id`` is tier (a)'s (``Publication.snapshot.snapshot_id``); it seeds the chain, so the
    proofs cannot be replayed for another snapshot. ``precheck=False`` skips the Python check of
    each account's collateral (tests use it to show the circuit itself refuses). ``prover``,
    ``workers`` and ``work_dir`` (resume): see :mod:`rucksack.reserves.zk.engines`.
    """
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    shape, scale, ccoef, dcoef, batches = prepare_batches(snap, secret, snapshot_id, precheck=precheck)
    artifacts = ensure_artifacts(shape, say)
    timings["artifacts_s"] = round(time.perf_counter() - started, 2)

    k = shape.assets
    expected: list[list[int]] = []
    levels_of: list[list[list[int]]] = []
    final: dict[str, Any] = {}

    def circuit_inputs() -> Iterator[dict[str, Any]]:
        """Each batch's circuit input, computed as the workers ask for it (so the Python hashing
        overlaps the proving); records the expected public signals and the batch's tree."""
        chain = st.chain_start(snapshot_id)
        totals = [0] * (2 * k)
        salt = 0
        acc = st.acc_start(snapshot_id, k)
        for i, batch in enumerate(batches):
            levels = st.merkle_levels([st.leaf(a.uid, a.equity, a.debt) for a in batch])
            root = levels[-1][0]
            next_chain = st.chain_step(chain, root)
            next_totals = [
                *(totals[j] + sum(a.equity[j] for a in batch) for j in range(k)),
                *(totals[k + j] + sum(a.debt[j] for a in batch) for j in range(k)),
            ]
            next_salt = _field_from(secret, b"/zk-acc-salt", i + 1)
            next_acc = st.accumulator(next_chain, next_totals, next_salt)
            expected.append([root, acc, next_acc, *ccoef, *dcoef])
            levels_of.append(levels)
            yield {
                "ccoef": _strs(ccoef),
                "dcoef": _strs(dcoef),
                "uid": _strs([a.uid for a in batch]),
                "equity": [_strs(a.equity) for a in batch],
                "debt": [_strs(a.debt) for a in batch],
                "chain_prev": str(chain),
                "totals_prev": _strs(totals),
                "salt_prev": str(salt),
                "salt_next": str(next_salt),
            }
            chain, totals, salt, acc = next_chain, next_totals, next_salt, next_acc
        final.update(chain=chain, totals=totals, salt=salt)

    engine = engines.choose(prover)
    n_workers = workers or engines.default_workers(engine)
    say(
        f"proving {len(batches)} batches of {shape.batch} accounts x {k} assets "
        f"(Groth16, {engine}, {n_workers} worker{'s' if n_workers > 1 else ''})"
    )
    started = time.perf_counter()
    try:
        results, resumed = engines.prove_all(
            engine,
            artifacts,
            circuit_inputs(),
            len(batches),
            workers=n_workers,
            work_dir=work_dir,
            progress=say,
            accounts_per_batch=shape.batch,
        )
    except engines.NoWitness as exc:
        raise ZkProverError(f"the prover refused batch {exc.index}: {exc.message.splitlines()[0]}") from exc
    timings["prove_s"] = round(time.perf_counter() - started, 2)
    timings["resumed_batches"] = resumed
    fresh = len(batches) - resumed
    timings["prove_per_batch_s"] = round(timings["prove_s"] / fresh, 3) if fresh else 0.0
    timings["accounts_per_s"] = round(fresh * shape.batch / timings["prove_s"], 2) if fresh else 0.0
    chain, totals, salt = final["chain"], final["totals"], final["salt"]
    fresh_results = [r for r in results if not r.get("resumed")]
    if fresh_results:  # where the time went, per batch: the witness (Node) and all of it, CPU of both
        timings["batch_ms_mean"] = round(sum(r["ms"] for r in fresh_results) / len(fresh_results), 1)
        timings["prove_cpu_s"] = round(sum(r.get("cpu_ms", 0) for r in fresh_results) / 1000, 2)
        if all("witness_ms" in r for r in fresh_results):
            timings["witness_ms_mean"] = round(sum(r["witness_ms"] for r in fresh_results) / len(fresh_results), 1)
            timings["witness_cpu_s"] = round(sum(r["witness_cpu_ms"] for r in fresh_results) / 1000, 2)
    for i, (out, want) in enumerate(zip(results, expected, strict=True)):
        if [int(x) for x in out["public"]] != want:
            raise ToolchainError(f"batch {i}: the circuit's public signals differ from the Python statement")

    info = artifacts.info
    document: dict[str, Any] = {
        "version": c.VERSION,
        "snapshot_id": snapshot_id.hex(),
        "seq": snap.seq,
        "circuit": {
            "name": st.CIRCUIT_NAME,
            "batch": shape.batch,
            "assets": shape.assets,
            "constraints": info["constraints"],
            "key": info["key"],
            "tools": f"circom2 {info['circom2']}, circomlib {info['circomlib']}, snarkjs {info['snarkjs']}",
            "prover": engines.describe(engine),
        },
        "setup": {"ptau_sha256": info["ptau_sha256"], "note": info["setup"]},
        "scale": scale,
        "ccoef": _strs(ccoef),
        "dcoef": _strs(dcoef),
        "verification_key": artifacts.verification_key(),
        "batches": [
            {"public": out["public"], "proof": {name: out["proof"][name] for name in ("pi_a", "pi_b", "pi_c")}}
            for out in results
        ],
        "opening": {"chain": str(chain), "totals": _strs(totals), "salt": str(salt)},
    }
    signed = sign_document("zk", document, key)

    n_assets = len(snap.assets)
    proofs: dict[int, dict[str, Any]] = {}
    for b, batch in enumerate(batches):
        for pos, a in enumerate(batch):
            if a.account is None:
                continue
            proofs[a.account] = {
                "version": c.VERSION,
                "snapshot_id": snapshot_id.hex(),
                "seq": snap.seq,
                "account": a.account,
                "salt": a.salt.hex(),
                "batch": b,
                "position": pos,
                "assets": [x.symbol for x in snap.assets],
                "equity": _strs(a.equity[:n_assets]),
                "debt": _strs(a.debt[:n_assets]),
                "siblings": _strs(st.path_from_levels(levels_of[b], pos)),
            }
    return ZkPublication(signed, proofs, timings)


def write_zk(pub: ZkPublication, out: Path) -> dict[str, Path]:
    """Write ``out/zk.json`` (publish) and ``out/zk-proofs/<account>.json`` (mode 0600, private)."""
    from rucksack.reserves.build import write_private

    out.mkdir(parents=True, exist_ok=True)
    written = {"zk": out / "zk.json", "zk_proofs": out / "zk-proofs"}
    written["zk"].write_text(json.dumps(pub.document, indent=1) + "\n")
    written["zk_proofs"].mkdir(exist_ok=True)
    for account, proof in pub.proofs.items():
        write_private(written["zk_proofs"] / f"{account}.json", (json.dumps(proof, indent=2) + "\n").encode())
    return written
