"""The regimes that claim risk haircuts use the publication's rule (calcm.risk.haircuts); the
baselines keep the book's table, whatever the day's model publishes."""
from __future__ import annotations

import numpy as np
import pytest

from calcm.liquidation.regimes import REGIMES, regime
from calcm.liquidation.simulate import _haircuts
from calcm.risk.haircuts import collateral_haircuts
from calcm.risk.model import build_risk_model


@pytest.fixture(scope="module")
def rm(fixture_market, fixture_book):
    return build_risk_model(fixture_market, fixture_book)


def test_risk_haircut_regimes_use_the_published_rule(rm, fixture_book):
    rule = collateral_haircuts(fixture_book, rm.underlyings, rm.returns, rm.margin_model.k_tail).fraction
    table = np.array([c.haircut for c in fixture_book.collateral])
    assert np.array_equal(rm.margin_model.haircut, rule) and np.all(rule >= table)
    assert rule[fixture_book.collateral_assets.index("BTC")] > 0.05
    claims = [r for r in REGIMES.values() if r.risk_haircuts]
    assert {r.model for r in claims} == {"calcm"}
    for reg in REGIMES.values():
        want = rule if reg.risk_haircuts else table
        np.testing.assert_array_equal(_haircuts(reg, rm, fixture_book), want, err_msg=reg.name)
    # The regime's choice, not the day's model flag, decides.
    from dataclasses import replace
    off = replace(rm, params=replace(rm.params, risk_haircuts=False))
    np.testing.assert_array_equal(_haircuts(regime("calcm"), off, fixture_book), rule)
