"""Groth16 verification over BN254 in pure Python (``py_ecc.optimized_bn128``), for snarkjs JSON.

Inputs are snarkjs' own formats: a verification key (``snarkjs zkey export verificationkey``), a
proof (``pi_a``, ``pi_b``, ``pi_c``; projective coordinates as decimal strings, G2 coordinates as
``[c0, c1]`` for ``c0 + c1*u``) and the public signals. The check is the Groth16 equation

    e(A, B) = e(alpha, beta) * e(vk_x, gamma) * e(C, delta),  vk_x = IC[0] + sum_i s_i * IC[i+1]

done as one product of four Miller loops and a single final exponentiation. Every point is parsed
strictly (coordinates < q, on the curve, G2 points in the prime-order subgroup) and every public
signal must be < r: a malformed input is a :class:`Groth16Error`, never a crash or a pass.
"""

from __future__ import annotations

from typing import Any

from py_ecc import optimized_bn128 as bn

Q = bn.field_modulus
R = bn.curve_order


class Groth16Error(ValueError):
    """A verification key, proof or public signal that is malformed."""


def _fq(value: Any) -> int:
    if not isinstance(value, str) or not value.isdigit():
        raise Groth16Error(f"coordinate {value!r} is not a decimal string")
    n = int(value)
    if n >= Q:
        raise Groth16Error("coordinate is not below the field modulus")
    return n


def _g1(value: Any) -> Any:
    if not isinstance(value, list) or len(value) != 3:
        raise Groth16Error("a G1 point is a list of 3 coordinates")
    x, y, z = (_fq(v) for v in value)
    if z == 0:
        raise Groth16Error("G1 point at infinity")
    point = (bn.FQ(x), bn.FQ(y), bn.FQ(z))
    if not bn.is_on_curve(point, bn.b):
        raise Groth16Error("G1 point not on the curve")
    return point


def _g2(value: Any) -> Any:
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, list) and len(v) == 2 for v in value):
        raise Groth16Error("a G2 point is a list of 3 pairs of coordinates")
    x, y, z = (bn.FQ2([_fq(v[0]), _fq(v[1])]) for v in value)
    if z == bn.FQ2.zero():
        raise Groth16Error("G2 point at infinity")
    point = (x, y, z)
    if not bn.is_on_curve(point, bn.b2):
        raise Groth16Error("G2 point not on the twist curve")
    if not bn.is_inf(bn.multiply(point, R)):
        raise Groth16Error("G2 point not in the prime-order subgroup")
    return point


class VerifyingKey:
    """A parsed snarkjs Groth16 verification key (BN254)."""

    def __init__(self, vkey: Any) -> None:
        if not isinstance(vkey, dict):
            raise Groth16Error("the verification key is not a JSON object")
        if vkey.get("protocol") != "groth16" or vkey.get("curve") != "bn128":
            raise Groth16Error("not a Groth16 key over bn128")
        n_public = vkey.get("nPublic")
        ic = vkey.get("IC")
        if type(n_public) is not int or not isinstance(ic, list) or len(ic) != n_public + 1:
            raise Groth16Error("nPublic and IC do not match")
        self.n_public: int = n_public
        self.alpha = _g1(vkey.get("vk_alpha_1"))
        self.beta = _g2(vkey.get("vk_beta_2"))
        self.gamma = _g2(vkey.get("vk_gamma_2"))
        self.delta = _g2(vkey.get("vk_delta_2"))
        self.ic = [_g1(p) for p in ic]
        self._alpha_beta = bn.pairing(self.beta, self.alpha, final_exponentiate=False)


def verify(vk: VerifyingKey, proof: Any, public: list[int]) -> bool:
    """True iff ``proof`` is a valid Groth16 proof for ``public`` under ``vk``.

    Raises :class:`Groth16Error` for a malformed proof or out-of-range signals.
    """
    if not isinstance(proof, dict):
        raise Groth16Error("the proof is not a JSON object")
    if len(public) != vk.n_public:
        raise Groth16Error(f"{len(public)} public signals, the key expects {vk.n_public}")
    for s in public:
        if type(s) is not int or not 0 <= s < R:
            raise Groth16Error(f"public signal {s!r} is not below the curve order")
    a = _g1(proof.get("pi_a"))
    b = _g2(proof.get("pi_b"))
    c = _g1(proof.get("pi_c"))
    vk_x = vk.ic[0]
    for s, point in zip(public, vk.ic[1:], strict=True):
        if s:
            vk_x = bn.add(vk_x, bn.multiply(point, s))
    product = (
        bn.pairing(b, bn.neg(a), final_exponentiate=False)
        * vk._alpha_beta
        * bn.pairing(vk.gamma, vk_x, final_exponentiate=False)
        * bn.pairing(vk.delta, c, final_exponentiate=False)
    )
    return bool(bn.final_exponentiate(product) == bn.FQ12.one())
