"""The impact model: the risk stage's one linear law, with capped price feedback."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calcm.liquidation import ImpactModel, ImpactParams
from calcm.risk.book import DEFAULT_LIQUIDITY_WEIGHTS, SMALL_CAP_LIQUIDITY_WEIGHT
from calcm.risk.liquidity import REFERENCE_PARTICIPATION, sqrt_law_weight


def test_impact_by_hand():
    m = ImpactModel(ImpactParams(permanent_share=0.5, max_impact=0.5))
    # 1% of ADV at w = 0.4: 0.4 * 0.01 = 0.004; cost 1e7 * 0.004 = 4e4 = w x^2 / ADV.
    assert m.impact(1e7, 1e9, 0.4) == pytest.approx(0.004)
    assert m.cost(1e7, 1e9, 0.4) == pytest.approx(4e4)
    assert m.cost(-1e7, 1e9, 0.4) == pytest.approx(4e4)
    assert m.price_factor(-1e7, 1e9, 0.4) == pytest.approx(1 - 0.002)
    assert m.price_factor(1e7, 1e9, 0.4) == pytest.approx(1 + 0.002)
    assert m.price_factor(0.0, 1e9, 0.4) == 1.0
    # Ten ADVs: impact 4.0 uncapped; the cost stops at the notional (a sale cannot fetch less
    # than zero) where the law's w x^2 / ADV would be 4e10; the feedback caps at 0.5.
    assert m.impact(1e10, 1e9, 0.4) == pytest.approx(4.0)
    assert m.cost(1e10, 1e9, 0.4) == pytest.approx(1e10)
    # Right at |x| = ADV / w the law and the cap meet.
    assert m.cost(2.5e9, 1e9, 0.4) == pytest.approx(2.5e9)
    assert m.price_factor(-1e10, 1e9, 0.4) == pytest.approx(1 - 0.25)


@given(x=st.floats(-1e11, 1e11), y=st.floats(-1e11, 1e11), adv=st.floats(1e6, 1e11), w=st.floats(0, 6.5))
def test_impact_monotone_cost_quadratic_prices_positive(x, y, adv, w):
    m = ImpactModel()
    lo, hi = sorted((abs(x), abs(y)))
    assert m.impact(lo, adv, w) <= m.impact(hi, adv, w) * (1 + 1e-12) + 1e-15
    assert m.cost(lo, adv, w) <= m.cost(hi, adv, w) * (1 + 1e-12) + 1e-9
    assert m.cost(x, adv, w) == pytest.approx(abs(x) * min(m.impact(x, adv, w), 1.0), rel=1e-12, abs=1e-9)
    f = m.price_factor(x, adv, w)
    assert 1 - m.params.permanent_share * m.params.max_impact <= f <= 1 + m.params.max_impact


def test_vectorised_matches_scalar():
    m = ImpactModel()
    xs, advs, ws = np.array([0.0, -1e6, 5e8]), np.array([1e9, 1e8, 1e9]), np.array([0.27, 0.4, 0.4])
    np.testing.assert_allclose(m.cost(xs, advs, ws), [m.cost(x, a, w) for x, a, w in zip(xs, advs, ws)])
    np.testing.assert_allclose(m.price_factor(xs, advs, ws),
                               [m.price_factor(x, a, w) for x, a, w in zip(xs, advs, ws)])


def test_published_weights_follow_the_sqrt_law_calibration():
    """w = sigma_d / sqrt(5%) at the class's stressed daily vol; equal to the sqrt law at 5% of ADV."""
    assert DEFAULT_LIQUIDITY_WEIGHTS == {"BTC": round(sqrt_law_weight(0.061), 2),
                                         "ETH": round(sqrt_law_weight(0.061), 2)}
    assert SMALL_CAP_LIQUIDITY_WEIGHT == round(sqrt_law_weight(0.0885), 2)
    sigma, m = 0.0885, ImpactModel()
    w = sqrt_law_weight(sigma)
    for q, ratio in ((REFERENCE_PARTICIPATION, 1.0), (0.01, 0.05 ** -0.5 * 0.1), (0.2, 2.0)):
        assert m.impact(q * 1e9, 1e9, w) / (sigma * np.sqrt(q)) == pytest.approx(ratio)


@pytest.mark.parametrize("kw", [dict(permanent_share=2), dict(permanent_share=-0.1), dict(max_impact=1),
                                dict(max_impact=0)])
def test_bad_params(kw):
    with pytest.raises(ValueError):
        ImpactParams(**kw)
