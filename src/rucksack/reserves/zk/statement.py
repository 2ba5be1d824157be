"""What the tier (b) circuit proves, in Python: shapes, coefficients, leaf/chain/accumulator hashes.

Stdlib only (plus :mod:`rucksack.reserves.commitments` and :mod:`.poseidon`), shared by the prover
and the standalone verifier so both use one definition of every value. The circuit is
``circuits/por_batch.circom``; its header states the same relations.

- One circuit per :class:`Shape`: batches of ``batch = 2**log_batch`` accounts x ``assets`` asset
  columns, ``assets`` = the snapshot's asset count (any number). :func:`shape_for` picks the widest
  batch whose circuit fits the powers-of-tau (``2**MAX_CONSTRAINTS_LOG2`` constraints), from
  :func:`estimate_constraints`; the compiler's exact count is checked again when it is built.
- Coefficients (public inputs): with ``S`` the smallest scale making every value an integer,
  ``ccoef[a] = price_a * weight_a * 10**S / 10**decimals_a`` (collateral per atom of equity) and
  ``dcoef[a] = price_a * 10**S / 10**decimals_a`` (value per atom of debt), each < 2**64. The
  circuit checks ``sum_a equity*ccoef >= sum_a debt*dcoef`` per account: haircut collateral covers
  debt, exactly (no rounding).
- ``uid = HMAC(salt, "rucksack-por-v1/zk-uid" || snapshot_id || u64 account)[:31]`` as an integer:
  the same per-user salt as tier (a), so the owner can recompute it; 248 bits, below the field.
- :func:`hash_wide` hashes any number of field elements: ``Poseidon(xs)`` for up to 16 inputs
  (circomlib's limit), else ``hash_wide(n, Poseidon(chunk_1), ..., Poseidon(chunk_m))`` over
  consecutive chunks of 16 (the last one shorter) with the input count ``n`` first.
- ``leaf = hash_wide(1, uid, equity[0..K), debt[0..K))`` (2 + 2K inputs: one Poseidon up to 7
  assets); Merkle nodes ``Poseidon(l, r)``.
- ``chain_0 = snapshot_id`` (16 bytes as an integer); ``chain_i = Poseidon(chain_{i-1}, root_i)``.
- ``acc = hash_wide(2, chain, totals[0..2K), salt)``; ``acc_0`` has zero totals and salt 0,
  so anyone computes it from the snapshot id. Later salts are secret until the last one is opened.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from rucksack.reserves import commitments as c
from rucksack.reserves.zk.poseidon import poseidon

POSEIDON_MAX_INPUTS: Final = 16  # circomlib's Poseidon(n) takes n <= 16
MAX_CONSTRAINTS_LOG2: Final = 14  # the provided ptau's power
MAX_LOG_BATCH: Final = 6
LEAF_TAG: Final = 1
ACC_TAG: Final = 2
COEF_LIMIT: Final = 1 << 64
CIRCUIT_NAME: Final = "por_batch"


class StatementError(ValueError):
    """Prices, weights or decimals that the circuit cannot represent."""


@dataclass(frozen=True)
class Shape:
    """A batch circuit: ``2**log_batch`` accounts x ``assets`` asset columns."""

    log_batch: int
    assets: int

    @property
    def batch(self) -> int:
        return 1 << self.log_batch

    @property
    def n_public(self) -> int:
        """batch_root, acc_prev, acc_next, ccoef[assets], dcoef[assets]."""
        return 3 + 2 * self.assets


# partial rounds of circomlib's Poseidon by width t = inputs + 1 (t = 2..17)
_ROUNDS_P: Final = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)


def _poseidon_cost(n: int) -> int:
    return 3 * (8 * (n + 1) + _ROUNDS_P[n - 1])  # 3 constraints per S-box (x^5)


def hash_wide_cost(n: int) -> int:
    """Constraints of :func:`hash_wide` over ``n`` inputs (circomlib's Poseidon: 3 per S-box)."""
    if n <= POSEIDON_MAX_INPUTS:
        return _poseidon_cost(n)
    chunks = [min(POSEIDON_MAX_INPUTS, n - i) for i in range(0, n, POSEIDON_MAX_INPUTS)]
    return sum(_poseidon_cost(c) for c in chunks) + hash_wide_cost(len(chunks) + 1)


def estimate_constraints(shape: Shape) -> int:
    """An upper estimate of the batch circuit's constraints (the compiler reports the exact count)."""
    k, b = shape.assets, shape.batch
    range_bits = 65 * 2 * k  # Num2Bits(64): 64 bits + their sum
    diff_bits = 131 + max(0, (k - 1).bit_length())
    per_account = range_bits + 2 * k + diff_bits + hash_wide_cost(2 + 2 * k) + _poseidon_cost(2)
    per_batch = 2 * hash_wide_cost(3 + 2 * k) + _poseidon_cost(2)
    return b * per_account + per_batch


def shape_for(assets: int) -> Shape:
    """The widest batch (up to ``2**MAX_LOG_BATCH``) whose circuit fits the ptau for ``assets`` columns."""
    if assets < 1:
        raise StatementError("a snapshot without assets has nothing to prove")
    for log_batch in range(MAX_LOG_BATCH, -1, -1):
        shape = Shape(log_batch, assets)
        if estimate_constraints(shape) <= 1 << MAX_CONSTRAINTS_LOG2:
            return shape
    raise StatementError(
        f"{assets} assets: even a batch of one account exceeds 2**{MAX_CONSTRAINTS_LOG2} constraints "
        "(a larger powers-of-tau is needed)"
    )


def coefficients(
    prices: Sequence[str], weights: Sequence[str], decimals: Sequence[int], columns: int | None = None
) -> tuple[int, list[int], list[int]]:
    """``(scale, ccoef, dcoef)`` from exact decimal strings, zero-padded to ``columns`` (default:
    one per asset; a circuit with more columns than assets proves zero balances in the rest)."""
    width = len(prices) if columns is None else columns
    if len(prices) > width:
        raise StatementError(f"{len(prices)} assets: this circuit has {width} asset columns")
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
    cc = [int(v * 10**scale) for v in coll] + [0] * (width - len(coll))
    dc = [int(v * 10**scale) for v in owed] + [0] * (width - len(owed))
    if any(x >= COEF_LIMIT for x in cc + dc):
        raise StatementError(f"a price coefficient at scale 10**{scale} is >= 2**64; the circuit cannot use it")
    return scale, cc, dc


def covered(equity: Sequence[int], debt: Sequence[int], ccoef: Sequence[int], dcoef: Sequence[int]) -> bool:
    """The per-account relation the circuit enforces: haircut collateral >= debt value."""
    return sum(e * w for e, w in zip(equity, ccoef, strict=False)) >= sum(
        d * p for d, p in zip(debt, dcoef, strict=False)
    )


def pad(values: Sequence[int], columns: int) -> list[int]:
    return [*values, *[0] * (columns - len(values))]


def hash_wide(inputs: Sequence[int]) -> int:
    """Poseidon over any number of inputs: one ``Poseidon(n)`` up to 16, else the count and the
    Poseidon of each consecutive chunk of 16, hashed again the same way (the circuit's ``HashWide``)."""
    n = len(inputs)
    if n <= POSEIDON_MAX_INPUTS:
        return poseidon(inputs)
    chunks = [poseidon(inputs[i : i + POSEIDON_MAX_INPUTS]) for i in range(0, n, POSEIDON_MAX_INPUTS)]
    return hash_wide([n, *chunks])


def zk_uid(salt: bytes, snapshot_id: bytes, account: int) -> int:
    digest = hmac.digest(salt, c.VERSION.encode() + b"/zk-uid" + snapshot_id + c.u64(account), "sha256")
    return int.from_bytes(digest[:31], "big")


def leaf(uid: int, equity: Sequence[int], debt: Sequence[int]) -> int:
    """``equity``/``debt`` already padded to the circuit's asset columns."""
    return hash_wide([LEAF_TAG, uid, *equity, *debt])


def node(left: int, right: int) -> int:
    return poseidon([left, right])


def chain_start(snapshot_id: bytes) -> int:
    return int.from_bytes(snapshot_id, "big")


def chain_step(chain: int, batch_root: int) -> int:
    return poseidon([chain, batch_root])


def accumulator(chain: int, totals: Sequence[int], salt: int) -> int:
    """``totals`` = equity[0..K) + debt[0..K)."""
    return hash_wide([ACC_TAG, chain, *totals, salt])


def acc_start(snapshot_id: bytes, columns: int) -> int:
    return accumulator(chain_start(snapshot_id), [0] * (2 * columns), 0)


def merkle_root(leaves: Sequence[int]) -> int:
    level = list(leaves)
    while len(level) > 1:
        level = [node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def merkle_levels(leaves: Sequence[int]) -> list[list[int]]:
    """Every level of the batch's tree, leaves first, the root alone last."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        levels.append([node(level[i], level[i + 1]) for i in range(0, len(level), 2)])
    return levels


def path_from_levels(levels: Sequence[Sequence[int]], position: int) -> list[int]:
    """Sibling hashes bottom-up, from :func:`merkle_levels`."""
    return [level[(position >> depth) ^ 1] for depth, level in enumerate(levels[:-1])]


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
