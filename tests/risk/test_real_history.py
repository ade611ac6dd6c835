"""The whole model on the real price history (skipped where ../shared/data is absent)."""
from __future__ import annotations

import numpy as np
import pytest

from calcm.market import load_market
from calcm.risk.margin import PortfolioMargin

pytestmark = pytest.mark.realdata


def test_model_on_real_ohlcv_around_ftx(shared_prices, small_book):
    md = load_market(shared_prices / "ohlcv")
    bk = small_book({"long_btc": {"BTC-PERP": 1}, "pair": {"BTC-PERP": 1, "ETH-PERP": -13},
                     "hedged": {"BTC": 1, "BTC-PERP": -1}})
    from calcm.risk.model import build_risk_model

    before = build_risk_model(md, bk, asof="2022-11-01")
    after = build_risk_model(md, bk, asof="2022-11-10")
    assert set(before.adv_source) == {"volume"}
    q, c = bk.quantities(), bk.collateral_amounts()
    r0 = PortfolioMargin(before.margin_model).compute(q, c)
    r1 = PortfolioMargin(after.margin_model).compute(q, c)
    # The FTX crash raises BTC's forecast vol, so the margin of a long BTC position rises
    # relative to its notional.
    btc = before.underlyings.index("BTC")
    assert after.sigma[btc] > 1.2 * before.sigma[btc]
    assert r1.es[0] / after.price[btc] > r0.es[0] / before.price[btc]
    # 99% 2-day ES of one BTC is a few percent to a few tens of percent of notional.
    assert 0.03 < r1.es[0] / after.price[btc] < 0.5
    # Spot against perp: only the perp basis + funding charge of the one short perp remains.
    assert r1.es[2] == pytest.approx(after.price[btc] * after.perp_shock_bps[btc] / 1e4, rel=1e-9)
    assert 0 < r1.es[1] < r1.es[0] + PortfolioMargin(after.margin_model).compute(
        np.array([[0, 0, 0, -13, 0]]), c[:1]).es[0]
