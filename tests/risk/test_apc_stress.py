"""APC tool (b), the stressed weight (docs/MODEL.md §4): V = (1 - w) V_h + w h var_stress, var_stress
the most volatile 250-day window of each asset's returns; the float model, its fixed twin (the
weight folded into the z-chunk head A, B) and the independent audit recipe agree."""
from __future__ import annotations

import dataclasses
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from calcm.audit.transparency import horizon_coefficients, independent_param_hash
from calcm.fixedpoint import VAR_FRAC, FixedPointRangeError
from calcm.risk.model import ModelParams, apc_var_stress, build_risk_model, horizon_variance, stressed_variance
from calcm.risk.modelfx import ModelParamsFx, horizon_variance as fx_horizon_variance, params_from_risk_model
from calcm.risk.modelfx.floatref import float_horizon_variance, horizon_rel_error
from calcm.zk.model_synthetic import SMALL, synthetic_params

STRESS = ModelParams(apc="stress")


def test_stressed_variance_is_the_most_volatile_window():
    rng = np.random.default_rng(1)
    r = rng.normal(0, 0.02, 700)
    r[300:320] *= 5                                                     # a crash inside the history
    r[[10, 500]] = np.nan                                               # gaps are dropped, not zero
    x = r[np.isfinite(r)]
    brute = max(np.mean(x[i:i + 250] ** 2) for i in range(len(x) - 249))
    assert stressed_variance(r) == pytest.approx(brute, rel=1e-12)
    assert stressed_variance(r) > np.mean(x**2)
    assert stressed_variance(r[:100]) == pytest.approx(np.nanmean(r[:100] ** 2), rel=1e-12)   # < 1 window


@given(vh=st.floats(1e-8, 1.0), ratio=st.floats(0.0, 10.0), w_bps=st.integers(2500, 9999), h=st.integers(1, 10))
def test_stressed_weight_property(vh, ratio, w_bps, h):
    p = replace(STRESS, mpor_days=h, apc_stress_weight=w_bps / 1e4)
    vs = ratio * vh / h
    v = horizon_variance([vh], p, [1.0], [vs])[0]                         # the floor is ignored in this mode
    assert v >= (1 - p.apc_stress_weight) * vh * (1 - 1e-15)
    if abs(ratio - 1) > 1e-9:
        assert (v > vh) == (ratio > 1)                                    # raises V iff h var_stress > V_h
    assert horizon_variance([vh], p, [0.0], [vh / h])[0] == pytest.approx(vh, rel=1e-14)


def test_float_model_under_stress(market, book, risk):
    st_rm = build_risk_model(market, book, STRESS, fitter=lambda a, r: risk.fits[a])
    h = STRESS.mpor_days
    vh = np.array([risk.fits[a].mpor_variance(h) for a in risk.underlyings])
    rets = market.simple_returns()
    for k, a in enumerate(risk.underlyings):
        assert st_rm.var_stress[k] == stressed_variance(rets[:, market.index(a)])
        assert st_rm.var_stress[k] > risk.var_floor[k]                   # a stressed year beats the mean
    assert np.all(st_rm.var_floor == 0) and np.all(risk.var_stress == 0)
    np.testing.assert_allclose(st_rm.mpor_vol**2, 0.75 * vh + 0.25 * h * st_rm.var_stress, rtol=1e-12)
    assert st_rm.scenarios.hash == risk.scenarios.hash                   # only the variance changes
    np.testing.assert_array_equal(apc_var_stress(market, risk.underlyings, ModelParams()), 0)

    fx = params_from_risk_model(st_rm, book)
    assert fx.apc_stress_weight_bps == 2500 and fx.horizon_floor == (0,) * fx.n_assets
    for k in range(fx.n_assets):
        assert abs(fx.var_stress[k] - st_rm.var_stress[k] * 2**VAR_FRAC) <= 0.5
        s2 = round(st_rm.fits[st_rm.underlyings[k]].sigma2_next * 2**VAR_FRAC)
        got = fx_horizon_variance(fx, k, s2) / 2**VAR_FRAC
        want = float_horizon_variance(fx, np.full(fx.n_assets, s2 / 2**VAR_FRAC))[k]
        assert abs(got - want) / got <= horizon_rel_error(fx, k, got) / 2
        assert want == pytest.approx(st_rm.mpor_vol[k] ** 2, rel=1e-6)   # float twin of the float model
    assert independent_param_hash(fx.to_json()) == fx.param_hash()
    assert ModelParamsFx.from_json(fx.to_json()) == fx


def _stressed(params, w_bps, var_stress):
    return dataclasses.replace(params, apc_stress_weight_bps=w_bps, var_stress=var_stress)


@given(h=st.integers(1, 30), seed=st.integers(0, 10**6), s2=st.floats(1e-6, 0.5),
       vs=st.tuples(st.floats(0, 0.05), st.floats(0, 0.05)), w_bps=st.integers(2500, 9999))
@settings(max_examples=60, deadline=None)
def test_fixed_fold_within_documented_bound(h, seed, s2, vs, w_bps):
    """rdiv(A' sigma2, 32) + B' vs (1 - w) V_h + w h var_stress exactly (the params docstring's
    bound), the float twin within horizon_rel_error, and the audit's A, B recipe identical."""
    base = dataclasses.replace(synthetic_params(SMALL, seed=seed), horizon_days=h)
    p = _stressed(base, w_bps, tuple(round(v * 2**VAR_FRAC) for v in vs))
    sigma2 = round(s2 * 2**VAR_FRAC)
    w = Fraction(w_bps, 10**4)
    for u in range(2):
        exact = (1 - w) * fx_horizon_variance(base, u, sigma2) + w * h * p.var_stress[u]
        got = fx_horizon_variance(p, u, sigma2)
        assert abs(got - exact) <= Fraction(sigma2, 2**33) + Fraction(3, 2)
        assert p.horizon_floor[u] == 0
        fl = float_horizon_variance(p, np.full(2, sigma2 / 2**VAR_FRAC))[u]
        assert abs(got / 2**VAR_FRAC - fl) / fl <= horizon_rel_error(p, u, got / 2**VAR_FRAC) / 2
        assert horizon_coefficients(p.omega[u], p.alpha[u], p.gamma[u], p.beta[u], h, 0, w_bps,
                                    p.var_stress[u]) == [p.horizon_a[u], p.horizon_b[u], 0]


def test_stress_parameters_are_validated_and_bound():
    base = synthetic_params(SMALL, seed=2)
    assert "apc_stress_weight_bps" not in base.to_json() and base.var_stress == (0, 0)
    p = _stressed(base, 2500, (2**40, 2**41))
    assert ModelParamsFx.from_json(p.to_json()) == p and p.to_json()["var_stress"] == [2**40, 2**41]
    assert p.param_hash() != base.param_hash() != _stressed(base, 2600, p.var_stress).param_hash()
    assert _stressed(base, 0, ()).param_hash() == base.param_hash()
    with pytest.raises(FixedPointRangeError, match="apc_stress_weight_bps"):
        _stressed(base, 2499, p.var_stress)                              # Art. 28(1)(b): at least 25%
    with pytest.raises(FixedPointRangeError, match="apc_stress_weight_bps"):
        _stressed(base, 10**4, p.var_stress)
    with pytest.raises(ValueError, match="var_floor must be all 0"):
        dataclasses.replace(p, var_floor=(1, 0))
    with pytest.raises(ValueError, match="var_stress must be all 0"):
        _stressed(base, 0, (1, 0))
    with pytest.raises(FixedPointRangeError, match="var_stress"):
        _stressed(base, 2500, (-1, 0))
    for bad in (0.2, 1.0, 0.33333):
        with pytest.raises(ValueError, match="apc_stress_weight"):
            ModelParams(apc="stress", apc_stress_weight=bad)
    assert "apc_stress_weight" not in ModelParams().to_json()            # default hash unchanged
    assert ModelParams.from_json(STRESS.to_json()) == STRESS and STRESS.hash != ModelParams().hash
    assert replace(STRESS, apc_stress_weight=0.5).hash != STRESS.hash
