"""GARCH / GJR-GARCH-t: our pure recursion and forecasts against arch's own (cross-implementation)."""
from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model
from hypothesis import given, settings
from hypothesis import strategies as st

from calcm.risk.volatility import (GARCH, GJRGARCH, GarchParams, GarchState, filter_variance,
                                   forecast_variance, garch_update, mpor_variance, update_state,
                                   volatility_model)


def _returns(market, asset):
    r = market.simple_returns()[:, market.index(asset)]
    return r[np.isfinite(r)]


@pytest.mark.parametrize("model_cls, o", [(GARCH, 0), (GJRGARCH, 1)])
@pytest.mark.parametrize("asset", ["BTC", "SOL"])
def test_recursion_matches_arch(market, model_cls, o, asset):
    r = _returns(market, asset)
    fit = model_cls().fit(r)
    res = arch_model(100 * r, mean="Zero", vol="GARCH", p=1, o=o, q=1, dist="t").fit(disp="off")
    # Same parameters, rescaled from percent.
    assert fit.params.omega == pytest.approx(res.params["omega"] / 1e4, rel=1e-12)
    assert fit.params.beta == pytest.approx(res.params["beta[1]"], rel=1e-12)
    assert fit.params.nu == pytest.approx(res.params["nu"], rel=1e-12)
    # Our recursion reproduces arch's conditional volatility on every day ...
    np.testing.assert_allclose(np.sqrt(fit.sigma2[:-1]), res.conditional_volatility / 100, rtol=1e-10)
    np.testing.assert_allclose(fit.residuals, res.std_resid, rtol=1e-8)
    # ... and its 1..h-step analytic variance forecasts.
    fc = res.forecast(horizon=5, reindex=False).variance.values[-1] / 1e4
    np.testing.assert_allclose(fit.forecast(5), fc, rtol=1e-10)
    assert fit.mpor_variance(2) == pytest.approx(fc[:2].sum(), rel=1e-10)
    assert fit.converged


def test_gjr_gamma_zero_for_garch(market):
    assert GARCH().fit(_returns(market, "ETH")).params.gamma == 0.0


def test_state_update_without_refit_equals_filter(market):
    r = _returns(market, "BTC")
    fit = GJRGARCH().fit(r[:-20])
    prices = market.closes[-21:, market.index("BTC")]
    state = fit.state(prices[0])
    for px in prices[1:]:
        state = update_state(fit.params, state, px)
    path = filter_variance(fit.params, prices[1:] / prices[:-1] - 1, fit.sigma2_next)
    assert state.sigma2 == pytest.approx(path[-1], rel=1e-12)
    assert state.last_price == prices[-1]


@given(st.floats(1e-7, 1e-3), st.floats(0, 0.3), st.floats(-0.05, 0.3), st.floats(0, 0.9),
       st.floats(1e-6, 1e-2), st.floats(-0.5, 0.5))
def test_update_formula(omega, alpha, gamma, beta, sigma2, eps):
    if alpha + gamma < 0:
        gamma = -alpha
    p = GarchParams(omega, alpha, gamma, beta, 5.0)
    expect = omega + (alpha + (gamma if eps < 0 else 0)) * eps * eps + beta * sigma2
    assert garch_update(p, sigma2, eps) == pytest.approx(expect, rel=1e-12, abs=1e-300)


@settings(max_examples=50)
@given(st.floats(1e-7, 1e-4), st.floats(0.01, 0.2), st.floats(0, 0.1), st.floats(0.5, 0.85),
       st.floats(1e-5, 1e-2), st.integers(1, 30))
def test_forecasts_converge_to_long_run(omega, alpha, gamma, beta, s2, h):
    p = GarchParams(omega, alpha, gamma, beta, 6.0)
    f = forecast_variance(p, s2, h)
    lr = p.unconditional_variance
    # Geometric approach to the long-run variance at rate = persistence.
    np.testing.assert_allclose(f - lr, (s2 - lr) * p.persistence ** np.arange(h), rtol=1e-9, atol=1e-15)
    assert mpor_variance(p, s2, h) == pytest.approx(f.sum())


def test_params_validation():
    with pytest.raises(ValueError):
        GarchParams(0.0, 0.1, 0.0, 0.8, 5)
    with pytest.raises(ValueError):
        GarchParams(1e-5, 0.1, 0.0, 0.8, 2.0)
    with pytest.raises(ValueError):
        volatility_model("egarch")
    with pytest.raises(ValueError):
        GARCH().fit(np.array([0.01, np.nan] * 40))


@pytest.mark.parametrize("omega, alpha, gamma, beta, nu, ok", [
    (1e-6, 0.1, 0.0, 0.8, 2.0000001, True), (1e-6, 0.1, 0.0, 0.8, 2.0, False),     # nu > 2
    (1e-300, 0.1, 0.0, 0.8, 5.0, True), (0.0, 0.1, 0.0, 0.8, 5.0, False),          # omega > 0
    (1e-6, 0.0, 0.0, 0.0, 5.0, True), (1e-6, -1e-12, 0.0, 0.8, 5.0, False),        # alpha >= 0
    (1e-6, 0.1, 0.0, -1e-12, 5.0, False),                                          # beta >= 0
    (1e-6, 0.1, -0.1, 0.8, 5.0, True), (1e-6, 0.1, -0.1000001, 0.8, 5.0, False),   # alpha + gamma >= 0
])
def test_params_validation_at_the_boundary(omega, alpha, gamma, beta, nu, ok):
    if ok:
        assert GarchParams(omega, alpha, gamma, beta, nu).nu == nu
    else:
        with pytest.raises(ValueError):
            GarchParams(omega, alpha, gamma, beta, nu)


def test_state_update_rolls_price_and_variance():
    """One close: the new state carries that close and the GJR variance of the return it implies."""
    p = GarchParams(1e-6, 0.1, 0.05, 0.8, 5.0)
    up = update_state(p, GarchState(1e-4, 10.0), 11.0)                # +10%: no leverage term
    assert up.last_price == 11.0 and up.sigma2 == pytest.approx(1e-6 + 0.1 * 0.01 + 0.8 * 1e-4, rel=1e-12)
    down = update_state(p, up, 9.9)                                   # -10%: gamma applies
    assert down.last_price == 9.9
    assert down.sigma2 == pytest.approx(1e-6 + 0.15 * 0.01 + 0.8 * up.sigma2, rel=1e-9)
    assert p.unconditional_variance == pytest.approx(1e-6 / (1 - 0.925))
    assert GarchParams(1e-6, 0.1, 0.0, 0.9, 5.0).unconditional_variance == float("inf")   # persistence 1


@pytest.mark.realdata
@pytest.mark.parametrize("asset", ["BTC", "ETH"])
def test_real_history_gives_sane_parameters(shared_prices, asset):
    from calcm.market import load_market

    md = load_market(shared_prices / "daily_close.csv")
    r = _returns(md, asset)
    for cls in (GARCH, GJRGARCH):
        fit = cls().fit(r)
        p = fit.params
        assert fit.converged
        assert 0 < p.alpha < 0.3 and 0.6 < p.beta < 1.0
        assert p.persistence < 1.01          # crypto is close to integrated, never explosive
        assert 2.2 < p.nu < 10               # fat tails
        ann = np.sqrt(fit.sigma2 * 365)
        assert 0.15 < np.median(ann) < 1.5   # annualised vol between 15% and 150%
        assert np.std(fit.residuals) == pytest.approx(1.0, abs=0.15)


def test_leverage_projection_only_within_the_tolerance():
    from calcm.risk.volatility import LEVERAGE_TOLERANCE, leverage_on_constraint

    assert leverage_on_constraint(0.0, -6.4e-9) == 0.0 and str(leverage_on_constraint(0.0, -6.4e-9)) == "0.0"
    assert leverage_on_constraint(0.1, -0.1 - 1e-9) == -0.1
    assert leverage_on_constraint(0.1, -0.05) == -0.05                 # inside the constraint: unchanged
    assert leverage_on_constraint(0.0, -2 * LEVERAGE_TOLERANCE) == -2 * LEVERAGE_TOLERANCE   # rejected below
    with pytest.raises(ValueError, match="invalid GARCH parameters"):
        GarchParams(1e-5, 0.0, leverage_on_constraint(0.0, -2 * LEVERAGE_TOLERANCE), 0.9, 4.0)


@pytest.mark.realdata
def test_gjr_fit_at_the_leverage_boundary_is_kept(shared_prices):
    """arch returns alpha = 0, gamma = -6.4e-9 for BTC 2021-01-30..2022-12-31 (found on relabelled
    data as a 2025-12-01 refit); the fit must come back on the constraint, not raise."""
    from calcm.market import load_market
    from calcm.risk.volatility import DEFAULT_PERSISTENCE_CAP

    md = load_market(shared_prices / "daily_close.csv")
    a, b = (int(np.searchsorted(md.dates, np.datetime64(d))) for d in ("2021-01-30", "2023-01-01"))
    p = md.closes[a:b, md.index("BTC")]
    fit = GJRGARCH(DEFAULT_PERSISTENCE_CAP).fit(p[1:] / p[:-1] - 1)
    assert fit.params.alpha + fit.params.gamma == 0.0 and fit.converged
