"""The fixed-point ln and normal CDF against 60-digit references, within their proven bounds."""
from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from calcm.risk import fixed_transcendental as ft
from calcm.zk.model_circuit import check_tables, tables_source, TABLES_FILE

ONE_D = 2**20


def _cdf_err(d: int) -> float:
    return abs(ft.norm_cdf_fx(d) / 2**32 - float(ft.norm_cdf_ref(Decimal(d) / ONE_D)))


def _ln_err(x: int) -> float:
    return abs(ft.ln_fx(x) / 2**32 - float(ft.ln_ref(x)))


def test_norm_cdf_within_bound_on_a_dense_grid():
    rng = random.Random(5)
    pts = [k * ONE_D // 64 for k in range(-9 * 64, 9 * 64)]          # every 1/64 over [-9, 9)
    pts += [rng.randrange(-9 * ONE_D, 9 * ONE_D) for _ in range(1500)]
    pts += [j * ONE_D + e for j in range(-8, 9) for e in (-1, 0, 1)]  # segment edges
    worst = max(_cdf_err(d) for d in pts)
    assert worst <= ft.NORM_CDF_ERROR
    assert worst > 1e-10          # the approximation is not accidentally exact (test can fail)


def test_norm_cdf_clamps_exactly_at_plus_minus_eight():
    assert ft.norm_cdf_fx(8 * ONE_D) == 2**32
    assert ft.norm_cdf_fx(8 * ONE_D - 1) <= 2**32
    assert ft.norm_cdf_fx(-8 * ONE_D - 1) == 0
    assert ft.norm_cdf_fx(-8 * ONE_D) >= 0
    assert abs(ft.norm_cdf_fx(0) - 2**31) <= ft.NORM_CDF_ERROR * 2**32
    assert ft.norm_cdf_fx(2**36 - 1) == 2**32 and ft.norm_cdf_fx(-(2**36)) == 0


@given(st.integers(-(2**36), 2**36 - 1))
@settings(max_examples=200, deadline=None)
def test_norm_cdf_symmetry_and_monotone_within_bound(d):
    a, b = ft.norm_cdf_fx(d), ft.norm_cdf_fx(-d)
    assert abs(a + b - 2**32) <= 2 * ft.NORM_CDF_ERROR * 2**32 + 1
    assert 0 <= a <= 2**32


def test_ln_within_bound_on_every_octave_and_segment():
    rng = random.Random(9)
    pts = list(range(1, 300)) + [2**k + e for k in range(1, 50) for e in (-1, 0, 1)]
    pts += [rng.randrange(2**(b - 1), 2**b) for b in range(1, 51) for _ in range(30)]
    pts += [(16 + j) << 40 for j in range(16)]                       # segment starts
    pts = [x for x in pts if 1 <= x < 2**50]
    worst = max(_ln_err(x) for x in pts)
    assert worst <= ft.LN_ERROR
    assert abs(ft.ln_fx(1)) <= ft.LN_ERROR * 2**32


def test_ln_rejects_outside_its_domain():
    import pytest
    for bad in (0, -5, 2**50):
        with pytest.raises(ValueError):
            ft.ln_fx(bad)
    assert ft.ln_fx(2**50 - 1) > 0


def test_rdiv_rounds_half_up_on_negatives():
    assert [ft.rdiv(x, 1) for x in (-3, -2, -1, 0, 1, 2, 3)] == [-1, -1, 0, 0, 1, 1, 2]
    assert ft.rdiv(-(2**40) - 2**39, 40) == -1 and ft.rdiv(-(2**40) - 2**39 - 1, 40) == -2


def test_generated_tables_file_is_current():
    check_tables()
    text = TABLES_FILE.read_text()
    assert text == tables_source() and "GENERATED" in text.splitlines()[0]
