"""Tier (b) statement in Python: Poseidon vectors, price coefficients, Merkle paths (no Node needed)."""

from __future__ import annotations

import pytest

from rucksack.reserves.zk import statement as st
from rucksack.reserves.zk.poseidon import P, poseidon


def test_poseidon_matches_circomlib_vector() -> None:
    # circomlib's published test vector for Poseidon(2)([1, 2])
    assert poseidon([1, 2]) == 7853200120776062878684798364095072458815029376092732009249414926327459813530


def test_poseidon_refuses_non_field_inputs_and_unknown_widths() -> None:
    with pytest.raises(ValueError):
        poseidon([P, 1])
    with pytest.raises(ValueError):
        poseidon([-1, 1])
    with pytest.raises(ValueError):
        poseidon(list(range(17)))  # circomlib's Poseidon takes at most 16 inputs: hash_wide chunks


def test_coefficients_are_exact_and_padded() -> None:
    scale, cc, dc = st.coefficients(["1", "142.5"], ["1", "0.9"], [6, 9])
    # smallest scale making 142.5 * 0.9 / 10**9 and 1 / 10**6 integers
    assert scale == 11
    assert st.coefficients(["1", "142.5"], ["1", "0.9"], [6, 9], 4) == (11, [10**5, 12825, 0, 0], [10**5, 14250, 0, 0])
    assert cc == [10**5, 12825] and dc == [10**5, 14250]
    cc, dc = [*cc, 0, 0], [*dc, 0, 0]
    # 1 USDC of equity covers exactly 1 USDC of debt, and 1 SOL of debt needs 158.33.. USDC
    assert st.covered([10**6, 0, 0, 0], [10**6, 0, 0, 0], cc, dc)
    assert not st.covered([10**6, 0, 0, 0], [10**6 + 1, 0, 0, 0], cc, dc)
    assert st.covered([142_500_000, 0, 0, 0], [0, 10**9, 0, 0], cc, dc)
    assert not st.covered([142_499_999, 0, 0, 0], [0, 10**9, 0, 0], cc, dc)
    # haircut: 1 SOL of equity is worth 128.25 USDC as collateral
    assert st.covered([0, 10**9, 0, 0], [128_250_000, 0, 0, 0], cc, dc)
    assert not st.covered([0, 10**9, 0, 0], [128_250_001, 0, 0, 0], cc, dc)


def test_coefficients_refuse_what_the_circuit_cannot_hold() -> None:
    with pytest.raises(st.StatementError):
        st.coefficients(["1"] * 5, ["1"] * 5, [0] * 5, 4)  # more assets than the circuit's columns
    with pytest.raises(st.StatementError):
        st.coefficients(["100000", "0.000000000001"], ["1", "1"], [0, 18])  # coefficient >= 2**64
    with pytest.raises(st.StatementError):
        st.coefficients(["1"], ["1.5"], [0])  # weight above 1


def test_merkle_path_reaches_the_root_only_at_its_position() -> None:
    shape = st.shape_for(4)
    leaves = [st.leaf(i + 1, [i, 0, 0, 0], [0, 0, 0, 0]) for i in range(shape.batch)]
    root = st.merkle_root(leaves)
    levels = st.merkle_levels(leaves)
    assert levels[-1] == [root]
    for pos in range(shape.batch):
        path = st.merkle_path(leaves, pos)
        assert len(path) == shape.log_batch and st.path_from_levels(levels, pos) == path
        assert st.root_from_path(leaves[pos], pos, path) == root
        assert st.root_from_path(leaves[pos], pos ^ 1, path) != root


def test_domain_separation_and_snapshot_binding() -> None:
    # a leaf and an accumulator over the same numbers differ (tags 1 and 2)
    values = [5, 6, 7, 8, 9, 10, 11, 12]
    assert st.leaf(3, values[:4], values[4:]) != st.accumulator(3, values, 0)
    assert st.acc_start(bytes(16), 4) != st.acc_start(bytes(15) + b"\x01", 4)
    assert st.zk_uid(b"s" * 32, bytes(16), 1) < 1 << 248


def test_hash_wide_is_one_poseidon_up_to_16_inputs_then_chunks_of_16() -> None:
    xs = list(range(1, 41))
    assert st.hash_wide(xs[:16]) == poseidon(xs[:16])
    # 17 inputs: the count, then Poseidon of the first 16 and of the last one
    assert st.hash_wide(xs[:17]) == poseidon([17, poseidon(xs[:16]), poseidon(xs[16:17])])
    assert st.hash_wide(xs) == poseidon([40, poseidon(xs[:16]), poseidon(xs[16:32]), poseidon(xs[32:])])
    # 300 inputs: 19 chunk hashes and the count are 20 inputs, hashed wide again
    big = list(range(300))
    chunks = [poseidon(big[i : i + 16]) for i in range(0, 300, 16)]
    assert st.hash_wide(big) == poseidon([20, poseidon([300, *chunks[:15]]), poseidon(chunks[15:])])
    # a leaf is one Poseidon up to 7 assets (2 + 2K inputs), wide above
    assert st.leaf(9, [1, 2, 3, 4], [0, 0, 0, 5]) == poseidon([st.LEAF_TAG, 9, 1, 2, 3, 4, 0, 0, 0, 5])
    assert st.leaf(9, [1] * 7, [2] * 7) == poseidon([st.LEAF_TAG, 9, *[1] * 7, *[2] * 7])
    assert st.leaf(9, [1] * 8, [2] * 8) == st.hash_wide([st.LEAF_TAG, 9, *[1] * 8, *[2] * 8])


def test_every_asset_count_gets_a_circuit_within_the_ptau() -> None:
    last = 1 << 10
    for k in range(1, 33):
        shape = st.shape_for(k)
        assert shape.assets == k and shape.batch <= last  # more assets never widen the batch
        assert st.estimate_constraints(shape) <= 1 << st.MAX_CONSTRAINTS_LOG2
        last = shape.batch
    assert st.shape_for(4).batch == 8 and st.shape_for(7).batch == 4 and st.shape_for(20).batch == 2
    with pytest.raises(st.StatementError, match="larger powers-of-tau"):
        st.shape_for(64)
