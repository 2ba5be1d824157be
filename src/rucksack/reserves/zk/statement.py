"""What the tier (b) circuit proves, in Python: shapes, coefficients, leaf/chain/accumulator hashes.

Stdlib only (plus :mod:`rucksack.reserves.commitments` and :mod:`.poseidon`), shared by the prover
and the standalone verifier so both use one definition of every value. The circuit is
``circuits/por_batch.circom``; its header states the same relations.

- One circuit: batches of ``BATCH = 2**LOG_BATCH`` accounts x ``K_MAX`` asset columns. A snapshot
  with fewer assets is padded with zero columns (coefficient 0, balances 0); more are refused.
- Coefficients (public inputs): with ``S`` the smallest scale making every value an integer,
  ``ccoef[a] = price_a * weight_a * 10**S / 10**decimals_a`` (collateral per atom of equity) and
  ``dcoef[a] = price_a * 10**S / 10**decimals_a`` (value per atom of debt), each < 2**64. The
  circuit checks ``sum_a equity*ccoef >= sum_a debt*dcoef`` per account: haircut collateral covers
  debt, exactly (no rounding).
- ``uid = HMAC(salt, "rucksack-por-v1/zk-uid" || snapshot_id || u64 account)[:31]`` as an integer:
  the same per-user salt as tier (a), so the owner can recompute it; 248 bits, below the field.
- ``leaf = Poseidon(1, uid, equity[0..K_MAX), debt[0..K_MAX), 0)``; Merkle nodes ``Poseidon(l, r)``.
- ``chain_0 = snapshot_id`` (16 bytes as an integer); ``chain_i = Poseidon(chain_{i-1}, root_i)``.
- ``acc = Poseidon(2, chain, totals[0..2*K_MAX), salt)``; ``acc_0`` has zero totals and salt 0,
  so anyone computes it from the snapshot id. Later salts are secret until the last one is opened.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from fractions import Fraction
from typing import Final

from rucksack.reserves import commitments as c
from rucksack.reserves.zk.poseidon import poseidon

LOG_BATCH: Final = 3
BATCH: Final = 1 << LOG_BATCH
K_MAX: Final = 4
N_PUBLIC: Final = 3 + 2 * K_MAX  # batch_root, acc_prev, acc_next, ccoef[K_MAX], dcoef[K_MAX]
LEAF_TAG: Final = 1
ACC_TAG: Final = 2
COEF_LIMIT: Final = 1 << 64
CIRCUIT_NAME: Final = "por_batch"


class StatementError(ValueError):
    """Prices, weights or decimals that the circuit cannot represent."""


def coefficients(
    prices: Sequence[str], weights: Sequence[str], decimals: Sequence[int]
) -> tuple[int, list[int], list[int]]:
    """``(scale, ccoef[K_MAX], dcoef[K_MAX])`` from exact decimal strings; zero-padded to ``K_MAX``."""
    if len(prices) > K_MAX:
        raise StatementError(f"{len(prices)} assets: this circuit proves at most {K_MAX}")
    coll: list[Fraction] = []
    owed: list[Fraction] = []
    for price, weight, dec in zip(prices, weights, decimals, strict=True):
        p, w = Fraction(price), Fraction(weight)
        if p < 0 or not 0 <= w <= 1:
            raise StatementError(f"price {price} / weight {weight} out of range")
        coll.append(p * w / 10**dec)
        owed.append(p / 10**dec)
    scale = 0
    while any((v * 10**scale).denominator != 1 for v in coll + owed):
        scale += 1
        if scale > 80:
            raise StatementError("prices need more than 80 decimal digits")
    cc = [int(v * 10**scale) for v in coll] + [0] * (K_MAX - len(coll))
    dc = [int(v * 10**scale) for v in owed] + [0] * (K_MAX - len(owed))
    if any(x >= COEF_LIMIT for x in cc + dc):
        raise StatementError(f"a price coefficient at scale 10**{scale} is >= 2**64; the circuit cannot use it")
    return scale, cc, dc


def covered(equity: Sequence[int], debt: Sequence[int], ccoef: Sequence[int], dcoef: Sequence[int]) -> bool:
    """The per-account relation the circuit enforces: haircut collateral >= debt value."""
    return sum(e * w for e, w in zip(equity, ccoef, strict=False)) >= sum(
        d * p for d, p in zip(debt, dcoef, strict=False)
    )


def pad(values: Sequence[int]) -> list[int]:
    return [*values, *[0] * (K_MAX - len(values))]


def zk_uid(salt: bytes, snapshot_id: bytes, account: int) -> int:
    digest = hmac.digest(salt, c.VERSION.encode() + b"/zk-uid" + snapshot_id + c.u64(account), "sha256")
    return int.from_bytes(digest[:31], "big")


def leaf(uid: int, equity: Sequence[int], debt: Sequence[int]) -> int:
    """``equity``/``debt`` already padded to ``K_MAX``."""
    return poseidon([LEAF_TAG, uid, *equity, *debt, 0])


def node(left: int, right: int) -> int:
    return poseidon([left, right])


def chain_start(snapshot_id: bytes) -> int:
    return int.from_bytes(snapshot_id, "big")


def chain_step(chain: int, batch_root: int) -> int:
    return poseidon([chain, batch_root])


def accumulator(chain: int, totals: Sequence[int], salt: int) -> int:
    """``totals`` = equity[0..K_MAX) + debt[0..K_MAX)."""
    return poseidon([ACC_TAG, chain, *totals, salt])


def acc_start(snapshot_id: bytes) -> int:
    return accumulator(chain_start(snapshot_id), [0] * (2 * K_MAX), 0)


def merkle_root(leaves: Sequence[int]) -> int:
    level = list(leaves)
    while len(level) > 1:
        level = [node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def merkle_path(leaves: Sequence[int], position: int) -> list[int]:
    """Sibling hashes bottom-up."""
    level, out, i = list(leaves), [], position
    while len(level) > 1:
        out.append(level[i ^ 1])
        level = [node(level[j], level[j + 1]) for j in range(0, len(level), 2)]
        i >>= 1
    return out


def root_from_path(leaf_hash: int, position: int, siblings: Sequence[int]) -> int:
    h = leaf_hash
    for level, sib in enumerate(siblings):
        h = node(sib, h) if (position >> level) & 1 else node(h, sib)
    return h
