"""The Merkle-sum tree over a liabilities snapshot (layouts in :mod:`rucksack.reserves.commitments`).

Invariants:

- The tree is complete: ``2**depth`` leaves, ``depth >= max(1, min_depth)``, the real accounts
  followed by padding leaves (zero balances, keyed-random uid commitments) up to a power of two.
- Positions come from sorting every leaf (real and padding) on a keyed hash of the snapshot secret,
  so a position says nothing about the account, its balance or which leaves are padding, and a new
  secret gives a new permutation.
- ``sums[level][i]`` is ``equity[0..K) + debt[0..K)`` of the subtree; ``sums[depth][0]`` are the
  published totals and equal the column sums of the snapshot exactly (integers, no rounding).
- Building is a pure function of (snapshot, secret, min_depth): the exchange can rebuild the same
  tree and re-issue any proof from the snapshot secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rucksack.reserves import commitments as c
from rucksack.reserves.liabilities import LiabilitySnapshot, check_snapshot

Sums = tuple[int, ...]


@dataclass(frozen=True)
class LeafOpening:
    """What the owner of a real leaf needs to recompute it."""

    account: int
    index: int
    salt: bytes
    equity: tuple[int, ...]
    debt: tuple[int, ...]


@dataclass(frozen=True)
class MerkleSumTree:
    snapshot_id: bytes
    depth: int
    assets: int  # K
    hashes: list[list[bytes]]  # hashes[level][i]; level 0 = leaves, hashes[depth] = [root]
    sums: list[list[Sums]]
    openings: dict[int, LeafOpening]  # account -> its leaf

    @property
    def root(self) -> bytes:
        return self.hashes[self.depth][0]

    @property
    def totals(self) -> Sums:
        return self.sums[self.depth][0]

    def path(self, index: int) -> list[tuple[bytes, Sums]]:
        """Sibling (hash, sums) pairs from the leaf level up to just below the root."""
        out: list[tuple[bytes, Sums]] = []
        for level in range(self.depth):
            sibling = index ^ 1
            out.append((self.hashes[level][sibling], self.sums[level][sibling]))
            index >>= 1
        return out


def tree_depth(n_accounts: int, min_depth: int = 0) -> int:
    depth = max(1, min_depth, (n_accounts - 1).bit_length() if n_accounts > 1 else 0)
    if depth > c.MAX_DEPTH:
        raise ValueError(f"depth {depth} exceeds {c.MAX_DEPTH}")
    return depth


def build_tree(
    snap: LiabilitySnapshot, secret: bytes, *, min_depth: int = 0, progress: Callable[[str], None] | None = None
) -> MerkleSumTree:
    """Build the tree for ``snap`` with the snapshot ``secret`` (keep it private; 32 random bytes).

    ``progress``, if given, receives a line after the leaves and after each level of a large tree.
    """
    check_snapshot(snap)
    if len(secret) < 16:
        raise ValueError("snapshot secret must be at least 16 bytes")
    k = len(snap.assets)
    depth = tree_depth(len(snap.rows), min_depth)
    size = 1 << depth
    snapshot_id = c.derive_snapshot_id(secret, snap.seq, snap.ts_us)

    # placement: sort real and padding leaves together on keyed hashes
    keyed: list[tuple[bytes, int, int]] = [
        (c.order_key_account(secret, r.account), 0, i) for i, r in enumerate(snap.rows)
    ]
    keyed += [(c.order_key_padding(secret, j), 1, j) for j in range(size - len(snap.rows))]
    keyed.sort()

    zero: Sums = (0,) * (2 * k)
    leaf_hashes: list[bytes] = []
    leaf_sums: list[Sums] = []
    openings: dict[int, LeafOpening] = {}
    for index, (_, is_pad, i) in enumerate(keyed):
        if is_pad:
            leaf_hashes.append(c.leaf_hash(snapshot_id, index, c.padding_uid(secret, i), zero[:k], zero[k:]))
            leaf_sums.append(zero)
            continue
        row = snap.rows[i]
        salt = c.derive_salt(secret, row.account)
        uid = c.uid_commit(salt, snapshot_id, row.account)
        leaf_hashes.append(c.leaf_hash(snapshot_id, index, uid, row.equity, row.debt))
        leaf_sums.append((*row.equity, *row.debt))
        openings[row.account] = LeafOpening(row.account, index, salt, tuple(row.equity), tuple(row.debt))

    if progress is not None:
        progress(f"{size} leaves hashed ({len(snap.rows)} accounts, {size - len(snap.rows)} padding)")
    hashes = [leaf_hashes]
    sums = [leaf_sums]
    node_hash = c.node_hash
    for _ in range(depth):
        below_h, below_s = hashes[-1], sums[-1]
        up_h: list[bytes] = []
        up_s: list[Sums] = []
        for j in range(0, len(below_h), 2):
            ls, rs = below_s[j], below_s[j + 1]
            up_h.append(node_hash(below_h[j], ls, below_h[j + 1], rs))
            up_s.append(tuple(a + b for a, b in zip(ls, rs, strict=True)))
        hashes.append(up_h)
        sums.append(up_s)
        if progress is not None and len(up_h) >= 1 << 16:
            progress(f"level {len(hashes) - 1} of {depth}: {len(up_h)} nodes")
    return MerkleSumTree(snapshot_id, depth, k, hashes, sums, openings)
