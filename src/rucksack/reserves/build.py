"""Liabilities snapshot -> signed ``snapshot.json``, one inclusion proof per account, ``reserves.json``.

:func:`build_from_liabilities` is the entry point the exchange calls (with its engine's snapshot,
a fresh 32-byte secret per snapshot, and its long-lived ED25519 key). It is deterministic in its
inputs, so keeping the secret lets the exchange re-issue any proof later (:func:`proof_for`).

The snapshot secret and the proofs are private: the secret regenerates every salt, a proof reveals
its owner's balances and the sums of their siblings. Only ``snapshot.json`` and ``reserves.json``
are published.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from nacl.signing import SigningKey

from rucksack.progress import Progress, progress_bar
from rucksack.reserves.documents import (
    LEDGER_SOURCE,
    Holding,
    InclusionProof,
    PathStep,
    PublishedSnapshot,
    ReservesStatement,
    SnapshotAsset,
    challenge_for,
    encode,
)
from rucksack.reserves.liabilities import LiabilitySnapshot
from rucksack.reserves.signing import sign_document
from rucksack.reserves.tree import MerkleSumTree, build_tree


@dataclass(frozen=True)
class Publication:
    snapshot: PublishedSnapshot
    proofs: dict[int, InclusionProof]
    reserves: ReservesStatement | None
    tree: MerkleSumTree


def _strs(values: Any) -> list[str]:
    return [str(v) for v in values]


def _signed(kind: str, doc: msgspec.Struct, key: SigningKey) -> Any:
    return msgspec.convert(sign_document(kind, msgspec.to_builtins(doc), key), type(doc))


def proof_for(tree: MerkleSumTree, snap: LiabilitySnapshot, account: int) -> InclusionProof:
    """The inclusion proof of ``account`` (KeyError if it is not in the snapshot)."""
    leaf = tree.openings[account]
    k = tree.assets
    return InclusionProof(
        snapshot_id=tree.snapshot_id.hex(),
        seq=snap.seq,
        account=account,
        salt=leaf.salt.hex(),
        index=leaf.index,
        assets=[a.symbol for a in snap.assets],
        equity=_strs(leaf.equity),
        debt=_strs(leaf.debt),
        path=[PathStep(h.hex(), _strs(s[:k]), _strs(s[k:])) for h, s in tree.path(leaf.index)],
    )


def reserves_statement(
    snap: LiabilitySnapshot, snapshot_id: str, key: SigningKey, source: str = LEDGER_SOURCE
) -> ReservesStatement:
    """Signed statement of the custody holdings listed in ``snap.custody`` (one entry per holding)."""
    holdings = [
        Holding(asset=h.asset, balance=str(h.balance), source=source, address=h.address, height=h.height)
        for h in snap.custody
    ]
    return signed_reserves(snapshot_id, snap.seq, snap.ts_us, holdings, key)


def signed_reserves(
    snapshot_id: str, seq: int, ts_us: int, holdings: list[Holding], key: SigningKey
) -> ReservesStatement:
    """The signed statement of ``holdings`` for a snapshot (on-chain holdings come signed over
    ``challenge_for(snapshot_id)`` by their address keys already)."""
    statement = ReservesStatement(
        snapshot_id=snapshot_id, seq=seq, ts_us=ts_us, challenge=challenge_for(snapshot_id), holdings=holdings
    )
    signed: ReservesStatement = _signed("reserves", statement, key)
    return signed


def build_from_liabilities(
    snap: LiabilitySnapshot,
    secret: bytes,
    key: SigningKey,
    *,
    min_depth: int = 0,
    with_proofs: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Publication:
    """Build the tree, sign ``snapshot.json`` and (if ``snap.custody``) ``reserves.json``, make proofs."""
    tree = build_tree(snap, secret, min_depth=min_depth, progress=progress)
    k = tree.assets
    totals = tree.totals
    published = PublishedSnapshot(
        snapshot_id=tree.snapshot_id.hex(),
        seq=snap.seq,
        ts_us=snap.ts_us,
        price_asset=snap.price_asset,
        assets=[
            SnapshotAsset(a.symbol, a.decimals, a.price, a.collateral_weight, str(totals[i]), str(totals[k + i]))
            for i, a in enumerate(snap.assets)
        ],
        root=tree.root.hex(),
        depth=tree.depth,
    )
    signed: PublishedSnapshot = _signed("snapshot", published, key)
    proofs = {r.account: proof_for(tree, snap, r.account) for r in snap.rows} if with_proofs else {}
    reserves = reserves_statement(snap, signed.snapshot_id, key) if snap.custody else None
    return Publication(signed, proofs, reserves, tree)


def write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_publication(pub: Publication, out: Path, *, bar: bool = False) -> dict[str, Path]:
    """Write ``out/snapshot.json``, ``out/reserves.json`` (if any), ``out/proofs/<account>.json`` (0600).

    ``bar``: show a progress bar of the proofs written when stderr is a terminal (the operator's
    command; the server's daily snapshot never draws one)."""
    out.mkdir(parents=True, exist_ok=True)
    written = {"snapshot": out / "snapshot.json"}
    written["snapshot"].write_bytes(encode(pub.snapshot))
    if pub.reserves is not None:
        written["reserves"] = out / "reserves.json"
        written["reserves"].write_bytes(encode(pub.reserves))
    if pub.proofs:
        proofs_dir = out / "proofs"
        proofs_dir.mkdir(exist_ok=True)
        shown: Progress | None = progress_bar("inclusion proofs", len(pub.proofs), "proof") if bar else None
        for account, proof in pub.proofs.items():
            write_private(proofs_dir / f"{account}.json", encode(proof))
            if shown is not None:
                shown.update()
        if shown is not None:
            shown.close()
        written["proofs"] = proofs_dir
    return written


def load_signing_key(path: Path, *, create: bool = False) -> SigningKey:
    """Read a hex ED25519 seed from ``path``; with ``create``, make one (mode 0600) if missing."""
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"no signing key at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        key = SigningKey.generate()
        write_private(path, key.encode().hex().encode() + b"\n")
        return key
    return SigningKey(bytes.fromhex(path.read_text().strip()))
