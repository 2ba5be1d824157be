"""The Merkle-sum tree: a hand-computed two-leaf tree, padding, shuffling, totals."""

from __future__ import annotations

import hashlib

from rucksack.reserves import commitments as c
from rucksack.reserves.liabilities import AssetInfo
from rucksack.reserves.tree import build_tree, tree_depth
from tests.unit.reserves.conftest import ROWS, SECRET, snapshot


def _sha(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def test_two_accounts_by_hand() -> None:
    snap = snapshot([(1, [10], [0]), (2, [5], [3])], assets=[AssetInfo("USDC", 6)])
    tree = build_tree(snap, SECRET)
    assert tree.depth == 1
    sid = c.derive_snapshot_id(SECRET, 42, snap.ts_us)
    leaves = {}
    for account, eq, debt in [(1, 10, 0), (2, 5, 3)]:
        index = tree.openings[account].index
        uid = c.uid_commit(c.derive_salt(SECRET, account), sid, account)
        leaves[index] = (
            _sha(
                b"\x00rucksack-por-v1",
                sid,
                index.to_bytes(8, "big"),
                uid,
                eq.to_bytes(8, "big"),
                debt.to_bytes(8, "big"),
            ),
            (eq, debt),
        )
    (h0, s0), (h1, s1) = leaves[0], leaves[1]
    root = _sha(
        b"\x01rucksack-por-v1",
        h0,
        s0[0].to_bytes(16, "big"),
        s0[1].to_bytes(16, "big"),
        h1,
        s1[0].to_bytes(16, "big"),
        s1[1].to_bytes(16, "big"),
    )
    assert tree.root == root
    assert tree.totals == (15, 3)


def test_padding_to_a_power_of_two_and_totals() -> None:
    tree = build_tree(snapshot(ROWS), SECRET)
    assert tree.depth == 3 and len(tree.hashes[0]) == 8
    k = 2
    assert tree.totals[:k] == tuple(sum(r[1][i] for r in ROWS) for i in range(k))
    assert tree.totals[k:] == tuple(sum(r[2][i] for r in ROWS) for i in range(k))
    assert len({o.index for o in tree.openings.values()}) == len(ROWS)


def test_min_depth_hides_the_account_count() -> None:
    assert build_tree(snapshot(ROWS), SECRET, min_depth=10).depth == 10
    assert tree_depth(1) == 1 and tree_depth(2) == 1 and tree_depth(3) == 2 and tree_depth(1025) == 11


def test_shuffle_is_fresh_per_secret_and_interleaves_padding() -> None:
    rows = [(a, [a], [0]) for a in range(1, 21)]  # 20 accounts, 12 padding leaves
    snap = snapshot(rows, assets=[AssetInfo("USDC", 6)])
    layouts = []
    for s in range(8):
        tree = build_tree(snap, bytes([s]) * 32)
        layouts.append(tuple(tree.openings[a].index for a in range(1, 21)))
    assert len(set(layouts)) == 8  # every secret gives another permutation
    # padding is not all at the end: some real account sits past index 20 in some layout
    assert any(max(layout) >= 20 for layout in layouts)
    # and the build is deterministic for one secret (so proofs can be re-issued)
    assert build_tree(snap, bytes([3]) * 32).root == build_tree(snap, bytes([3]) * 32).root


def test_leaves_unlinkable_across_snapshots() -> None:
    a = build_tree(snapshot(ROWS), b"a" * 32)
    b = build_tree(snapshot(ROWS), b"b" * 32)
    assert not set(a.hashes[0]) & set(b.hashes[0])


def test_identical_balances_get_distinct_leaves() -> None:
    tree = build_tree(snapshot(ROWS), SECRET)
    i3, i4 = tree.openings[1003].index, tree.openings[1004].index
    assert tree.hashes[0][i3] != tree.hashes[0][i4]
