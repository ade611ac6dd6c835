"""The APC variance floor of the float model (docs/MODEL.md §4): V = max(V_h, h var_floor),
V_h equal to arch's analytic h-step forecast summed, and the floor carried into the fixed twin."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from calcm.fixedpoint import VAR_FRAC
from calcm.risk.model import ModelParams, apc_var_floor, build_risk_model
from calcm.risk.modelfx import params_from_risk_model
from calcm.risk.volatility import PERCENT, mpor_variance


@pytest.mark.parametrize("h", [1, 2, 5, 10])
def test_mpor_variance_is_arch_analytic_forecast_summed(risk, h):
    from arch import arch_model

    a = risk.underlyings[0]
    fit = risk.fits[a]
    r = fit.residuals * np.sqrt(fit.sigma2[:-1])                     # the fitted returns
    gp = fit.params
    am = arch_model(PERCENT * r, mean="Zero", vol="GARCH", p=1, o=1, q=1, dist="t")
    res = am.fix([gp.omega * PERCENT**2, gp.alpha, gp.gamma, gp.beta, gp.nu])
    fc = res.forecast(horizon=h, method="analytic", reindex=False).variance.values[-1] / PERCENT**2
    assert fc[0] == pytest.approx(fit.sigma2_next, rel=1e-9)
    assert mpor_variance(gp, fit.sigma2_next, h) == pytest.approx(fc.sum(), rel=1e-9)


def test_floor_is_the_whole_history_mean_square_and_binds_when_calm(market, book, risk):
    rets = market.simple_returns()
    for k, a in enumerate(risk.underlyings):
        col = rets[:, market.index(a)]
        assert risk.var_floor[k] == pytest.approx(np.mean(col[np.isfinite(col)] ** 2), rel=1e-12)
    h = risk.params.mpor_days
    vh = np.array([risk.fits[a].mpor_variance(h) for a in risk.underlyings])
    np.testing.assert_allclose(risk.mpor_vol**2, np.maximum(vh, h * risk.var_floor), rtol=1e-12)
    assert np.any(h * risk.var_floor > vh)          # calm end of 2023: the floor binds somewhere
    none = build_risk_model(market, book, replace(risk.params, apc="none"))
    assert np.all(none.var_floor == 0) and none.scenarios.hash == risk.scenarios.hash
    np.testing.assert_allclose(none.mpor_vol**2, vh, rtol=1e-12)
    assert np.all(np.abs(risk.returns) >= np.abs(none.returns) - 1e-15)
    half = apc_var_floor(market, risk.underlyings, replace(risk.params, apc_floor_weight=0.5))
    np.testing.assert_allclose(half, 0.5 * risk.var_floor)


def test_floor_is_published_in_the_fixed_parameters(risk, book):
    fx = params_from_risk_model(risk, book)
    for k in range(len(risk.underlyings)):
        assert abs(fx.var_floor[k] - risk.var_floor[k] * 2**VAR_FRAC) <= 0.5
        assert fx.horizon_floor[k] == risk.params.mpor_days * fx.var_floor[k]


def test_apc_parameters_are_validated():
    with pytest.raises(ValueError, match="apc"):
        ModelParams(apc="maybe")
    with pytest.raises(ValueError, match="apc"):
        ModelParams(apc_floor_weight=-1.0)
    assert ModelParams().hash != ModelParams(apc="none").hash
