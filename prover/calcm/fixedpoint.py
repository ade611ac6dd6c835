"""The fixed-point encoding shared by the Python reference model and the circuits.

Every integer that crosses from the float model into the proof is defined here:
its scale, its rounding rule and its range. The circuits (``circuits/``) use the
same constants as template parameters, and ``docs/MODEL.md`` publishes them.

Scales
------
- quantities (instrument positions, collateral amounts): ``QTY_SCALE = 10**4``
  (one unit = 0.0001 of the underlying asset or collateral token);
- per-unit values (prices, marks, P&L per unit, delta notional per unit):
  ``PRICE_SCALE = 10**6`` (micro-USD per unit);
- money (account-level USD amounts: losses, equity, collateral value, ES, IM,
  MM, add-on): ``MONEY_SCALE = QTY_SCALE * PRICE_SCALE = 10**10``, so that a
  quantity times a per-unit value is money with no rescale;
- rates (haircuts, buffers, weights): basis points, ``BPS = 10**4``.

Rounding
--------
- Encoding a float: round half away from zero (symmetric for negatives), see
  :func:`encode`.
- Divisions inside the model are conservative: requirements (ES, add-on, IM)
  round up with :func:`ceil_div`; collateral value rounds down with
  :func:`floor_div`. Both are exact on negative numerators (Python floor
  semantics, never truncation toward zero).

Ranges (all inclusive of the lower bound, exclusive of the upper)
------------------------------------------------------------------
- signed quantity ``q``:          ``-2**QTY_BITS < q < 2**QTY_BITS``
- collateral amount ``c``:         ``0 <= c < 2**QTY_BITS``
- signed per-unit value ``v``:     ``-2**PRICE_BITS < v < 2**PRICE_BITS``
- signed money ``x``:              ``-2**MONEY_BITS < x < 2**MONEY_BITS``
- rates in bps:                    ``0 <= r < 2**RATE_BITS``

A value outside its range raises :class:`FixedPointRangeError`; nothing wraps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

#: BN254 scalar field order: the circuits compute modulo this prime.
FIELD_PRIME = 21888242871839275222246405745257275088548364400416034343698204186575808495617

QTY_SCALE = 10**4
PRICE_SCALE = 10**6
MONEY_SCALE = QTY_SCALE * PRICE_SCALE
BPS = 10**4

QTY_BITS = 40
PRICE_BITS = 48
MONEY_BITS = 63
RATE_BITS = 16

#: Largest instrument count a model may have; bounds the dot products below.
MAX_INSTRUMENTS = 2**10


def _assert_field_bounds() -> None:
    """The products the circuits form must never wrap modulo the field prime.

    Checked at import, as py_ecc validates its curve constants.
    """
    half = FIELD_PRIME // 2
    # A scenario loss is a dot product of n quantities with n per-unit values.
    assert MAX_INSTRUMENTS * 2**QTY_BITS * 2**PRICE_BITS < 2**MONEY_BITS * 2**40 < half
    # Tail comparisons subtract two money values: |L - t| < 2**(MONEY_BITS+1).
    assert 2 ** (MONEY_BITS + 2) < half
    # The add-on squares a money value and multiplies by a rate.
    assert 2 ** (2 * MONEY_BITS + RATE_BITS) < half
    # IM multiplies money by (BPS + buffer) and warning compares money * BPS.
    assert 2 ** (MONEY_BITS + RATE_BITS + 1) < half
    assert MONEY_SCALE == QTY_SCALE * PRICE_SCALE


_assert_field_bounds()


class FixedPointRangeError(ValueError):
    """A value does not fit its documented fixed-point range.

    ``what`` names the value (for example ``account 'alice' position BTC-PERP``)
    so that a CLI can print one line naming the record and field.
    """

    def __init__(self, what: str, value: object, low: int, high: int):
        self.what, self.value, self.low, self.high = what, value, low, high
        super().__init__(f"{what}: {value} is outside the fixed-point range [{low}, {high})")


@dataclass(frozen=True)
class Range:
    """A half-open integer range ``[low, high)`` with a name for errors."""

    name: str
    low: int
    high: int

    def check(self, value: int, what: str = "") -> int:
        if not (self.low <= value < self.high):
            raise FixedPointRangeError(what or self.name, value, self.low, self.high)
        return value

    @property
    def offset_bits(self) -> int:
        """Bits needed for ``value - low``: what a circuit range check by offset uses."""
        return (self.high - self.low - 1).bit_length()


QTY = Range("quantity", -(2**QTY_BITS) + 1, 2**QTY_BITS)
COLLATERAL = Range("collateral amount", 0, 2**QTY_BITS)
PRICE = Range("per-unit value", -(2**PRICE_BITS) + 1, 2**PRICE_BITS)
MONEY = Range("money", -(2**MONEY_BITS) + 1, 2**MONEY_BITS)
RATE = Range("rate (bps)", 0, 2**RATE_BITS)


def round_half_away(x: float) -> int:
    """Round to the nearest integer, halves away from zero (so -2.5 -> -3)."""
    if not math.isfinite(x):
        raise ValueError(f"cannot encode non-finite value {x!r}")
    r = math.floor(abs(x) + 0.5)
    return int(r) if x >= 0 else -int(r)


def encode(x: float, scale: int, rng: Range, what: str = "") -> int:
    """Encode a float at ``scale`` with :func:`round_half_away`, checked against ``rng``."""
    try:
        v = round_half_away(float(x) * scale)
    except ValueError as exc:
        raise FixedPointRangeError(what or rng.name, x, rng.low, rng.high) from exc
    return rng.check(v, what)


def decode(v: int, scale: int) -> float:
    """The float a fixed-point integer stands for."""
    return v / scale


def floor_div(a: int, b: int) -> int:
    """``floor(a / b)`` for ``b > 0``; exact for negative ``a``."""
    if b <= 0:
        raise ZeroDivisionError("divisor must be positive")
    return a // b


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for ``b > 0``; exact for negative ``a``."""
    if b <= 0:
        raise ZeroDivisionError("divisor must be positive")
    return -((-a) // b)


def to_field(v: int) -> int:
    """The field element for a signed integer (negative values become ``p - |v|``)."""
    return v % FIELD_PRIME


def from_field(f: int) -> int:
    """Inverse of :func:`to_field` for values below ``p/2`` in magnitude."""
    f %= FIELD_PRIME
    return f - FIELD_PRIME if f > FIELD_PRIME // 2 else f


# ----------------------------------------------------------------------------------------
# Model-update scales (calcm.risk.model_fx and circuits/model/).
#
# The per-block model update keeps its internal quantities at *binary* scales, so every
# rescale in the circuit is a shift proven by one bit decomposition (quotient and
# remainder range-checked together). Values that cross into MarginModelFx (P&L, marks,
# exposures) are at PRICE_SCALE as above. ``*_FRAC`` is the number of fractional bits.

#: Simple returns eps = P1/P0 - 1, floor-divided: eps in [-2**RET_FRAC, 2**RET_HI_BITS).
RET_FRAC = 40
RET_HI_BITS = 44              # returns below +1500% (P1 < 16 P0)
#: GARCH variance sigma2 (daily return**2), in [0, 2**VAR_BITS) (variance < 1024).
VAR_FRAC = 48
VAR_BITS = 58
#: GARCH alpha, gamma, beta (unitless), |.| <= 1.
GARCH_FRAC = 32
#: sigma = isqrt(sigma2 * 2**(2 VOL_FRAC - VAR_FRAC)), daily return units.
VOL_FRAC = 32
#: sqrt(h) for the MPOR h in days (1 <= h <= MAX_HORIZON_DAYS).
SQRTH_FRAC = 32
MAX_HORIZON_DAYS = 64
#: Standardised scenario shocks z, |z| < 2**Z_INT_BITS.
Z_FRAC = 16
Z_INT_BITS = 6
#: Extra fractional bits of the per-asset move a_u = P sigma sqrt(h) (PRICE_SCALE * 2**MOVE_FRAC).
MOVE_FRAC = 4
MOVE_BITS = PRICE_BITS + 5 + 3 + MOVE_FRAC   # P < 2**48, sigma < 2**5, sqrt(h) <= 2**3
#: Relative implied-vol shocks v (iv x (1 + v)), v in [SHOCK_MIN, 2**SHOCK_INT_BITS).
SHOCK_FRAC = 16
SHOCK_INT_BITS = 4
SHOCK_MIN_NUM = -3            # v >= -3/4, so (1 + v) >= 1/4
SHOCK_MIN_DEN = 4
#: w = 1 / (1 + v) per scenario.
W_FRAC = 24
#: Option terms: implied vol (annualised), expiry in days, ln values, v = iv sqrt(T), 1/v.
IV_FRAC = 32
T_FRAC = 16
LN_FRAC = 32
LN_IN_BITS = 50               # ln_fx takes integers below 2**50 (scenario prices < 2**49)
VSQRT_MIN_FRAC_BITS = 6       # v = iv sqrt(T) >= 2**-6 for every option (after the MPOR too)
VSQRT_INT_BITS = 4            # v < 16
#: Black-76 d1, d2 at 2**D_FRAC, |d| < 2**D_INT_BITS; N(d) at 2**CDF_FRAC.
D_FRAC = 20
D_INT_BITS = 16
CDF_FRAC = 32


def _assert_model_field_bounds() -> None:
    """Every product the model-update circuit forms stays far below p/2 (checked at import)."""
    half = FIELD_PRIME // 2
    ret = 2 ** (PRICE_BITS + RET_FRAC + 1)                      # (P1 - P0) * 2**RET_FRAC
    assert ret * 2 < half
    e2 = 2 ** (2 * RET_HI_BITS)                                 # eps**2
    garch = 3 * 2**GARCH_FRAC * max(e2, 2**(VAR_BITS + 32)) + 2**(VAR_BITS + 64)
    assert garch < 2**126 < half
    assert 2 * VOL_FRAC - VAR_FRAC >= 0
    move = 2 ** (PRICE_BITS + VOL_FRAC + 5 + SQRTH_FRAC + 3)   # P * sigma * sqrt(h)
    assert move < 2**130
    lin = 2 ** (Z_INT_BITS + Z_FRAC + MOVE_BITS)               # z * a_u
    assert lin < 2**100
    # d = (x * (1/v) * w + v (1 + shock) 2**39) / 2**68: |x| < 2**38, 1/v < 2**38, w < 2**26.
    d = 2 ** (38 + LN_FRAC + VSQRT_MIN_FRAC_BITS + W_FRAC + 2 + 1)
    assert d < 2**120
    assert 2 ** (PRICE_BITS + 2 + CDF_FRAC) < 2**90              # F_s * N(d)
    # Horner values of the tables: coefficients < 2**(36 + 4), arguments < 2**28, degree <= 7.
    assert 2 ** (36 + 4 + D_FRAC * 7 + 8) < 2**200 < half


_assert_model_field_bounds()
