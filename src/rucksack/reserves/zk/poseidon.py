"""Poseidon over BN254's scalar field, exactly as circomlib's ``Poseidon(n)`` computes it. Stdlib only.

The reference (unoptimised) permutation of circomlibjs ``poseidon_reference.js``: state
``[0, inputs...]`` of width ``t = n + 1``, 8 full rounds and ``N_ROUNDS_P[t - 2]`` partial rounds,
x^5 S-box, round constants ``C`` and MDS matrix ``M`` from ``poseidon_constants.json`` beside this
file (copied from circomlibjs 0.1.7's ``src/poseidon_constants.json``, every width t = 2..17, i.e.
1..16 inputs, as circomlib's Poseidon takes; wider inputs go through ``statement.hash_wide``). The
circuit's hashes are checked against this function by the prover (every public signal) and the tests.

Slow (about 0.4 ms per 2-input hash), which is fine for a verifier: it hashes one Merkle path and
one chain of batch roots.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Final

P: Final = 21888242871839275222246405745257275088548364400416034343698204186575808495617
N_ROUNDS_F: Final = 8
N_ROUNDS_P: Final = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
_CONSTANTS: Final = Path(__file__).with_name("poseidon_constants.json")


@cache
def _params(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    widths = json.loads(_CONSTANTS.read_text(encoding="utf-8"))["widths"]
    if str(t) not in widths:
        raise ValueError(f"no Poseidon constants for width {t} (have {sorted(widths, key=int)})")
    w = widths[str(t)]
    return tuple(int(x, 16) for x in w["C"]), tuple(tuple(int(x, 16) for x in row) for row in w["M"])


def poseidon(inputs: Sequence[int]) -> int:
    """``Poseidon(len(inputs))(inputs)`` of circomlib; every input must be a field element (< P)."""
    if not inputs:
        raise ValueError("Poseidon needs at least one input")
    for x in inputs:
        if type(x) is not int or not 0 <= x < P:
            raise ValueError(f"Poseidon input {x!r} is not a field element")
    t = len(inputs) + 1
    c, m = _params(t)
    rounds_p = N_ROUNDS_P[t - 2]
    half_f = N_ROUNDS_F // 2
    state = [0, *inputs]
    for r in range(N_ROUNDS_F + rounds_p):
        state = [(x + c[r * t + i]) % P for i, x in enumerate(state)]
        if r < half_f or r >= half_f + rounds_p:
            state = [pow(x, 5, P) for x in state]
        else:
            state[0] = pow(state[0], 5, P)
        state = [sum(m[i][j] * x for j, x in enumerate(state)) % P for i in range(t)]
    return state[0]
