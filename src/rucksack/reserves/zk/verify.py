"""Standalone verification of tier (b): ``zk.json`` and a user's zk inclusion proof.

Stdlib + PyNaCl + py_ecc only (this package's ``statement``, ``poseidon`` and ``groth16``, and
``rucksack.reserves.commitments``/``signing``/``verify``); nothing from the exchange. It runs the
tier (a) verifier (:func:`rucksack.reserves.verify.verify`) and, given ``zk.json``, adds its checks
and a ``zk`` summary to the same report. ``rucksack reserves verify`` and
``python -m rucksack.reserves.zk.verify`` are this module's :func:`run`; py_ecc is imported only
when a zk.json is given.

Checks, in order (each a named line of the report):

- ``zk.format`` every field parsed strictly; ``zk.signature`` ED25519 (kind ``zk``) by the snapshot's
  key; ``zk.snapshot`` same snapshot id and seq;
- ``zk.prices`` the scale and coefficients equal those recomputed from the signed snapshot's prices,
  weights and decimals, and every batch's public signals carry exactly those (no price changed
  mid-chain);
- ``zk.key`` the verification key parses and expects this circuit's number of public signals, and
  its hash equals the one pinned with ``vkey_sha256``/``--vkey-sha256`` (a warning when not pinned:
  a key chosen by the exchange could belong to a weaker circuit); ``zk.setup`` (warning) who made
  the trusted setup, as the publication says;
- ``zk.chain`` the first accumulator is the public one derived from the snapshot id, each batch's
  ``acc_prev`` is the previous batch's ``acc_next``, and the batch roots hash to the opened chain;
- ``zk.opening`` the opening hashes to the last accumulator; ``zk.totals`` the opened totals equal
  the signed snapshot's per-asset totals (so tier (b) covers exactly tier (a)'s sums);
- ``zk.inclusion`` (with a zk proof) the user's leaf, from their salt and balances, reaches their
  batch's root;
- ``zk.proof[i]`` Groth16 proofs: one batch by default (the user's, or ``batch``, or a random one),
  every batch with ``all_batches`` (``--all``); ``zk.coverage`` warns when not all were checked.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rucksack.reserves import commitments as c
from rucksack.reserves import verify as tier_a
from rucksack.reserves.signing import canonical_json, check_signature
from rucksack.reserves.zk import statement as st
from rucksack.reserves.zk.poseidon import P as R  # BN254's scalar field: the circuit's field

OK, WARN, FAIL = "ok", "warn", "fail"
_DEC = re.compile(r"0|[1-9][0-9]*")
Add = Callable[[str, str, str], bool]


class _Bad(ValueError):
    pass


def _num(value: Any, what: str, limit: int = R) -> int:
    if not isinstance(value, str) or not _DEC.fullmatch(value):
        raise _Bad(f"{what} must be a base-10 string")
    n = int(value)
    if n >= limit:
        raise _Bad(f"{what} is out of range")
    return n


def _nums(values: Any, n: int, what: str, limit: int = R) -> list[int]:
    if not isinstance(values, list) or len(values) != n:
        raise _Bad(f"{what} must list {n} values")
    return [_num(v, f"{what}[{i}]", limit) for i, v in enumerate(values)]


def _field(doc: Any, key: str, kind: type) -> Any:
    if not isinstance(doc, dict) or key not in doc or not isinstance(doc[key], kind) or isinstance(doc[key], bool):
        raise _Bad(f"missing or malformed field {key!r}")
    return doc[key]


def check_zk(
    add: Add,
    *,
    snapshot: Any,
    snapshot_id: bytes,
    seq: int,
    public_key: str,
    zk: Any,
    zk_proof: Any = None,
    account: int | None = None,
    all_batches: bool = False,
    batch: int | None = None,
    vkey_sha256: str | None = None,
) -> dict[str, Any]:
    """Add the tier (b) checks through ``add(name, status, detail)``; return a summary for the report.

    ``snapshot`` is the signed snapshot.json (already verified by the caller).
    """
    from rucksack.reserves.zk import groth16  # py_ecc: only when there is a zk.json

    summary: dict[str, Any] = {"batches": 0, "verified_batches": [], "all": all_batches}
    try:
        if _field(zk, "version", str) != c.VERSION:
            raise _Bad(f"unsupported version {zk['version']!r}")
        zk_id = _field(zk, "snapshot_id", str)
        zk_seq = _field(zk, "seq", int)
        scale = _field(zk, "scale", int)
        circuit = _field(zk, "circuit", dict)
        shape = _shape(circuit)
        k = shape.assets
        ccoef = _nums(_field(zk, "ccoef", list), k, "ccoef", st.COEF_LIMIT)
        dcoef = _nums(_field(zk, "dcoef", list), k, "dcoef", st.COEF_LIMIT)
        setup = _field(zk, "setup", dict)
        vkey_doc = _field(zk, "verification_key", dict)
        raw_batches = _field(zk, "batches", list)
        if not raw_batches:
            raise _Bad("no batches")
        publics: list[list[int]] = []
        for i, b in enumerate(raw_batches):
            publics.append(_nums(_field(b, "public", list), shape.n_public, f"batches[{i}].public"))
            _field(b, "proof", dict)
        opening = _field(zk, "opening", dict)
        open_chain = _num(_field(opening, "chain", str), "opening.chain")
        open_totals = _nums(_field(opening, "totals", list), 2 * k, "opening.totals")
        open_salt = _num(_field(opening, "salt", str), "opening.salt")
        symbols = [_field(a, "symbol", str) for a in _field(snapshot, "assets", list)]
        prices = [_field(a, "price", str) for a in snapshot["assets"]]
        weights = [_field(a, "collateral_weight", str) for a in snapshot["assets"]]
        decimals = [_field(a, "decimals", int) for a in snapshot["assets"]]
        totals = [int(_field(a, f"total_{side}", str)) for side in ("equity", "debt") for a in snapshot["assets"]]
        if len(symbols) > k:
            raise _Bad(f"the circuit has {k} asset columns, the snapshot {len(symbols)} assets")
    except _Bad as exc:
        add("zk.format", FAIL, str(exc))
        return summary
    m = len(publics)
    digest = hashlib.sha256(canonical_json(vkey_doc)).hexdigest()
    summary.update(
        batches=m,
        batch_size=shape.batch,
        assets=k,
        circuit=circuit,
        setup=setup.get("note", ""),
        vkey_sha256=digest,
    )
    add(
        "zk.format",
        OK,
        f"{m} batches of {shape.batch} accounts x {k} assets, circuit {circuit.get('name')} {circuit.get('key')}",
    )
    problem = check_signature("zk", zk)
    add("zk.signature", FAIL if problem else OK, problem or "valid ED25519 signature (kind zk)")
    add(
        "zk.key_match",
        OK if zk.get("public_key") == public_key else FAIL,
        "signed by the snapshot's key" if zk.get("public_key") == public_key else "signed by another key",
    )
    same = zk_id == snapshot_id.hex() and zk_seq == seq
    if not add("zk.snapshot", OK if same else FAIL, "for this snapshot" if same else "for another snapshot"):
        return summary

    try:
        want = st.coefficients(prices, weights, decimals, k)
    except (st.StatementError, ValueError, ZeroDivisionError) as exc:
        add("zk.prices", FAIL, f"the snapshot's prices cannot be used by the circuit: {exc}")
        return summary
    if (scale, ccoef, dcoef) != want:
        add("zk.prices", FAIL, "scale or coefficients differ from the snapshot's prices and weights")
        return summary
    moved = [i for i, p in enumerate(publics) if p[3:] != [*ccoef, *dcoef]]
    if moved:
        add("zk.prices", FAIL, f"batches {moved} were proven with other prices or weights than the snapshot's")
        return summary
    add("zk.prices", OK, f"every batch uses the snapshot's prices and haircuts (scale 10**{scale})")
    zero_price = [s for s, p in zip(symbols, prices, strict=True) if not any(ch in "123456789" for ch in p)]
    if zero_price:
        add("zk.prices", WARN, f"price 0 for {zero_price}: debt in these assets counts for nothing")

    try:
        vk = _verifying_key(digest, vkey_doc)
        if vk.n_public != shape.n_public:
            raise groth16.Groth16Error(f"key expects {vk.n_public} public signals, the circuit has {shape.n_public}")
    except groth16.Groth16Error as exc:
        add("zk.key", FAIL, str(exc))
        return summary
    if vkey_sha256 is None:
        add(
            "zk.key",
            WARN,
            f"verification key sha256 {digest} not pinned: compare it with the ceremony's (--vkey-sha256)",
        )
    elif vkey_sha256.lower() != digest:
        add(
            "zk.key",
            FAIL,
            f"verification key sha256 {digest}, expected {vkey_sha256.lower()}: another circuit or setup",
        )
        return summary
    else:
        add("zk.key", OK, "the verification key matches the pinned hash")
    add("zk.setup", WARN, str(setup.get("note", "no setup transcript given")))

    # the chain of accumulators and batch roots
    breaks = []
    if publics[0][1] != st.acc_start(snapshot_id, k):
        breaks.append("batch 0 does not start from this snapshot's public accumulator")
    breaks += [f"batch {i + 1} does not continue batch {i}" for i in range(m - 1) if publics[i][2] != publics[i + 1][1]]
    chain = st.chain_start(snapshot_id)
    for p in publics:
        chain = st.chain_step(chain, p[0])
    if chain != open_chain:
        breaks.append("the batch roots do not hash to the opened chain")
    add("zk.chain", FAIL if breaks else OK, "; ".join(breaks) or f"{m} batches linked from the snapshot to the opening")
    opened = st.accumulator(open_chain, open_totals, open_salt) == publics[-1][2]
    add(
        "zk.opening",
        OK if opened else FAIL,
        "the opening hashes to the last accumulator" if opened else "the opening does not match the last accumulator",
    )
    n = len(symbols)
    padded = [*totals[:n], *[0] * (k - n), *totals[n:], *[0] * (k - n)]
    add(
        "zk.totals",
        OK if open_totals == padded else FAIL,
        "the proven totals equal the signed snapshot's per-asset totals"
        if open_totals == padded
        else "the proven totals differ from the signed snapshot's totals",
    )
    summary["totals"] = [str(t) for t in open_totals]

    own_batch = None
    if zk_proof:
        own_batch = _check_inclusion(add, zk_proof, snapshot_id, seq, symbols, account, publics, shape)
    if all_batches:
        chosen = list(range(m))
    elif batch is not None:
        if not 0 <= batch < m:
            add("zk.proof", FAIL, f"there is no batch {batch} (0..{m - 1})")
            return summary
        chosen = [batch]
    elif own_batch is not None:
        chosen = [own_batch]
    else:
        chosen = [random.SystemRandom().randrange(m)]
    seconds = []
    for i in chosen:
        started = time.perf_counter()
        try:
            good = groth16.verify(vk, raw_batches[i]["proof"], publics[i])
            detail = "valid Groth16 proof" if good else "INVALID Groth16 proof"
        except groth16.Groth16Error as exc:
            good, detail = False, f"malformed proof: {exc}"
        seconds.append(round(time.perf_counter() - started, 3))
        add(f"zk.proof[{i}]", OK if good else FAIL, detail)
        if good:
            summary["verified_batches"].append(i)
    summary["verify_seconds"] = seconds
    if len(chosen) < m:
        add("zk.coverage", WARN, f"verified {len(chosen)} of {m} batch proofs; --all verifies every batch")
    return summary


def _shape(circuit: dict[str, Any]) -> st.Shape:
    """The batch shape zk.json declares: ``batch`` a power of two, ``assets`` >= 1 (both small)."""
    batch, assets = circuit.get("batch"), circuit.get("assets")
    if type(batch) is not int or not 1 <= batch <= 1 << st.MAX_LOG_BATCH or batch & (batch - 1):
        raise _Bad("circuit.batch must be a power of two up to 2**MAX_LOG_BATCH")
    if type(assets) is not int or not 1 <= assets <= 1024:
        raise _Bad("circuit.assets must be an integer from 1 to 1024")
    return st.Shape(batch.bit_length() - 1, assets)


_KEYS: dict[str, Any] = {}


def _verifying_key(digest: str, vkey_doc: dict[str, Any]) -> Any:
    """Parse (and check every point of) a verification key once per process."""
    from rucksack.reserves.zk import groth16

    if digest not in _KEYS:
        _KEYS.clear()
        _KEYS[digest] = groth16.VerifyingKey(vkey_doc)
    return _KEYS[digest]


def _check_inclusion(
    add: Add,
    doc: Any,
    snapshot_id: bytes,
    seq: int,
    symbols: list[str],
    account: int | None,
    publics: list[list[int]],
    shape: st.Shape,
) -> int | None:
    k = len(symbols)
    try:
        if _field(doc, "version", str) != c.VERSION:
            raise _Bad("unsupported version")
        same = _field(doc, "snapshot_id", str) == snapshot_id.hex() and _field(doc, "seq", int) == seq
        owner = _field(doc, "account", int)
        salt_hex = _field(doc, "salt", str)
        if not re.fullmatch(r"[0-9a-f]{64}", salt_hex):
            raise _Bad("salt must be 32 bytes of lowercase hex")
        salt = bytes.fromhex(salt_hex)
        b = _field(doc, "batch", int)
        pos = _field(doc, "position", int)
        equity = _nums(_field(doc, "equity", list), k, "equity", c.U64_LIMIT)
        debt = _nums(_field(doc, "debt", list), k, "debt", c.U64_LIMIT)
        siblings = _nums(_field(doc, "siblings", list), shape.log_batch, "siblings")
        if _field(doc, "assets", list) != symbols:
            same = False
    except (_Bad, ValueError) as exc:
        add("zk.inclusion", FAIL, f"malformed zk proof: {exc}")
        return None
    if not same:
        add("zk.inclusion", FAIL, "the zk proof is for another snapshot")
        return None
    if account is not None and owner != account:
        add("zk.inclusion", FAIL, f"the zk proof is for account {owner}, not {account}")
        return None
    if not (0 <= b < len(publics) and 0 <= pos < shape.batch and 0 <= owner < c.U64_LIMIT):
        add("zk.inclusion", FAIL, f"batch {b} / position {pos} does not exist")
        return None
    leaf = st.leaf(st.zk_uid(salt, snapshot_id, owner), st.pad(equity, shape.assets), st.pad(debt, shape.assets))
    good = st.root_from_path(leaf, pos, siblings) == publics[b][0]
    add(
        "zk.inclusion",
        OK if good else FAIL,
        f"account {owner}'s leaf (equity {equity}, debt {debt}) is in batch {b}, whose proof covers it"
        if good
        else f"account {owner}'s leaf does not reach batch {b}'s root",
    )
    return b if good else None


def verify(
    snapshot: Any,
    proof: Any = None,
    reserves: Any = None,
    *,
    account: int | None = None,
    public_key: str | None = None,
    zk: Any = None,
    zk_proof: Any = None,
    all_batches: bool = False,
    batch: int | None = None,
    vkey_sha256: str | None = None,
) -> tier_a.Report:
    """Tier (a) checks, then (given ``zk``) tier (b); ``report.ok`` only if no check failed."""
    from rucksack.reserves import evm_control  # eth-account, when installed, checks EVM address signatures

    evm_check = evm_control.check if evm_control.available() else None
    report = tier_a.verify(snapshot, proof, reserves, account=account, public_key=public_key, evm_check=evm_check)
    if zk is None:
        if zk_proof is not None:
            report.add("zk.inclusion", FAIL, "a zk inclusion proof is checked against zk.json: give --zk too")
        return report
    if not report.snapshot or any(ch.status == tier_a.FAIL for ch in report.checks if ch.name.startswith("snapshot.")):
        report.add("zk.snapshot", FAIL, "the snapshot did not verify: tier (b) is not checked against it")
        return report
    report.zk = check_zk(
        report.add,
        snapshot=snapshot,
        snapshot_id=bytes.fromhex(report.snapshot["snapshot_id"]),
        seq=report.snapshot["seq"],
        public_key=report.snapshot["public_key"],
        zk=zk,
        zk_proof=zk_proof,
        account=account,
        all_batches=all_batches,
        batch=batch,
        vkey_sha256=vkey_sha256,
    )
    return report


def verify_files(
    snapshot: Path,
    proof: Path | None = None,
    reserves: Path | None = None,
    *,
    zk: Path | None = None,
    zk_proof: Path | None = None,
    **options: Any,
) -> tier_a.Report:
    """Read and verify files; unreadable JSON raises ``OSError``/``ValueError``."""
    load = tier_a.load_json
    return verify(load(snapshot), load(proof), load(reserves), zk=load(zk), zk_proof=load(zk_proof), **options)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    tier_a.add_arguments(parser)
    parser.add_argument("--zk", type=Path, help="the published zk.json (tier b: zero-knowledge solvency)")
    parser.add_argument("--zk-proof", type=Path, help="your zk inclusion proof (zk-proofs/<account>.json)")
    parser.add_argument("--all", dest="all_batches", action="store_true", help="verify every batch proof (auditors)")
    parser.add_argument("--batch", type=int, help="verify this batch's proof (default: yours, else a random one)")
    parser.add_argument("--vkey-sha256", help="the ceremony's verification key hash (sha256 of its canonical JSON)")


def run(args: argparse.Namespace) -> int:
    """0 when everything verified, 1 when a check failed, 2 when an input could not be read."""
    return tier_a.print_report(
        args,
        lambda: verify_files(
            args.snapshot,
            args.proof,
            args.reserves,
            zk=args.zk,
            zk_proof=args.zk_proof,
            account=args.account,
            public_key=args.public_key,
            all_batches=args.all_batches,
            batch=args.batch,
            vkey_sha256=args.vkey_sha256,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rucksack.reserves.zk.verify", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
