"""Hash layouts, recomputed here by hand from the byte layout in the module docstring."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from rucksack.reserves import commitments as c


def test_leaf_layout_by_hand() -> None:
    sid, uid = b"\x11" * 16, b"\x22" * 32
    expected = hashlib.sha256(
        b"\x00rucksack-por-v1"
        + sid
        + (3).to_bytes(8, "big")
        + uid
        + (5).to_bytes(8, "big")
        + (6).to_bytes(8, "big")
        + (0).to_bytes(8, "big")
        + (1).to_bytes(8, "big")
    ).digest()
    assert c.leaf_hash(sid, 3, uid, [5, 6], [0, 1]) == expected


def test_node_layout_by_hand() -> None:
    left, right = b"\xaa" * 32, b"\xbb" * 32
    expected = hashlib.sha256(
        b"\x01rucksack-por-v1"
        + left
        + (1).to_bytes(16, "big")
        + (2).to_bytes(16, "big")
        + right
        + (3).to_bytes(16, "big")
        + (4).to_bytes(16, "big")
    ).digest()
    assert c.node_hash(left, [1, 2], right, [3, 4]) == expected


def test_salt_and_uid_are_keyed_hashes() -> None:
    secret, sid = b"s" * 32, b"i" * 16
    salt = hmac.new(secret, b"rucksack-por-v1/salt" + (1003).to_bytes(8, "big"), hashlib.sha256).digest()
    assert c.derive_salt(secret, 1003) == salt
    uid = hmac.new(salt, b"rucksack-por-v1/uid" + sid + (1003).to_bytes(8, "big"), hashlib.sha256).digest()
    assert c.uid_commit(salt, sid, 1003) == uid
    assert c.derive_salt(b"t" * 32, 1003) != salt  # a fresh secret per snapshot: unlinkable salts


def test_leaves_and_nodes_are_domain_separated() -> None:
    # a node's preimage can never be read as a leaf's: the first byte differs
    assert c.LEAF_TAG[0] != c.NODE_TAG[0]


def test_fixed_width_encodings_refuse_out_of_range() -> None:
    with pytest.raises(OverflowError):
        c.leaf_hash(b"\0" * 16, 0, b"\0" * 32, [1 << 64], [0])
    with pytest.raises(OverflowError):
        c.leaf_hash(b"\0" * 16, 0, b"\0" * 32, [-1], [0])
    with pytest.raises(OverflowError):
        c.node_hash(b"\0" * 32, [1 << 128], b"\0" * 32, [0])
    assert c.sums_limit(0) == 1 << 64 and c.sums_limit(3) == 1 << 67
