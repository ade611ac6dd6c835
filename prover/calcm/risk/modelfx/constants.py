"""Shifts, ranges and domain tags of the fixed-point model (docs/PROVING.md, docs/CIRCUITS.md §2).

Every shift is derived from the scales of :mod:`calcm.fixedpoint`; every range is
the one the circuits check (or, for parameters, the one governance validates
before publishing the parameter hash).
"""
from __future__ import annotations

from ...fixedpoint import (BPS, D_FRAC, D_INT_BITS, GARCH_FRAC, IV_FRAC, LN_FRAC, PRICE_BITS,
                           RET_FRAC, RET_HI_BITS, SHOCK_FRAC, SHOCK_INT_BITS, SHOCK_MIN_DEN,
                           SHOCK_MIN_NUM, T_FRAC, VAR_BITS, VAR_FRAC, VOL_FRAC,
                           VSQRT_INT_BITS, VSQRT_MIN_FRAC_BITS, W_FRAC, Z_FRAC, Z_INT_BITS, MOVE_FRAC,
                           Range)
from ..instruments import MONEYNESS_CAP

KINDS = ("spot", "perp", "call", "put")
DAYS_PER_YEAR = 365
SECONDS_PER_DAY = 86400


def _tag(s: bytes) -> int:
    """An ASCII domain tag as a big-endian integer (fits a field element: <= 31 bytes)."""
    assert len(s) <= 31
    return int.from_bytes(s, "big")


#: Domain tags of the hashed encodings (docs/PROVING.md §3-§5). params v4: hs[u][c] holds
#: asset u's vol and skew shocks (no weights), so no v3 preimage opens a v4 parameter hash.
PARAM_DOMAIN = _tag(b"calcm-params-v4")
STATE_DOMAIN = _tag(b"calcm-state-v2")
STRUCT_DOMAIN = _tag(b"calcm-struct-v2")
MODEL_DOMAIN = _tag(b"calcm-margin-v3")

#: Shifts of one day (module docstring of :mod:`calcm.risk.modelfx.step`).
GARCH_SHIFT = GARCH_FRAC + 2 * RET_FRAC - VAR_FRAC          # 64
SQRT_PRESHIFT = 2 * VOL_FRAC - VAR_FRAC                     # 16
MOVE_SHIFT = VOL_FRAC - MOVE_FRAC                           # 28: P * sigma_h to PRICE * 2**4
#: The horizon (MPOR) variance V = rdiv(A_u sigma2, 32) + B_u, floored at F_u
#: (:func:`calcm.risk.modelfx.step.horizon_variance`): A_u at 2**GARCH_FRAC, B_u, F_u, V at 2**VAR_FRAC.
HVAR_BITS = 62                                              # V, Vf, B_u, F_u < 2**62 (variance < 2**14)
HORIZON_A_BITS = 40                                         # A_u < 2**40 (sum of h powers of phi < 256)
LIN_SHIFT = Z_FRAC + MOVE_FRAC                              # 20
D_SHIFT = LN_FRAC + LN_FRAC + W_FRAC - D_FRAC               # 68
HALF_V_SHIFT = D_SHIFT + D_FRAC - LN_FRAC - SHOCK_FRAC - 1  # 39: v (1+shock) / 2 to the d numerator
VALUE_SHIFT = 32                                            # F N(d) at PRICE * 2**CDF_FRAC

PRICE_POS = Range("price", 1, 2**PRICE_BITS)
RETURN = Range("simple return (2**40)", -(2**RET_FRAC), 2**RET_HI_BITS)
VARIANCE = Range("GARCH variance (2**48)", 0, 2**VAR_BITS)
VAR_FLOOR = Range("APC variance floor (2**48)", 0, 2**VAR_BITS)
HVAR = Range("horizon variance (2**48)", 0, 2**HVAR_BITS)
HORIZON_A = Range("horizon variance coefficient A (2**32)", 0, 2**HORIZON_A_BITS)
OMEGA = Range("GARCH omega (2**48)", 1, 2**VAR_FRAC)
UNIT = Range("GARCH alpha/beta (2**32)", 0, 2**GARCH_FRAC + 1)
GAMMA = Range("GARCH gamma (2**32)", -(2**GARCH_FRAC), 2**GARCH_FRAC + 1)
Z = Range("scenario z (2**16)", -(2**(Z_FRAC + Z_INT_BITS)) + 1, 2**(Z_FRAC + Z_INT_BITS))
SHOCK = Range("vol shock (2**16)", SHOCK_MIN_NUM * 2**SHOCK_FRAC // SHOCK_MIN_DEN,
              2**(SHOCK_FRAC + SHOCK_INT_BITS))
#: Skew shock kappa (2**16): |kappa| <= 1. The moneyness cap m in [-CAP, CAP] at 2**LN_FRAC
#: (derived from the float MONEYNESS_CAP = 0.5: 2**31), and the scenario vol multiplier
#: u = 2**16 (1 + v + kappa m) in [1/4, 4) (its reciprocal w = round(2**40 / u) < 2**27).
SKEW = Range("skew shock (2**16)", -(2**SHOCK_FRAC), 2**SHOCK_FRAC + 1)
MONEYNESS_CAP_FX = round(MONEYNESS_CAP * 2**LN_FRAC)
VOL_MULT = Range("scenario vol multiplier 1 + v + kappa m (2**16)", 2**(SHOCK_FRAC - 2), 2**(SHOCK_FRAC + 2))
LIN_OFFSET = Range("scenario move above the return floor", -(2**PRICE_BITS), 2**PRICE_BITS)
MIN_RETURN_BPS = Range("min return (bps)", -(BPS - 1), 1)
EXPIRY = Range("expiry (days, 2**16)", 1, 2**(T_FRAC + 16))
IV = Range("implied vol (2**32)", 1, 2**(IV_FRAC + VSQRT_INT_BITS))
VSQRT = Range("iv sqrt(T) (2**32)", 2**(LN_FRAC - VSQRT_MIN_FRAC_BITS), 2**(LN_FRAC + VSQRT_INT_BITS))
D_RANGE = Range("Black-76 d (2**20)", -(2**(D_FRAC + D_INT_BITS)), 2**(D_FRAC + D_INT_BITS))
VALUE = Range("option value", -(2**(PRICE_BITS + 1)), 2**(PRICE_BITS + 1))
DAY = Range("state day (UTC day number)", 0, 2**32)
