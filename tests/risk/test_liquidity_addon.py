"""The margin add-on is the one impact law's cost of closing the net delta (float and fixed point).

On the bundled book's accounts at their own size and rescaled so that the largest net
delta is 0.1%, 5% and 20% of its ADV. The liquidation engine's side of the identity:
``tests/liquidation/test_impact_addon.py``.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from calcm.fixedpoint import BPS, MONEY_SCALE
from calcm.risk.fixed_margin import AccountFx, margin_fx
from calcm.risk.fx_bound import fx_error_bounds
from calcm.risk.liquidity import execution_cost
from calcm.risk.margin import PortfolioMargin


@pytest.fixture(scope="module")
def published(market, book, risk):
    from calcm.risk.published import published_model
    return published_model(market, book, risk=risk).model


@pytest.mark.parametrize("participation", (None, 0.001, 0.05, 0.20))
def test_addon_is_the_impact_law_cost_float_and_fixed(model, book, published, participation):
    q, c = book.quantities(), book.collateral_amounts()
    if participation is not None:
        top = (np.abs(q @ model.exposure.T) / model.adv).max(axis=1)
        f = participation / np.maximum(top, 1e-300)
        q = q * np.where(f < 1e4, f, 1.0)[:, None]            # hedged accounts (X ~ 0) keep their size
    x = q @ model.exposure.T
    law = execution_cost(x, model.adv, model.liquidity_weight).sum(axis=1)
    res = PortfolioMargin(model).compute(q, c)
    np.testing.assert_allclose(res.addon, law, rtol=1e-12)
    bound = fx_error_bounds(model, q, c, published).addon
    w = np.array(published.liquidity_weight_bps) / BPS
    adv = np.array(published.adv, float)
    fits = np.abs(q).max(axis=1) < 1e8                  # the fixed-point quantity range is 2^40 / 10^4
    assert fits.sum() >= len(q) - 3
    for a in np.flatnonzero(fits):
        r = margin_fx(published, AccountFx.encode(q[a], c[a], 0))
        # Each fixed term is the law w X^2 / ADV at the fixed inputs (exact rationals), rounded up
        # by less than one money unit; the float law at the same inputs agrees to float precision.
        for t, xu, wu, au in zip(r.addon_terms, r.exposure, published.liquidity_weight_bps, published.adv):
            law_fx = Fraction(wu, BPS) * Fraction(xu, MONEY_SCALE) ** 2 / au
            assert 0 <= Fraction(t, MONEY_SCALE) - law_fx < Fraction(1, MONEY_SCALE), book.accounts[a].id
        xf = np.array(r.exposure, float) / MONEY_SCALE
        np.testing.assert_allclose(np.array(r.addon_terms) / MONEY_SCALE, execution_cost(xf, adv, w),
                                   rtol=1e-12, atol=1.0 / MONEY_SCALE)
        assert abs(r.addon / MONEY_SCALE - law[a]) <= bound[a], book.accounts[a].id
