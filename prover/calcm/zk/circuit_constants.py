"""The generated ``circuits/constants.circom``: every scale, bit bound, shift and domain tag the
circuits use, written from :mod:`calcm.fixedpoint`, :mod:`calcm.poseidon` and
:mod:`calcm.risk.modelfx.constants`, never pasted into a template.

Each constant is a circom function (``RATE_BITS()``); templates read them through a local
``var`` of the same name where they use one often (``var BPS = BPS();``). The polynomial
tables stay in ``circuits/model/tables.circom`` (:mod:`calcm.zk.model_circuit`).
:func:`check_constants` (run by the zk tests and ``calcm model-tables --check``) fails when
the file is stale, :func:`write_constants` regenerates it.
"""
from __future__ import annotations

from .. import atomic
from ..fixedpoint import (BPS, GARCH_FRAC, MONEY_BITS, MONEY_SCALE, MOVE_BITS, PRICE_BITS,
                          PRICE_SCALE, QTY_BITS, QTY_SCALE, RATE, RATE_BITS, RET_FRAC, RET_HI_BITS,
                          VAR_BITS)
from ..paths import CIRCUITS
from ..poseidon import SPONGE_RATE
from ..risk.modelfx.constants import (GARCH_SHIFT, HVAR_BITS, LIN_SHIFT, MODEL_DOMAIN, MONEYNESS_CAP_FX,
                                      MOVE_SHIFT, PARAM_DOMAIN, SQRT_PRESHIFT, STATE_DOMAIN)
from .model_circuit import PRICE_LANE_BITS, PRICES_PER_FIELD
from .witness import RESULT_GROUP_BITS, RESULT_TIERS_SHIFT

CONSTANTS_FILE = CIRCUITS / "constants.circom"


def margin_constants() -> dict[str, tuple[int, str]]:
    """name -> (value, meaning): the margin circuit's scales and bounds (ranges half-open
    ``[low, high)`` as in calcm.fixedpoint; signed ones are ``(-2^B, 2^B)``)."""
    assert RATE.low == 0 and RATE.high == 2**RATE.offset_bits == 2**RATE_BITS
    return {
        "QTY_SCALE": (QTY_SCALE, "quantities: units of 1/QTY_SCALE (calcm.fixedpoint.QTY_SCALE)"),
        "PRICE_SCALE": (PRICE_SCALE, "per-unit values: micro-USD (calcm.fixedpoint.PRICE_SCALE)"),
        "MONEY_SCALE": (MONEY_SCALE, "money = QTY_SCALE * PRICE_SCALE (calcm.fixedpoint.MONEY_SCALE)"),
        "BPS": (BPS, "basis points per unit (calcm.fixedpoint.BPS)"),
        "BPS_BITS": ((BPS - 1).bit_length(), "bits of BPS - 1: a value in [0, BPS) fits them"),
        "QTY_BITS": (QTY_BITS, "quantities |q| < 2^QTY_BITS, collateral in [0, 2^QTY_BITS)"),
        "PRICE_BITS": (PRICE_BITS, "per-unit values |v| < 2^PRICE_BITS (prices in [1, 2^PRICE_BITS))"),
        "MONEY_BITS": (MONEY_BITS, "money |x| < 2^MONEY_BITS (calcm.fixedpoint.MONEY)"),
        "RATE_BITS": (RATE_BITS, "rates in bps: [0, 2^RATE_BITS) (calcm.fixedpoint.RATE)"),
        "SPONGE_RATE": (SPONGE_RATE, "field elements absorbed per Poseidon(16) call (calcm.poseidon)"),
        "MODEL_DOMAIN": (MODEL_DOMAIN, "domain tag of linCommitment (modelfx.constants.MODEL_DOMAIN)"),
        "RESULT_GROUP_BITS": (RESULT_GROUP_BITS, "packedResult: group in bits [0, RESULT_GROUP_BITS) (zk.witness)"),
        "RESULT_TIERS_SHIFT": (RESULT_TIERS_SHIFT, "packedResult: tier a in bits [RESULT_TIERS_SHIFT + 2a, +2)"),
    }


def model_constants() -> dict[str, tuple[int, str]]:
    """name -> (value, meaning): the model circuits' shifts, bounds and domain tags
    (calcm.risk.modelfx.step; AssetMove, ScenarioMove, SimpleReturn, GarchStep)."""
    assert (HVAR_BITS + SQRT_PRESHIFT) % 2 == 0
    return {
        "RET_FRAC": (RET_FRAC, "simple returns at 2^RET_FRAC, >= -2^RET_FRAC (calcm.fixedpoint)"),
        "RET_HI_BITS": (RET_HI_BITS, "simple returns below 2^RET_HI_BITS"),
        "VAR_BITS": (VAR_BITS, "GARCH variance (2^48) below 2^VAR_BITS"),
        "GARCH_SHIFT": (GARCH_SHIFT, "sigma2Next = rdiv(..., GARCH_SHIFT) (modelfx.constants)"),
        "HORIZON_SHIFT": (GARCH_FRAC, "V = rdiv(A sigma2, HORIZON_SHIFT) + B: A at 2^GARCH_FRAC"),
        "HVAR_BITS": (HVAR_BITS, "horizon variances V, Vf (2^48) below 2^HVAR_BITS (modelfx.constants.HVAR)"),
        "SQRT_PRESHIFT": (SQRT_PRESHIFT, "sigma_h = isqrt(Vf 2^SQRT_PRESHIFT) (2^32)"),
        "SIGMA_H_BITS": ((HVAR_BITS + SQRT_PRESHIFT) // 2, "sigma_h below 2^SIGMA_H_BITS"),
        "MOVE_SHIFT": (MOVE_SHIFT, "move = rdiv(price sigma_h, MOVE_SHIFT) (PRICE 2^4)"),
        "MOVE_BITS": (MOVE_BITS, "move below 2^MOVE_BITS (calcm.fixedpoint.MOVE_BITS)"),
        "LIN_SHIFT": (LIN_SHIFT, "lin = rdiv(z move, LIN_SHIFT): z at 2^16 times move at PRICE 2^4"),
        "MONEYNESS_CAP": (MONEYNESS_CAP_FX, "|log-moneyness| cap of the skew shock at 2^32 (modelfx.constants)"),
        "PRICES_PER_FIELD": (PRICES_PER_FIELD, "prices packed per public input (zk.model_circuit.pack_prices)"),
        "PRICE_LANE_BITS": (PRICE_LANE_BITS, "bits per packed price lane"),
        "PARAM_DOMAIN": (PARAM_DOMAIN, "domain tag of the parameter tree (modelfx.constants)"),
        "STATE_DOMAIN": (STATE_DOMAIN, "domain tag of the model state (modelfx.constants)"),
    }


def constants() -> dict[str, tuple[int, str]]:
    """Every generated constant, margin first."""
    return {**margin_constants(), **model_constants()}


def constants_source() -> str:
    """Source of ``circuits/constants.circom`` (generated; never edit by hand)."""
    out = ["// GENERATED by calcm.zk.circuit_constants.constants_source(): do not edit.",
           "// Regenerate with `calcm model-tables` (a test checks this file is current).",
           "pragma circom 2.1.0;", ""]
    for title, group in (("Margin circuit", margin_constants()), ("Model circuits", model_constants())):
        out += [f"// ---- {title} ----", ""]
        for name, (value, doc) in group.items():
            out += [f"// {doc}", f"function {name}() {{", f"    return {value};", "}", ""]
    return "\n".join(out)


def write_constants() -> bool:
    """(Re)write the generated file; returns True when it changed."""
    src = constants_source()
    if CONSTANTS_FILE.exists() and CONSTANTS_FILE.read_text() == src:
        return False
    atomic.write_text(CONSTANTS_FILE, src)
    return True


class StaleConstants(RuntimeError):
    """circuits/constants.circom does not match what Python generates."""


def check_constants() -> None:
    if not CONSTANTS_FILE.exists() or CONSTANTS_FILE.read_text() != constants_source():
        raise StaleConstants(f"{CONSTANTS_FILE} is stale or missing: run `calcm model-tables`")
