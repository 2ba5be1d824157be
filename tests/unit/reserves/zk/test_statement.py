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
        poseidon([1, 2, 3])  # width 4: no constants shipped (the circuit never uses it)


def test_coefficients_are_exact_and_padded() -> None:
    scale, cc, dc = st.coefficients(["1", "142.5"], ["1", "0.9"], [6, 9])
    # smallest scale making 142.5 * 0.9 / 10**9 and 1 / 10**6 integers
    assert scale == 11
    assert cc == [10**5, 12825, 0, 0] and dc == [10**5, 14250, 0, 0]
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
        st.coefficients(["1"] * 5, ["1"] * 5, [0] * 5)  # more assets than the circuit
    with pytest.raises(st.StatementError):
        st.coefficients(["100000", "0.000000000001"], ["1", "1"], [0, 18])  # coefficient >= 2**64
    with pytest.raises(st.StatementError):
        st.coefficients(["1"], ["1.5"], [0])  # weight above 1


def test_merkle_path_reaches_the_root_only_at_its_position() -> None:
    leaves = [st.leaf(i + 1, [i, 0, 0, 0], [0, 0, 0, 0]) for i in range(st.BATCH)]
    root = st.merkle_root(leaves)
    for pos in range(st.BATCH):
        path = st.merkle_path(leaves, pos)
        assert len(path) == st.LOG_BATCH
        assert st.root_from_path(leaves[pos], pos, path) == root
        assert st.root_from_path(leaves[pos], pos ^ 1, path) != root


def test_domain_separation_and_snapshot_binding() -> None:
    # a leaf and an accumulator over the same numbers differ (tags 1 and 2)
    values = [5, 6, 7, 8, 9, 10, 11, 12]
    assert st.leaf(3, values[:4], values[4:]) != st.accumulator(3, values, 0)
    assert st.acc_start(bytes(16)) != st.acc_start(bytes(15) + b"\x01")
    assert st.zk_uid(b"s" * 32, bytes(16), 1) < 1 << 248
