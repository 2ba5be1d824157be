"""Byte layouts of every hash in the Merkle-sum tree (tier (a), spec §4.1). Stdlib only.

The builder and the standalone verifier both call these functions, so there is one definition of
each layout. All integers are unsigned and big-endian; SHA-256 everywhere; HMAC-SHA256 where a key
is involved.

- ``salt = HMAC(snapshot_secret, "rucksack-por-v1/salt" || u64 account)`` — 32 bytes, the per-user
  key ``k_user``. Derived, not stored, so the exchange can re-issue a proof from the snapshot secret.
  A fresh secret per snapshot makes salts (and so leaves) unlinkable across snapshots.
- ``snapshot_id = HMAC(snapshot_secret, "rucksack-por-v1/snapshot-id" || u64 seq || u64 ts_us)[:16]``.
- ``uid_commit = HMAC(salt, "rucksack-por-v1/uid" || snapshot_id || u64 account)``: the account id
  never appears in clear in the tree; without the salt it cannot be brute-forced.
- ``leaf = SHA256(0x00 || "rucksack-por-v1" || snapshot_id || u64 index || uid_commit
  || K x u64 equity || K x u64 debt)``. The index binds the leaf to its position.
- ``node = SHA256(0x01 || "rucksack-por-v1" || h_L || K x u128 equity_L || K x u128 debt_L
  || h_R || K x u128 equity_R || K x u128 debt_R)``. Each child's sums are committed separately
  (the Maxwell+ fix for the sum-splitting attack); the leading byte separates leaves from nodes.
- Padding leaves: ``uid_commit = HMAC(snapshot_secret, "rucksack-por-v1/pad" || u64 i)`` with zero
  balances — the same layout as a real leaf of an account holding nothing.
- Shuffle: every leaf (real or padding) is placed by sorting on ``HMAC(snapshot_secret, "order" ...)``,
  a keyed pseudo-random permutation that is fresh for every snapshot secret.

Range rules (checked by the verifier, relied on for injectivity of the fixed-width encodings):
a leaf value is in ``[0, 2**64)``; a node ``level`` levels above the leaves (leaves are level 0) has
sums in ``[0, 2**(64 + level))``; sums never exceed ``2**128 - 1`` because depth is at most
:data:`MAX_DEPTH`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

VERSION: Final = "rucksack-por-v1"
_V: Final = VERSION.encode()
LEAF_TAG: Final = b"\x00" + _V
NODE_TAG: Final = b"\x01" + _V
U64_LIMIT: Final = 1 << 64
MAX_DEPTH: Final = 40  # 2**40 leaves; keeps every sum far below 2**128
SNAPSHOT_ID_BYTES: Final = 16
HASH_BYTES: Final = 32


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")  # raises OverflowError outside [0, 2**64)


def _u128s(values: Sequence[int]) -> bytes:
    return b"".join(v.to_bytes(16, "big") for v in values)


def _u64s(values: Sequence[int]) -> bytes:
    return b"".join(v.to_bytes(8, "big") for v in values)


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def derive_salt(snapshot_secret: bytes, account: int) -> bytes:
    """The per-user key ``k_user`` handed to the account owner inside their proof."""
    return _hmac(snapshot_secret, _V + b"/salt" + u64(account))


def derive_snapshot_id(snapshot_secret: bytes, seq: int, ts_us: int) -> bytes:
    return _hmac(snapshot_secret, _V + b"/snapshot-id" + u64(seq) + u64(ts_us))[:SNAPSHOT_ID_BYTES]


def uid_commit(salt: bytes, snapshot_id: bytes, account: int) -> bytes:
    return _hmac(salt, _V + b"/uid" + snapshot_id + u64(account))


def padding_uid(snapshot_secret: bytes, i: int) -> bytes:
    return _hmac(snapshot_secret, _V + b"/pad" + u64(i))


def order_key_account(snapshot_secret: bytes, account: int) -> bytes:
    return _hmac(snapshot_secret, _V + b"/order/account" + u64(account))


def order_key_padding(snapshot_secret: bytes, i: int) -> bytes:
    return _hmac(snapshot_secret, _V + b"/order/pad" + u64(i))


def leaf_hash(snapshot_id: bytes, index: int, uid: bytes, equity: Sequence[int], debt: Sequence[int]) -> bytes:
    """Hash of one leaf; ``equity`` and ``debt`` are in the snapshot's asset order, each < 2**64."""
    return hashlib.sha256(LEAF_TAG + snapshot_id + u64(index) + uid + _u64s(equity) + _u64s(debt)).digest()


def node_hash(left: bytes, left_sums: Sequence[int], right: bytes, right_sums: Sequence[int]) -> bytes:
    """Hash of an inner node. ``*_sums`` is ``equity[0..K) + debt[0..K)`` of that child (2K values)."""
    return hashlib.sha256(NODE_TAG + left + _u128s(left_sums) + right + _u128s(right_sums)).digest()


def sums_limit(level: int) -> int:
    """Exclusive upper bound of any sum at ``level`` (0 = leaves): 2**64 leaves' worth per leaf below."""
    return 1 << (64 + level)
