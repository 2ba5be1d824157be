"""``rucksack reserves snapshot | proof | verify`` (registered by ``rucksack.cli``).

- ``snapshot --in liabilities.json --out DIR``: writes ``DIR/snapshot.json`` (signed),
  ``DIR/reserves.json`` (if the input lists custody holdings), ``DIR/proofs/<account>.json`` and,
  under ``DIR/private/`` (mode 0600), the snapshot secret and, unless ``--key`` names one, the
  signing key. Publish ``snapshot.json`` and ``reserves.json`` only. Prints one JSON line.
  With ``--zk`` also tier (b): ``DIR/zk.json`` (publish) and ``DIR/zk-proofs/<account>.json``
  (private, one per account), proving every batch with the cached Groth16 circuit
  (:mod:`rucksack.reserves.zk`; ``--prover``, ``--workers``); it fails, writing no zk.json, if any
  account's debt exceeds its haircut collateral. Every proved batch is kept in
  ``DIR/private/zk-work/`` until the end, so after a crash ``--resume`` (same ``--out``) reuses
  the run's secret and proves only what is missing; the output is then checked with the
  standalone verifier before the command succeeds.
- ``proof --in liabilities.json --secret FILE --account ID``: re-issues one account's proof from
  the same liabilities and snapshot secret (the build is deterministic).
- ``verify``: see :mod:`rucksack.reserves.verify` (text by default, ``--json``; exit 0/1/2), with
  tier (b) from :mod:`rucksack.reserves.zk.verify` (``--zk zk.json [--zk-proof FILE] [--all | --batch N]``).

With ``--data-dir DIR`` instead of ``--in``, ``snapshot`` takes the liabilities from an exchange
data directory (the engine recovered read-only, cut at its last journal seq; the key defaults to the
server's ``DIR/reserves/private/signing.key``) and also writes ``OUT/private/liabilities.json`` and
the public ``OUT/exchange-accounts.json``; ``proof --data-dir DIR --account ID [--seq N]`` re-issues
a proof from a snapshot the server published under ``DIR/reserves/<seq>/`` (the newest by default).
This package never imports the exchange: ``rucksack.cli`` hands :func:`register` the exchange's
functions (:class:`DataDirHooks`, from ``rucksack.exchange.reserves_export``).

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rucksack.reserves.zk import verify


@dataclass(frozen=True)
class DataDirHooks:
    """What the exchange provides for ``--data-dir`` (this package cannot import it)."""

    # data dir -> (liabilities at its last seq, extra public documents {file name: bytes})
    liabilities: Callable[[Path], tuple[Any, dict[str, bytes]]]
    signing_key_path: Callable[[Path], Path]
    # (data dir, account, seq or None for the newest) -> proof JSON bytes; KeyError: not in it
    proof: Callable[[Path, int, int | None], bytes]


_hooks: DataDirHooks | None = None


def _progress(message: str) -> None:
    sys.stderr.write(f"rucksack reserves: {message}\n")
    sys.stderr.flush()


def _read_secret(path: Path) -> bytes:
    secret = bytes.fromhex(path.read_text().strip())
    if len(secret) < 16:
        raise ValueError(f"{path}: the snapshot secret must be at least 16 bytes of hex")
    return secret


def cmd_snapshot(args: argparse.Namespace) -> int:
    from rucksack.reserves.build import build_from_liabilities, load_signing_key, write_private, write_publication
    from rucksack.reserves.liabilities import LiabilityError, load_snapshot

    if bool(args.input) == bool(args.data_dir):
        sys.stderr.write("rucksack reserves snapshot: give exactly one of --in and --data-dir\n")
        return 2
    out = Path(args.out)
    private = out / "private"
    extra: dict[str, bytes] = {}
    try:
        if args.data_dir:
            if _hooks is None:
                raise ValueError("--data-dir needs the exchange (run it as `rucksack reserves ...`)")
            _progress(f"recovering the exchange from {args.data_dir} (read-only)")
            snap, extra = _hooks.liabilities(Path(args.data_dir))
            key_path = Path(args.key) if args.key else _hooks.signing_key_path(Path(args.data_dir))
            key = load_signing_key(key_path, create=not args.key)
            _progress(f"liabilities at seq {snap.seq}: {len(snap.rows)} accounts")
        else:
            snap = load_snapshot(Path(args.input))
            key = load_signing_key(Path(args.key) if args.key else private / "signing.key", create=not args.key)
        if args.secret:
            secret = _read_secret(Path(args.secret))
        elif args.resume:
            if not (private / "snapshot-secret.hex").exists():
                raise ValueError(f"--resume: no {private / 'snapshot-secret.hex'} from an earlier run")
            secret = _read_secret(private / "snapshot-secret.hex")
            _progress("resuming with the snapshot secret of the earlier run")
        else:
            secret = secrets.token_bytes(32)  # fresh per snapshot: unlinks leaves across snapshots
            private.mkdir(parents=True, exist_ok=True)
            write_private(private / "snapshot-secret.hex", secret.hex().encode() + b"\n")
    except (OSError, ValueError, LiabilityError) as exc:
        sys.stderr.write(f"rucksack reserves snapshot: {exc}\n")
        return 2
    started = time.perf_counter()
    _progress(f"building the Merkle-sum tree for {len(snap.rows)} accounts x {len(snap.assets)} assets")
    pub = build_from_liabilities(snap, secret, key, min_depth=args.min_depth, progress=_progress)
    built = time.perf_counter()
    _progress(f"tree of depth {pub.tree.depth} built in {built - started:.2f} s; writing {len(pub.proofs)} proofs")
    written = write_publication(pub, out, bar=True)
    if args.data_dir:
        from rucksack.reserves.liabilities import encode_snapshot

        private.mkdir(parents=True, exist_ok=True)
        write_private(private / "liabilities.json", encode_snapshot(snap))
        for name, data in extra.items():
            (out / name).write_bytes(data)
    _progress(f"written in {time.perf_counter() - built:.2f} s")
    zk_summary = None
    if args.zk:
        zk_summary = _snapshot_zk(args, snap, secret, key, pub, out)
        if zk_summary is None:
            return 1
    summary: dict[str, object] = {
        "snapshot": str(written["snapshot"]),
        "reserves": str(written["reserves"]) if "reserves" in written else None,
        "proofs": str(written["proofs"]) if "proofs" in written else None,
        "snapshot_id": pub.snapshot.snapshot_id,
        "seq": pub.snapshot.seq,
        "root": pub.snapshot.root,
        "depth": pub.snapshot.depth,
        "accounts": len(snap.rows),
        "public_key": pub.snapshot.public_key,
    }
    if zk_summary is not None:
        summary.update(zk_summary)
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


def _snapshot_zk(
    args: argparse.Namespace, snap: Any, secret: bytes, key: Any, pub: Any, out: Path
) -> dict[str, Any] | None:
    """Tier (b) of ``snapshot --zk``: prove (resumable from ``OUT/private/zk-work``), write, then check
    the output with the standalone verifier (chain, opening, totals and one Groth16 proof; every
    proof too when the native verifier is installed). None (and a message) when it failed."""
    from rucksack.reserves.documents import encode
    from rucksack.reserves.zk import engines
    from rucksack.reserves.zk.prover import ZkProverError, build_zk, write_zk
    from rucksack.reserves.zk.toolchain import ToolchainError

    work = out / "private" / "zk-work"
    started = time.perf_counter()
    try:
        zk = build_zk(
            snap,
            secret,
            key,
            pub.tree.snapshot_id,
            progress=_progress,
            prover=args.prover,
            workers=args.workers,
            work_dir=work,
        )
    except (ZkProverError, ToolchainError) as exc:
        sys.stderr.write(f"rucksack reserves snapshot --zk: {exc}\n")
        if work.exists():
            sys.stderr.write(f"rucksack reserves snapshot --zk: proved batches kept in {work}; rerun with --resume\n")
        return None
    zk_written = write_zk(zk, out)
    _progress(f"tier (b) proved in {time.perf_counter() - started:.2f} s: {zk.timings}")
    started = time.perf_counter()
    report = verify.verify(json.loads(encode(pub.snapshot)), zk=zk.document)
    bad = [f"{ch.name}: {ch.detail}" for ch in report.checks if ch.status == "fail"]
    native = engines.verify_all_native(zk.document) if engines.native_available() else None
    if native:
        bad += [f"zk.proof[{i}]: invalid (native verifier)" for i in native]
    checked = "every batch (native verifier)" if native is not None else "one batch (py_ecc)"
    if bad:
        sys.stderr.write("rucksack reserves snapshot --zk: the output does not verify: " + "; ".join(bad) + "\n")
        return None
    _progress(f"zk.json verified by the standalone verifier ({checked}) in {time.perf_counter() - started:.2f} s")
    engines.cleanup(work)
    return {
        "zk": str(zk_written["zk"]),
        "zk_proofs": str(zk_written["zk_proofs"]),
        "zk_verified": checked,
        **zk.timings,
    }


def cmd_proof(args: argparse.Namespace) -> int:
    from rucksack.reserves.build import proof_for
    from rucksack.reserves.documents import encode
    from rucksack.reserves.liabilities import LiabilityError, load_snapshot
    from rucksack.reserves.tree import build_tree

    if args.data_dir:
        return _proof_from_data_dir(args)
    if not args.input or not args.secret:
        sys.stderr.write("rucksack reserves proof: give --data-dir, or --in and --secret\n")
        return 2
    try:
        snap = load_snapshot(Path(args.input))
        secret = _read_secret(Path(args.secret))
    except (OSError, ValueError, LiabilityError) as exc:
        sys.stderr.write(f"rucksack reserves proof: {exc}\n")
        return 2
    tree = build_tree(snap, secret, min_depth=args.min_depth)
    if args.account not in tree.openings:
        sys.stderr.write(f"rucksack reserves proof: account {args.account} is not in the snapshot\n")
        return 1
    data = encode(proof_for(tree, snap, args.account))
    return _emit_proof(args, data)


def _proof_from_data_dir(args: argparse.Namespace) -> int:
    if _hooks is None:
        sys.stderr.write("rucksack reserves proof: --data-dir needs the exchange\n")
        return 2
    try:
        data = _hooks.proof(Path(args.data_dir), args.account, args.seq)
    except KeyError:
        sys.stderr.write(f"rucksack reserves proof: account {args.account} is not in the snapshot\n")
        return 1
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"rucksack reserves proof: {exc}\n")
        return 2
    return _emit_proof(args, data)


def _emit_proof(args: argparse.Namespace, data: bytes) -> int:
    """Write the proof to ``--out`` (mode 0600), else to stdout."""
    if args.output:
        from rucksack.reserves.build import write_private

        write_private(Path(args.output), data)
    else:
        sys.stdout.buffer.write(data)
    return 0


def register(sub: argparse._SubParsersAction, data_dir_hooks: DataDirHooks | None = None) -> None:  # type: ignore[type-arg]
    """Add ``reserves`` and its subcommands to the top-level ``rucksack`` parser."""
    global _hooks
    _hooks = data_dir_hooks
    reserves = sub.add_parser("reserves", help="proof of reserves: snapshot, proof, verify")
    rsub = reserves.add_subparsers(dest="what", required=True)

    snap = rsub.add_parser("snapshot", help="build the Merkle-sum tree, signed snapshot.json and every proof")
    snap.add_argument("--in", dest="input", help="liabilities.json (a LiabilitySnapshot)")
    snap.add_argument("--data-dir", help="instead of --in: an exchange data directory, cut at its last seq")
    snap.add_argument("--out", required=True, help="output directory")
    snap.add_argument("--key", help="hex ED25519 seed file (default: OUT/private/signing.key, created if missing)")
    snap.add_argument("--secret", help="hex snapshot secret file (default: fresh, saved in OUT/private/)")
    snap.add_argument("--min-depth", type=int, default=0, help="pad to at least 2**N leaves (hides the count)")
    snap.add_argument("--zk", action="store_true", help="also prove tier (b): zero-knowledge solvency (zk.json)")
    snap.add_argument(
        "--prover",
        choices=("auto", "snarkjs", "arkworks"),
        default="auto",
        help="Groth16 prover for --zk (auto: arkworks when groth16py is installed, else snarkjs)",
    )
    snap.add_argument("--workers", type=int, help="prover processes for --zk (default: one per core; snarkjs: 1)")
    snap.add_argument(
        "--resume",
        action="store_true",
        help="continue a crashed --zk run into the same --out: its secret, and the batches already proved",
    )
    snap.set_defaults(func=cmd_snapshot)

    proof = rsub.add_parser("proof", help="re-issue one account's inclusion proof from the snapshot secret")
    proof.add_argument("--in", dest="input", help="the liabilities.json the snapshot was built from")
    proof.add_argument("--secret", help="the snapshot secret file")
    proof.add_argument("--data-dir", help="instead of --in/--secret: re-issue from DIR/reserves/<seq>/")
    proof.add_argument("--seq", type=int, help="with --data-dir: that snapshot (default: the newest)")
    proof.add_argument("--account", type=int, required=True)
    proof.add_argument("--min-depth", type=int, default=0, help="as given to snapshot")
    proof.add_argument("--out", dest="output", help="write here (mode 0600) instead of stdout")
    proof.set_defaults(func=cmd_proof)

    ver = rsub.add_parser("verify", help="verify a snapshot, your inclusion proof and the reserves statement")
    verify.add_arguments(ver)
    ver.set_defaults(func=verify.run)
