"""Encodings shared with the contracts (the Python side; the Solidity side is in
``verifier_contracts/MarginRegistry.sol``). Tests run both on the same vectors.

- :func:`batch_context` (from :mod:`calcm.zk.context`): the ``context`` public signal,
  ``uint256(keccak256(abi.encodePacked(uint256 chainid, address registry, uint256 block))) >> 3``;
- :func:`pack_result` / :func:`unpack_result` (both from :mod:`calcm.zk.witness`): the margin
  batch's ``packedResult``, ``group + 2**32 * N + 2**40 * sum_a tier[a] * 4**a``;
- :func:`feed_price_fx` and :func:`pack_prices`: feed answers to ``PRICE_SCALE`` fixed point
  (rounded down), each ``1 <= price < 2**48`` (the circuits' price bound,
  ``fixedpoint.PRICE_BITS``), and 5 prices per field element at 50-bit lanes,
  ``sum_i price[5j + i] * 2**(50 i)``;
- the signal counts of the v2 proofs (docs/PROVING.md section 6) and the daily step's
  time boundary :func:`step_boundary` (``86400 * (day + 2)``);
- :func:`solidity_proof`: a snarkjs ``proof.json`` as the ``(a, b, c)`` tuple the verifiers take
  (G2 coordinates swapped to ``[c1, c0]``, as ``snarkjs zkey export soliditycalldata`` does).
"""
from __future__ import annotations

from ..fixedpoint import FIELD_PRIME, PRICE_BITS, PRICE_SCALE
# Written once in Python, in the zk stage (the witness needs them first); re-exported here.
from ..zk.context import batch_context  # noqa: F401
from ..zk.witness import (RESULT_SHAPE_BITS as SHAPE_BITS, pack_result,  # noqa: F401
                          unpack_result)
from ..zk.model_circuit import (PRICE_LANE_BITS, PRICES_PER_FIELD as PRICES_PER_SIGNAL,  # noqa: F401
                                pack_prices, unpack_prices)

GROUP_BITS = 32
TIER_BITS = 2
#: Largest group size whose tiers fit the registry's 128 tier bits.
MAX_GROUP_SIZE = 64
#: Margin batch public signals (PROVING.md section 6): accountsRoot, linCommitment,
#: optCommitment, context, packedResult.
MARGIN_SIGNALS = 5
#: Signals before the packed prices (interfaces/IModelVerifiers.sol, ModelSignals):
#: step [prevState, newState, linCommitment, paramHash, context],
#: reval [state, linCommitment, paramHash, context],
#: option part [state, prevOptSponge, nextOptSponge, paramHash, part].
STEP_FIXED_SIGNALS = 5
REVAL_FIXED_SIGNALS = 4
OPTION_FIXED_SIGNALS = 5
MODEL_FIXED_SIGNALS = STEP_FIXED_SIGNALS
#: Seconds per UTC day: a day number is ``updatedAt // DAY``.
DAY = 86400


def utc_time(ts: int) -> str:
    """A Unix time (s) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    from datetime import datetime, timezone
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_date(day: int) -> str:
    """A UTC day number (the registry's ``day``: Unix time // DAY) as ``YYYY-MM-DD``."""
    return utc_time(int(day) * DAY)[:10]


def feed_price_fx(answer: int, decimals: int) -> int:
    """A feed answer (``10**decimals`` scale) at ``PRICE_SCALE``, rounded down.

    Raises ValueError where the registry reverts (``MarginRegistry__PriceOutOfRange``): a
    non-positive answer, or a price outside ``[1, 2**48)``.
    """
    if answer <= 0:
        raise ValueError(f"feed answer {answer} is not positive")
    digits = len(str(PRICE_SCALE)) - 1
    price = (answer // 10 ** (decimals - digits) if decimals >= digits
             else answer * 10 ** (digits - decimals))
    if not 1 <= price < 2**PRICE_BITS:
        raise ValueError(f"price {price} (answer {answer}, {decimals} decimals) is outside "
                         f"[1, 2**{PRICE_BITS})")
    return price


def price_signal_count(n_assets: int) -> int:
    """``K = ceil(n_assets / 5)`` packed-price signals."""
    return -(-n_assets // PRICES_PER_SIGNAL)


def step_signal_count(n_assets: int) -> int:
    """Public signals of the daily step proof: ``5 + K``."""
    return STEP_FIXED_SIGNALS + price_signal_count(n_assets)


def reval_signal_count(n_assets: int) -> int:
    """Public signals of the intraday revaluation proof: ``4 + K``."""
    return REVAL_FIXED_SIGNALS + price_signal_count(n_assets)


def option_signal_count(n_assets: int) -> int:
    """Public signals of an option-part proof: ``5 + K``."""
    return OPTION_FIXED_SIGNALS + price_signal_count(n_assets)


#: The v1 name (one model-update proof); the v2 step has the same count.
model_signal_count = step_signal_count


def step_boundary(day: int) -> int:
    """The instant (seconds) the rounds of the step from ``day`` must be dated at or after:
    00:00 UTC of ``day + 2`` (the first round of day ``d + 2`` carries the close of
    ``d + 1``)."""
    return DAY * (day + 2)


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
