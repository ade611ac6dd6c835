"""Fixed-point ``ln`` and normal CDF for the model-update circuit, with error bounds.

Both functions are piecewise polynomials whose segment is chosen by bits of the
argument and whose polynomial is evaluated by Horner's rule *exactly* in
integers (no rounding between steps), followed by one round-half-up shift. The
circuit (``circuits/model/ln.circom``, ``circuits/model/normal_cdf.circom``)
does the same integer operations, so the Python twin here is bit-exact with it.

Coefficient tables
------------------
On each segment the real function is interpolated at the ``D + 1`` Chebyshev
nodes of the segment (exact rational arithmetic on 60-digit function values),
converted to monomials in the local variable ``t`` in [0, 1) and rounded to
``2**-COEF_FRAC``. The tables are generated here and written, unchanged, into
the generated file ``circuits/model/tables.circom`` (:func:`tables_circom`).

Normal CDF ``norm_cdf_fx(d)``
-----------------------------
Input ``d`` at scale ``2**D_FRAC`` (signed), output ``N(d)`` at ``2**CDF_FRAC``.
Segments of width 1 over [-8, 8): segment ``j = floor(d) mod 16``, local
``t = frac(d)`` (the low ``D_FRAC`` bits). Outside [-8, 8) the output is 0 or
``2**CDF_FRAC`` (1 - N(8) = 6.2e-16). Degree 7.

Error bound, for the exact input ``d`` (what the circuit is given)::

    |norm_cdf_fx(d) / 2**32 - N(d)|
        <= interpolation   max|N^(8)| / (8! * 2**15)           <= 2.4e-8
         + coefficients    8 * 2**-(COEF_FRAC + 1)              <= 5.9e-11
         + final rounding  2**-33                               <= 1.2e-10
         = NORM_CDF_ERROR (2.5e-8)

``max|N^(8)| = max|phi^(7)| <= 1.0865 sqrt(7!) / sqrt(2 pi)`` by Cramér's
inequality for Hermite functions (``|He_n(x)| exp(-x^2/4) <= 1.0865 sqrt(n!)``).

Natural log ``ln_fx(x)``
------------------------
Input an integer ``x`` in [1, 2**LN_IN_BITS) (a price in micro-USD), output
``ln(x)`` at ``2**LN_FRAC``. Range reduction: ``y = x * 2**e'`` in
[2**49, 2**50) (``e'`` unique), ``e = 49 - e'``, mantissa ``m = y / 2**49`` in
[1, 2). Segments of width 1/16 by the 4 bits below the leading one; local
``t`` = the next 24 bits (the low 21 bits of ``y`` are dropped, so ``m`` is
truncated by less than ``2**-28``). ``ln x = e ln 2 + ln m``, the ``e ln 2``
term folded into the final shift at full precision. Degree 4.

Error bound::

    |ln_fx(x) / 2**32 - ln(x)|
        <= truncation of m        2**-28                        <= 3.8e-9
         + interpolation          4! / (16**5 * 5! * 2**9)      <= 3.8e-10
         + coefficients           5 * 2**-(COEF_FRAC + 1)       <= 3.7e-11
         + e ln 2 rounding        50 * 2**-(COEF_FRAC + 97)     (negligible)
         + final rounding         2**-33                        <= 1.2e-10
         = LN_ERROR (4.3e-9)

The bounds are checked against 60-digit references on dense grids in
``tests/model/test_fixed_transcendental.py``.
"""
from __future__ import annotations

import math
from decimal import Decimal, getcontext, localcontext
from fractions import Fraction
from functools import lru_cache

from ..fixedpoint import CDF_FRAC, D_FRAC, LN_FRAC, LN_IN_BITS

#: Fractional bits of the polynomial coefficients.
COEF_FRAC = 36

NORM_SEGMENTS = 16          # width-1 segments over [-8, 8)
NORM_DEGREE = 7
NORM_CLAMP = 8              # |d| >= 8: N is 0 or 1
LN_SEG_BITS = 4             # 16 segments of [1, 2)
LN_FRAC_BITS = 24           # bits of the local variable t
LN_DEGREE = 4
#: y = x * 2**e' lies in [2**LN_TOP, 2**(LN_TOP + 1)).
LN_TOP = LN_IN_BITS - 1

# Proven error bounds (see the module docstring), in real units.
NORM_CDF_ERROR = 2.5e-8
LN_ERROR = 4.3e-9

_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899")
_DIGITS = 60


def rdiv(x: int, k: int) -> int:
    """``x / 2**k`` rounded half up (``floor((x + 2**(k-1)) / 2**k)``), exact for negative ``x``."""
    if k <= 0:
        raise ValueError("shift must be >= 1")
    return (x + (1 << (k - 1))) >> k


# ----------------------------------------------------------------------------------------
# Reference functions at 60 digits (Decimal) for the tables and the tests.

def _phi(x: Decimal) -> Decimal:
    return (-(x * x) / 2).exp() / (2 * _PI).sqrt()


def norm_cdf_ref(x) -> Decimal:
    """N(x) to ~60 digits: ``1/2 + phi(x) * sum x^(2n+1) / (2n+1)!!`` (converges for all x)."""
    with localcontext() as ctx:
        ctx.prec = _DIGITS + 30
        x = Decimal(x)
        term, total, n = x, x, 0
        eps = Decimal(10) ** -(_DIGITS + 20)
        while abs(term) > eps or n < 10:
            n += 1
            term = term * x * x / (2 * n + 1)
            total += term
        return +(Decimal("0.5") + _phi(x) * total)


def ln_ref(x) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _DIGITS
        return Decimal(x).ln()


# ----------------------------------------------------------------------------------------
# Table generation: Chebyshev interpolation in exact rationals.

def _chebyshev_nodes(degree: int) -> list[Fraction]:
    """Chebyshev nodes of [0, 1] (float nodes made exact: any node set is exact to interpolate)."""
    n = degree + 1
    return [Fraction(0.5 - 0.5 * math.cos((2 * i + 1) * math.pi / (2 * n))) for i in range(n)]


def _interpolate(ts: list[Fraction], ys: list[Fraction]) -> list[Fraction]:
    """Monomial coefficients c[k] of the polynomial through (ts, ys) (Gaussian elimination)."""
    n = len(ts)
    rows = [[t**k for k in range(n)] + [y] for t, y in zip(ts, ys)]
    for col in range(n):
        piv = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[piv] = rows[piv], rows[col]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                f = rows[r][col] / rows[col][col]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[col])]
    return [rows[k][n] / rows[k][k] for k in range(n)]


def _round_coef(c: Fraction) -> int:
    v = c * 2**COEF_FRAC
    return math.floor(v + Fraction(1, 2))


def _dec_to_frac(d: Decimal) -> Fraction:
    return Fraction(d)


@lru_cache(maxsize=1)
def norm_cdf_table() -> tuple[tuple[int, ...], ...]:
    """(16, 8) integer coefficients: segment ``j`` covers ``[lo, lo + 1)``, ``lo = j`` if j < 8 else j - 16."""
    getcontext().prec = _DIGITS
    nodes = _chebyshev_nodes(NORM_DEGREE)
    table = []
    for j in range(NORM_SEGMENTS):
        lo = j if j < NORM_SEGMENTS // 2 else j - NORM_SEGMENTS
        ys = [_dec_to_frac(norm_cdf_ref(Decimal(lo) + Decimal(t.numerator) / Decimal(t.denominator)))
              for t in nodes]
        table.append(tuple(_round_coef(c) for c in _interpolate(nodes, ys)))
    return tuple(table)


@lru_cache(maxsize=1)
def ln_table() -> tuple[tuple[int, ...], ...]:
    """(16, 5) integer coefficients: segment ``j`` is ``ln(1 + j/16 + t/16)`` for t in [0, 1)."""
    nodes = _chebyshev_nodes(LN_DEGREE)
    segs = 2**LN_SEG_BITS
    table = []
    for j in range(segs):
        ys = []
        for t in nodes:
            m = Decimal(1) + (Decimal(j) + Decimal(t.numerator) / Decimal(t.denominator)) / segs
            ys.append(_dec_to_frac(ln_ref(m)))
        table.append(tuple(_round_coef(c) for c in _interpolate(nodes, ys)))
    return tuple(table)


def ln2_term() -> int:
    """``round(ln 2 * 2**(COEF_FRAC + LN_FRAC_BITS * LN_DEGREE))``: e ln 2 at the Horner scale."""
    with localcontext() as ctx:
        ctx.prec = _DIGITS
        v = Decimal(2).ln() * (Decimal(2) ** (COEF_FRAC + LN_FRAC_BITS * LN_DEGREE))
        return int(v.to_integral_value(rounding="ROUND_HALF_UP"))


# ----------------------------------------------------------------------------------------
# The fixed-point functions (what the circuit computes, bit for bit).

def horner(coefs: tuple[int, ...], t: int, t_bits: int) -> int:
    """``sum_k coefs[k] * t**k * 2**(t_bits*(D-k))``: the exact integer Horner value."""
    D = len(coefs) - 1
    acc = coefs[D]
    for k in range(D - 1, -1, -1):
        acc = acc * t + coefs[k] * (1 << (t_bits * (D - k)))
    return acc


#: Final shift of the normal-CDF Horner value (to CDF_FRAC).
NORM_SHIFT = COEF_FRAC + D_FRAC * NORM_DEGREE - CDF_FRAC
#: Final shift of the ln Horner value (to LN_FRAC).
LN_SHIFT = COEF_FRAC + LN_FRAC_BITS * LN_DEGREE - LN_FRAC


def norm_cdf_fx(d: int) -> int:
    """N(d) at ``2**CDF_FRAC`` for ``d`` at ``2**D_FRAC`` (see the module docstring)."""
    one = 1 << D_FRAC
    if d >= NORM_CLAMP * one:
        return 1 << CDF_FRAC
    if d < -NORM_CLAMP * one:
        return 0
    seg = (d >> D_FRAC) % NORM_SEGMENTS
    t = d & (one - 1)
    return rdiv(horner(norm_cdf_table()[seg], t, D_FRAC), NORM_SHIFT)


def ln_reduce(x: int) -> tuple[int, int]:
    """``(e', y)`` with ``y = x * 2**e'`` in ``[2**LN_TOP, 2**(LN_TOP+1))`` (``x`` in [1, 2**LN_IN_BITS))."""
    if not 1 <= x < 2**LN_IN_BITS:
        raise ValueError(f"ln_fx argument {x} outside [1, 2**{LN_IN_BITS})")
    ep = LN_TOP - (x.bit_length() - 1)
    return ep, x << ep


def ln_fx(x: int) -> int:
    """ln(x) at ``2**LN_FRAC`` for an integer ``x`` in [1, 2**LN_IN_BITS) (see the module docstring)."""
    ep, y = ln_reduce(x)
    e = LN_TOP - ep
    low = LN_TOP - LN_SEG_BITS - LN_FRAC_BITS        # dropped bits
    seg = (y >> (LN_TOP - LN_SEG_BITS)) & (2**LN_SEG_BITS - 1)
    t = (y >> low) & (2**LN_FRAC_BITS - 1)
    return rdiv(horner(ln_table()[seg], t, LN_FRAC_BITS) + e * ln2_term(), LN_SHIFT)


# ----------------------------------------------------------------------------------------
# The generated circom table file.

def tables_circom() -> str:
    """Source of ``circuits/model/tables.circom`` (generated; never edit by hand)."""
    def fn(name: str, table) -> str:
        rows, cols = len(table), len(table[0])
        lines = [f"function {name}() {{", f"    var c[{rows}][{cols}] = ["]
        for j, row in enumerate(table):
            sep = "," if j < rows - 1 else ""
            lines.append("        [" + ", ".join(str(v) for v in row) + "]" + sep)
        lines += ["    ];", "    return c;", "}"]
        return "\n".join(lines)

    head = (
        "// GENERATED by calcm.risk.fixed_transcendental.tables_circom(): do not edit.\n"
        "// Regenerate with `calcm model-tables` (a test checks this file is current).\n"
        "pragma circom 2.1.0;\n\n"
        f"// Normal CDF: {NORM_SEGMENTS} segments x degree {NORM_DEGREE}, coefficients at 2^{COEF_FRAC};\n"
        f"// segment j covers [j, j+1) for j < 8 and [j-16, j-15) otherwise, t at 2^{D_FRAC}.\n"
    )
    ln_head = (
        f"\n\n// ln on [1, 2): {2**LN_SEG_BITS} segments x degree {LN_DEGREE}, coefficients at "
        f"2^{COEF_FRAC};\n// segment j is ln(1 + j/16 + t/16), t at 2^{LN_FRAC_BITS}.\n"
    )
    ln2 = (f"\n\n// round(ln 2 * 2^{COEF_FRAC + LN_FRAC_BITS * LN_DEGREE}).\n"
           f"function LN2_HORNER() {{\n    return {ln2_term()};\n}}\n")
    return head + fn("NORM_CDF_COEFS", norm_cdf_table()) + ln_head + fn("LN_COEFS", ln_table()) + ln2
