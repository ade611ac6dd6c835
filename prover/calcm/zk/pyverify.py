"""An independent Groth16 verifier (BN254) on py_ecc: checks snarkjs proofs without node.

For a verification key ``(alpha1, beta2, gamma2, delta2, IC[0..l])``, public
signals ``x[1..l]`` and a proof ``(A, B, C)``, the proof is valid iff

    e(A, B) = e(alpha1, beta2) * e(vk_x, gamma2) * e(C, delta2),
    vk_x = IC[0] + sum_i x[i] * IC[i],

checked as one product of four Miller loops and a single final exponentiation:
``e(-A, B) e(alpha1, beta2) e(vk_x, gamma2) e(C, delta2) == 1``.

Like the Solidity verifier, every public signal must be a canonical scalar
(``< r``); points must be on their curves, and ``B`` in the order-r subgroup of
G2 (G1 has cofactor 1). snarkjs JSON encodes G2 coordinates as ``[c0, c1]``
(``c0 + c1 * u``) in projective form ``[x, y, z]``; py_ecc's FQ2 takes the same order.
"""
from __future__ import annotations

from typing import Sequence

from py_ecc.optimized_bn128 import (FQ, FQ2, FQ12, add, b, b2, curve_order, field_modulus,
                                    final_exponentiate, is_inf, is_on_curve, multiply, neg)
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, miller_loop, twist


class ProofFormatError(ValueError):
    """A proof or key that is malformed (wrong shape, coordinate out of range, off-curve)."""


def _fq(v) -> FQ:
    x = int(v)
    if not 0 <= x < field_modulus:
        raise ProofFormatError(f"coordinate {x} is not in the base field")
    return FQ(x)


def g1(pt: Sequence) -> tuple:
    """A G1 point from snarkjs' ``[x, y, z]`` decimal strings (projective)."""
    if len(pt) != 3:
        raise ProofFormatError("G1 point must have 3 coordinates")
    p = (_fq(pt[0]), _fq(pt[1]), _fq(pt[2]))
    if not is_on_curve(p, b):
        raise ProofFormatError("G1 point is not on the curve")
    return p


def g2(pt: Sequence) -> tuple:
    """A G2 point from snarkjs' ``[[x0, x1], [y0, y1], [z0, z1]]`` (in the r-torsion)."""
    if len(pt) != 3 or any(len(c) != 2 for c in pt):
        raise ProofFormatError("G2 point must have 3 coordinates of 2 limbs")
    p = tuple(FQ2([int(_fq(c[0])), int(_fq(c[1]))]) for c in pt)
    if not is_on_curve(p, b2):
        raise ProofFormatError("G2 point is not on the twist curve")
    if not is_inf(multiply(p, curve_order)):
        raise ProofFormatError("G2 point is not in the order-r subgroup")
    return p


def _miller(q2, p1):
    if is_inf(q2) or is_inf(p1):
        return FQ12.one()
    return miller_loop(twist(q2), cast_point_to_fq12(p1), final_exponentiate=False)


def verify(vkey: dict, public: Sequence, proof: dict) -> bool:
    """Whether ``proof`` is a valid Groth16 proof of ``public`` under ``vkey``.

    Returns False for an invalid proof or a non-canonical public signal; raises
    :class:`ProofFormatError` for structurally malformed input.
    """
    if vkey.get("protocol") != "groth16" or vkey.get("curve") != "bn128":
        raise ProofFormatError("verification key is not groth16/bn128")
    ic = [g1(p) for p in vkey["IC"]]
    if len(public) != len(ic) - 1 or int(vkey.get("nPublic", len(public))) != len(public):
        raise ProofFormatError(f"expected {len(ic) - 1} public signals, got {len(public)}")
    xs = [int(x) for x in public]
    if any(not 0 <= x < curve_order for x in xs):
        return False
    a, c = g1(proof["pi_a"]), g1(proof["pi_c"])
    bp = g2(proof["pi_b"])
    vk_x = ic[0]
    for x, pt in zip(xs, ic[1:]):
        vk_x = add(vk_x, multiply(pt, x))
    f = (_miller(bp, neg(a))
         * _miller(g2(vkey["vk_beta_2"]), g1(vkey["vk_alpha_1"]))
         * _miller(g2(vkey["vk_gamma_2"]), vk_x)
         * _miller(g2(vkey["vk_delta_2"]), c))
    return final_exponentiate(f) == FQ12.one()
