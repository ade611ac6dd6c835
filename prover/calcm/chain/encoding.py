"""Encodings shared with the contracts (the Python side; the Solidity side is in
``verifier_contracts/MarginRegistry.sol``). Tests run both on the same vectors.

- :func:`batch_context` (from :mod:`calcm.zk.context`): the ``context`` public signal,
  ``uint256(keccak256(abi.encodePacked(uint256 chainid, address registry, uint256 block))) >> 3``;
- :func:`pack_result` (from :mod:`calcm.zk.witness`) / :func:`unpack_result`: the margin
  batch's ``packedResult``, ``group + 2**32 * sum_a tier[a] * 4**a``;
- :func:`feed_price_fx` and :func:`pack_prices`: feed answers to ``PRICE_SCALE`` fixed point
  (rounded down) and 5 prices per field element at 50-bit lanes,
  ``sum_i price[5j + i] * 2**(50 i)``;
- :func:`solidity_proof`: a snarkjs ``proof.json`` as the ``(a, b, c)`` tuple the verifiers take
  (G2 coordinates swapped to ``[c1, c0]``, as ``snarkjs zkey export soliditycalldata`` does).
"""
from __future__ import annotations

from ..fixedpoint import FIELD_PRIME, PRICE_SCALE
# Written once in Python, in the zk stage (the witness needs them first); re-exported here.
from ..zk.context import batch_context  # noqa: F401
from ..zk.witness import pack_result  # noqa: F401
from ..zk.model_circuit import (PRICE_LANE_BITS, PRICES_PER_FIELD as PRICES_PER_SIGNAL,  # noqa: F401
                                pack_prices, unpack_prices)

GROUP_BITS = 32
TIER_BITS = 2
#: Largest group size whose tiers fit the registry's 128 tier bits.
MAX_GROUP_SIZE = 64
#: Margin batch public signals (docs/ARCHITECTURE.md): root, scenario, context, packedResult.
MARGIN_SIGNALS = 4
#: Model update public signals before the packed prices (IModelVerifier.sol).
MODEL_FIXED_SIGNALS = 5


def unpack_result(packed: int, n: int) -> tuple[int, list[int]]:
    """Inverse of :func:`pack_result` for a group of ``n`` leaves: ``(group, tiers)``."""
    group = packed & (2**GROUP_BITS - 1)
    rest = packed >> GROUP_BITS
    if rest >> (TIER_BITS * n):
        raise ValueError(f"packedResult has bits above {n} tiers")
    return group, [(rest >> (TIER_BITS * a)) & 3 for a in range(n)]


def feed_price_fx(answer: int, decimals: int) -> int:
    """A feed answer (``10**decimals`` scale) at ``PRICE_SCALE``, rounded down.

    Raises ValueError where the registry reverts (``MarginRegistry__BadPrice``): a
    non-positive answer, or a price that is 0 or does not fit a 50-bit lane.
    """
    if answer <= 0:
        raise ValueError(f"feed answer {answer} is not positive")
    digits = len(str(PRICE_SCALE)) - 1
    price = (answer // 10 ** (decimals - digits) if decimals >= digits
             else answer * 10 ** (digits - decimals))
    if not 0 < price < 2**PRICE_LANE_BITS:
        raise ValueError(f"price {price} (answer {answer}, {decimals} decimals) does not fit "
                         f"(0, 2**{PRICE_LANE_BITS})")
    return price


def model_signal_count(n_assets: int) -> int:
    """Public signals of the model update: 5 fixed ones plus ``ceil(n_assets / 5)`` prices."""
    return MODEL_FIXED_SIGNALS + -(-n_assets // PRICES_PER_SIGNAL)


def solidity_proof(proof: dict) -> tuple[list[int], list[list[int]], list[int]]:
    """snarkjs ``proof.json`` -> ``(a, b, c)`` for ``verifyProof``.

    snarkjs writes G2 coordinates as ``[c0, c1]``; the EVM pairing precompile (EIP-197)
    takes ``[c1, c0]``. Projective ``z`` coordinates (always 1) are dropped.
    """
    if proof.get("protocol", "groth16") != "groth16":
        raise ValueError(f"not a Groth16 proof: protocol {proof.get('protocol')!r}")
    a = [int(x) for x in proof["pi_a"][:2]]
    b = [[int(proof["pi_b"][0][1]), int(proof["pi_b"][0][0])],
         [int(proof["pi_b"][1][1]), int(proof["pi_b"][1][0])]]
    c = [int(x) for x in proof["pi_c"][:2]]
    return a, b, c


def in_field(v: int) -> bool:
    """Whether ``v`` is a canonical BN254 scalar (what every public signal must be)."""
    return 0 <= v < FIELD_PRIME
