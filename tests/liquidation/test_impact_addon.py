"""One impact law: the margin add-on is the liquidation stage's cost of closing the position.

On the bundled book's accounts, at their own size and rescaled so that the largest
net delta is 0.1%, 5% (the calibration's reference size) and 20% of its ADV:

- the liquidation engine's full close-out charges its position trades exactly the
  float add-on ``sum_u w_u X_u^2 / ADV_u`` (:class:`~calcm.risk.margin.PortfolioMargin`);
- the crowd replay's full close of a USD exposure charges exactly the calcm
  regime's add-on.

The fixed-point add-on against the same law: ``tests/risk/test_liquidity_addon.py``.
"""
from __future__ import annotations

import numpy as np
import pytest

from calcm.liquidation import ImpactModel, LiquidationEngine
from calcm.liquidation.causal import CausalRiskModel
from calcm.liquidation.crowd_replay import perp_shell, usd_model
from calcm.liquidation.regimes import make_regime
from calcm.risk.margin import PortfolioMargin

PARTICIPATIONS = (None, 0.001, 0.05, 0.20)          # None: the account's own size


def _scaled(model, q, participation):
    """``q`` rescaled so that max_u |X_u| / ADV_u = participation (unchanged for None)."""
    if participation is None:
        return q
    x = np.abs(model.exposure @ q) / model.adv
    return q * (participation / x.max()) if x.max() > 0 else q


@pytest.mark.parametrize("participation", PARTICIPATIONS)
def test_full_liquidation_cost_is_the_addon(fixture_model, fixture_book, participation):
    eng, pm = LiquidationEngine(fixture_model), PortfolioMargin(fixture_model)
    q0, c = fixture_book.quantities(), fixture_book.collateral_amounts()
    q = np.array([_scaled(fixture_model, row, participation) for row in q0])
    addon = pm.compute(q, c).addon
    checked = 0
    for a, acc in enumerate(fixture_book.accounts):
        plan = eng.full(q[a], c[a], acc.id)
        cost = sum(t.cost for t in plan.trades if t.kind == "position")
        assert cost == pytest.approx(addon[a], rel=1e-9, abs=1e-9), acc.id
        assert all(t.cost >= 0 for t in plan.trades)
        checked += addon[a] > 0
    assert checked >= len(fixture_book.accounts) - 2        # the flat and fully hedged ones aside


def test_one_instrument_trade_cost_is_its_addon_term(fixture_model):
    """A single partial trade of fraction f costs ``w (f X)^2 / ADV``: the add-on of the traded slice."""
    m, eng = fixture_model, LiquidationEngine(fixture_model)
    i = list(m.instrument_ids).index("ETH-PERP")
    q, c = np.zeros(len(m.instrument_ids)), np.zeros(len(m.collateral_assets))
    q[i] = 500.0
    for f in (0.1, 0.5, 1.0):
        _, _, t = eng._trade(q, c, "position", i, f)
        assert t.cost == pytest.approx(float(PortfolioMargin(m).compute(f * q[None], c[None]).addon[0]))


def test_crowd_full_close_cost_is_the_calcm_addon(fixture_market):
    assets = ("BTC", "ETH", "SOL", "LINK", "DOGE")
    shell = perp_shell(assets)
    usd = usd_model(CausalRiskModel(fixture_market, shell), shell, "2023-01-09")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, len(assets))) * usd.adv * rng.choice([1e-3, 0.05, 0.2], size=(50, 1))
    reg = make_regime("calcm", "full")
    res = reg.margin(usd, np.ones(len(assets)), np.arange(len(assets)), x, np.zeros((len(x), 1)))
    cost = ImpactModel().cost(x, usd.adv, usd.liquidity_weight).sum(axis=1)
    np.testing.assert_allclose(cost, res.addon, rtol=1e-12)
