"""The impact model: linear plus square root in size over ADV."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calcm.liquidation import ImpactModel, ImpactParams


def test_impact_by_hand():
    m = ImpactModel(ImpactParams(a=0.1, b=0.05, permanent_share=0.5, max_impact=0.5))
    # 1% of ADV: 0.1 * 0.01 + 0.05 * 0.1 = 0.006
    assert m.impact(1e7, 1e9) == pytest.approx(0.006)
    assert m.cost(1e7, 1e9) == pytest.approx(6e4)
    assert m.price_factor(-1e7, 1e9) == pytest.approx(1 - 0.003)
    assert m.price_factor(1e7, 1e9) == pytest.approx(1 + 0.003)
    assert m.price_factor(0.0, 1e9) == 1.0
    # Capped: ten ADVs would be 1.158, capped at 0.5.
    assert m.impact(1e10, 1e9) == 0.5


@given(x=st.floats(0, 1e11), y=st.floats(0, 1e11), adv=st.floats(1e6, 1e11))
def test_impact_monotone_and_cost_superlinear(x, y, adv):
    m = ImpactModel()
    lo, hi = sorted((x, y))
    assert m.impact(lo, adv) <= m.impact(hi, adv) + 1e-15
    assert m.cost(lo, adv) <= m.cost(hi, adv) * (1 + 1e-12) + 1e-9
    assert 0 <= m.impact(hi, adv) <= m.params.max_impact


def test_vectorised_matches_scalar():
    m = ImpactModel()
    xs, advs = np.array([0.0, 1e6, 5e8]), np.array([1e9, 1e8, 1e9])
    np.testing.assert_allclose(m.impact(xs, advs), [m.impact(x, a) for x, a in zip(xs, advs)])


@pytest.mark.parametrize("kw", [dict(a=-1), dict(b=math.nan), dict(permanent_share=2), dict(max_impact=1)])
def test_bad_params(kw):
    with pytest.raises(ValueError):
        ImpactParams(**kw)
