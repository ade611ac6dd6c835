"""calcm.fixedpoint at its exact boundaries: every range edge, every rounding half, every divisor sign.

Written to kill the mutants mutmut makes of fixedpoint.py (tools/mutation/run.sh fixedpoint): each
test pins one documented rule with a pass case and a fail case at the boundary, and the import-time
field-bound guards are shown to reject constants one step past their limit.
"""
from __future__ import annotations

import math
from fractions import Fraction

import pytest

import calcm.fixedpoint as fp
from calcm.fixedpoint import (BPS, COLLATERAL, FIELD_PRIME, MONEY, MONEY_BITS, MONEY_SCALE, PRICE, PRICE_BITS,
                              PRICE_SCALE, QTY, QTY_BITS, QTY_SCALE, RATE, RATE_BITS, FixedPointRangeError, Range,
                              ceil_div, decode, encode, floor_div, from_field, round_half_away, to_field)

# ---- scales and ranges: the documented numbers ----------------------------------------------------------


def test_scales_and_bit_widths_are_the_published_ones():
    assert (QTY_SCALE, PRICE_SCALE, MONEY_SCALE, BPS) == (10**4, 10**6, 10**10, 10**4)
    assert (QTY_BITS, PRICE_BITS, MONEY_BITS, RATE_BITS) == (40, 48, 63, 16)


@pytest.mark.parametrize("rng, low, high", [
    (QTY, -(2**40) + 1, 2**40),
    (COLLATERAL, 0, 2**40),
    (PRICE, -(2**48) + 1, 2**48),
    (MONEY, -(2**63) + 1, 2**63),
    (RATE, 0, 2**16),
])
def test_range_edges_pass_and_one_past_fails(rng, low, high):
    assert (rng.low, rng.high) == (low, high)
    assert rng.check(low) == low and rng.check(high - 1) == high - 1
    for bad in (low - 1, high):
        with pytest.raises(FixedPointRangeError) as e:
            rng.check(bad)
        assert (e.value.what, e.value.value, e.value.low, e.value.high) == (rng.name, bad, low, high)


def test_range_error_names_the_value_and_the_half_open_range():
    r = Range("rate (bps)", 0, 10)
    with pytest.raises(FixedPointRangeError) as e:
        r.check(10, "account 'alice' haircut")
    assert str(e.value) == "account 'alice' haircut: 10 is outside the fixed-point range [0, 10)"
    assert e.value.what == "account 'alice' haircut" and isinstance(e.value, ValueError)
    with pytest.raises(FixedPointRangeError, match=r"^rate \(bps\): -1 is outside the fixed-point range \[0, 10\)$"):
        r.check(-1)                                   # no `what`: the range's own name


@pytest.mark.parametrize("low, high, bits", [
    (0, 1, 0), (0, 2, 1), (0, 3, 2), (0, 4, 2), (0, 5, 3), (-3, 5, 3), (-4, 5, 4), (7, 8, 0),
])
def test_offset_bits_is_the_width_of_value_minus_low(low, high, bits):
    r = Range("x", low, high)
    assert r.offset_bits == bits
    assert (high - 1 - low) < 2**bits                                   # the largest offset fits
    assert bits == 0 or (high - 1 - low) >= 2 ** (bits - 1)             # and no smaller width does


def test_offset_bits_of_the_published_ranges():
    assert (QTY.offset_bits, COLLATERAL.offset_bits, PRICE.offset_bits, MONEY.offset_bits, RATE.offset_bits) == \
        (41, 40, 49, 64, 16)


# ---- rounding and encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("x, r", [
    (0.0, 0), (-0.0, 0), (0.4999, 0), (-0.4999, 0), (0.5, 1), (-0.5, -1), (1.5, 2), (-1.5, -2),
    (2.5, 3), (-2.5, -3), (2.4999, 2), (-2.4999, -2), (7.0, 7), (-7.0, -7), (1e15 + 0.5, 10**15 + 1),
])
def test_round_half_away_from_zero(x, r):
    got = round_half_away(x)
    assert got == r and type(got) is int


@pytest.mark.parametrize("x", [math.inf, -math.inf, math.nan])
def test_round_rejects_non_finite(x):
    with pytest.raises(ValueError, match="cannot encode non-finite value"):
        round_half_away(x)


def test_encode_scales_rounds_and_checks():
    assert encode(1.25, 4, QTY) == 5 and encode(-1.25, 4, QTY) == -5
    assert encode(0.125, 4, QTY) == 1 and encode(-0.125, 4, QTY) == -1      # exact halves, away from 0
    assert encode("0.5", 2, QTY) == 1                                        # anything float() accepts
    assert encode(3.0, QTY_SCALE, QTY) == 30_000
    top = (2**QTY_BITS - 1) / QTY_SCALE
    assert encode(top, QTY_SCALE, QTY) == 2**QTY_BITS - 1
    with pytest.raises(FixedPointRangeError) as e:
        encode(2**QTY_BITS / QTY_SCALE, QTY_SCALE, QTY, "account 'a' position X")
    assert e.value.what == "account 'a' position X" and e.value.value == 2**QTY_BITS
    with pytest.raises(FixedPointRangeError) as e:
        encode(-1e-4, QTY_SCALE, COLLATERAL)
    assert e.value.what == "collateral amount" and e.value.value == -1


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_encode_non_finite_is_a_range_error_naming_the_field(x):
    with pytest.raises(FixedPointRangeError) as e:
        encode(x, QTY_SCALE, QTY, "account 'a' position X")
    err = e.value
    assert err.what == "account 'a' position X" and (err.low, err.high) == (QTY.low, QTY.high)
    assert err.value is x and isinstance(err.__cause__, ValueError)
    with pytest.raises(FixedPointRangeError) as e:
        encode(x, PRICE_SCALE, PRICE)
    assert e.value.what == "per-unit value" and (e.value.low, e.value.high) == (PRICE.low, PRICE.high)


def test_decode_is_the_inverse_of_encode_on_the_grid():
    assert decode(15, 10) == 1.5 and decode(-15, 10) == -1.5 and decode(0, 7) == 0.0
    for v in (-(2**40) + 1, -3, 0, 1, 12_345, 2**40 - 1):
        assert encode(decode(v, QTY_SCALE), QTY_SCALE, QTY) == v


# ---- conservative division -------------------------------------------------------------------------------


@pytest.mark.parametrize("b", [1, 2, 3, 7, BPS])
def test_floor_and_ceil_div_are_exact_for_every_sign(b):
    for a in range(-25, 26):
        assert floor_div(a, b) == math.floor(Fraction(a, b))
        assert ceil_div(a, b) == math.ceil(Fraction(a, b))
    big = 2**200 + 1
    assert floor_div(big, 2) == 2**199 and ceil_div(big, 2) == 2**199 + 1    # no float on the way
    assert floor_div(-big, 2) == -(2**199) - 1 and ceil_div(-big, 2) == -(2**199)


@pytest.mark.parametrize("f", [floor_div, ceil_div])
@pytest.mark.parametrize("b", [0, -1, -7])
def test_division_by_a_non_positive_divisor_is_refused(f, b):
    with pytest.raises(ZeroDivisionError, match="^divisor must be positive$"):
        f(5, b)


# ---- field embedding -------------------------------------------------------------------------------------


def test_to_field_and_back():
    p = FIELD_PRIME
    assert (to_field(0), to_field(5), to_field(-1), to_field(-5), to_field(p), to_field(p + 2)) == \
        (0, 5, p - 1, p - 5, 0, 2)
    h = p // 2
    assert from_field(h) == h and from_field(h + 1) == h + 1 - p == -h       # the sign boundary
    assert from_field(p - 1) == -1 and from_field(p + 3) == 3 and from_field(-3) == -3 and from_field(0) == 0
    for v in (-(2**63) + 1, -1, 0, 1, 2**63 - 1, h, -h):
        assert from_field(to_field(v)) == v


# ---- the import-time guards reject constants one step past their limit -----------------------------------


def test_field_bound_guard_passes_for_the_shipped_constants():
    assert fp._assert_field_bounds() is None and fp._assert_model_field_bounds() is None


#: One constant of the margin scales, the largest value its bound allows and one past it.
FIELD_BOUND_EDGES = [
    ("MAX_INSTRUMENTS", 2**15 - 1, 2**15),        # n * 2**40 * 2**48 < 2**(63 + 40)
    ("RATE_BITS", 126, 127),                        # 2**(2*63 + r) < p/2
    ("MONEY_SCALE", 10**10, 10**10 + 1),            # money = quantity x per-unit value, no rescale
]


#: One constant of the model-update scales, the largest value its own bound allows and one past it.
#: Each constant appears in exactly one assertion of ``_assert_model_field_bounds``, so the pair
#: pins that assertion's arithmetic and comparison (the guard is what stops a scale change from
#: letting a circuit product wrap modulo p).
MODEL_BOUND_EDGES = [
    ("RET_FRAC", 202, 203),        # (P1 - P0) 2**RET_FRAC * 2 < p/2: 2**(48 + f + 2) < p/2
    ("GARCH_FRAC", 34, 35),        # 3 2**g max(eps**2, 2**(VAR_BITS+32)) + 2**(VAR_BITS+64) < 2**126
    ("RET_HI_BITS", 46, 47),       # ... eps**2 = 2**(2 RET_HI_BITS) takes over the max
    ("VAR_BITS", 59, 60),          # ... 4 2**(VAR_BITS + 64) = 2**126 is not below 2**126
    ("VAR_FRAC", 64, 65),          # 2 VOL_FRAC - VAR_FRAC >= 0 (the sigma rescale is a left shift)
    ("SQRTH_FRAC", 41, 42),        # P sigma sqrt(h): 2**(48 + 32 + 5 + s + 3) < 2**130
    ("Z_FRAC", 33, 34),            # z a_u: 2**(6 + z + MOVE_BITS) < 2**100, MOVE_BITS = 60
    ("W_FRAC", 40, 41),            # d numerator: 2**(38 + 32 + 6 + w + 3) < 2**120
    ("CDF_FRAC", 39, 40),          # F_s N(d): 2**(48 + 2 + c) < 2**90
    ("D_FRAC", 21, 22),            # Horner: 2**(48 + 7 d) < 2**200
]


@pytest.mark.parametrize("guard, name, ok, bad",
                         [("_assert_field_bounds", *e) for e in FIELD_BOUND_EDGES]
                         + [("_assert_model_field_bounds", *e) for e in MODEL_BOUND_EDGES])
def test_bound_guard_rejects_one_past_the_limit(monkeypatch, guard, name, ok, bad):
    monkeypatch.setattr(fp, name, ok)
    getattr(fp, guard)()
    monkeypatch.setattr(fp, name, bad)
    with pytest.raises(AssertionError):
        getattr(fp, guard)()


def test_model_bound_guard_counts_the_variance_term(monkeypatch):
    """At GARCH_FRAC = 30 the beta sigma2 term 2**(VAR_BITS + 64) dominates: (3/4 + 1) 2**(v + 64) < 2**126
    holds at VAR_BITS = 61 and fails at 62 (a bound that dropped or doubled that term would not)."""
    monkeypatch.setattr(fp, "GARCH_FRAC", 30)
    monkeypatch.setattr(fp, "VAR_BITS", 61)
    fp._assert_model_field_bounds()
    monkeypatch.setattr(fp, "VAR_BITS", 62)
    with pytest.raises(AssertionError):
        fp._assert_model_field_bounds()


def test_model_bound_guard_checks_the_price_width(monkeypatch):
    """PRICE_BITS feeds three bounds; the tightest is F_s N(d) < 2**90 (48 + 2 + 32 = 82 bits)."""
    monkeypatch.setattr(fp, "PRICE_BITS", 55)
    fp._assert_model_field_bounds()
    monkeypatch.setattr(fp, "PRICE_BITS", 56)
    with pytest.raises(AssertionError):
        fp._assert_model_field_bounds()
