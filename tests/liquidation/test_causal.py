"""Causal re-estimation: monthly GARCH refits, daily recursion in between, no look-ahead."""
from __future__ import annotations

import numpy as np
import pytest

from calcm.liquidation.causal import CausalRiskModel, refilter
from calcm.risk.model import build_risk_model
from calcm.risk.volatility import GJRGARCH


def test_refilter_reproduces_the_fit_and_extends_it(fixture_market):
    r = fixture_market.simple_returns()[:, fixture_market.index("BTC")]
    fit = GJRGARCH().fit(r[:600])
    ext = refilter(fit, r[:630])
    np.testing.assert_allclose(ext.sigma2[:601], fit.sigma2, rtol=1e-12)
    assert len(ext.sigma2) == 631 and ext.params == fit.params
    # Each new variance is one step of the recursion from the previous one.
    p = fit.params
    e = r[629]
    assert ext.sigma2[630] == pytest.approx(p.omega + (p.alpha + p.gamma * (e < 0)) * e * e
                                            + p.beta * ext.sigma2[629])


def test_monthly_refit_and_first_day_equals_a_fresh_build(fixture_market, fixture_book):
    c = CausalRiskModel(fixture_market, fixture_book)
    first = c.at("2023-01-30")
    fresh = build_risk_model(fixture_market, fixture_book, asof="2023-01-30")
    np.testing.assert_array_equal(first.margin_model.pnl, fresh.margin_model.pnl)
    U = len(fixture_book.underlyings)
    assert len(c.refit_log) == U
    c.at("2023-01-31")                        # same month: recursion only
    assert len(c.refit_log) == U
    c.at("2023-02-01")                        # new month: refit every underlying
    assert len(c.refit_log) == 2 * U
    assert c.at("2023-01-31") is c.at("2023-01-31")    # built once, shared


def test_daily_refit_option(fixture_market, fixture_book):
    c = CausalRiskModel(fixture_market, fixture_book, refit="day")
    c.at("2023-01-30")
    c.at("2023-01-31")
    assert len(c.refit_log) == 2 * len(fixture_book.underlyings)
    with pytest.raises(ValueError):
        CausalRiskModel(fixture_market, fixture_book, refit="week")
