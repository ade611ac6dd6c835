"""Collateral haircuts of a publication (calcm.risk.haircuts): the seed's table as the floor, the
asset's own ES above it, capped at 95%; the float model and the fixed twin carry the same integers."""
from __future__ import annotations

import math

import numpy as np

from calcm.fixedpoint import BPS, MONEY_SCALE
from calcm.risk.book import parse_book
from calcm.risk.haircuts import MAX_HAIRCUT_BPS, collateral_haircuts, es_bps

UND = ("BTC", "ETH")
S, K = 200, 2


def _book(btc_haircut=0.05):
    return parse_book({"instruments": [{"id": f"{u}-PERP", "kind": "perp", "underlying": u} for u in UND],
                       "collateral": [{"asset": "USDC", "haircut": 0.01}, {"asset": "USD", "haircut": 0.0},
                                      {"asset": "BTC", "haircut": btc_haircut}, {"asset": "SOL", "haircut": 0.3}],
                       "accounts": []})


def _returns(btc_tail, eth_tail=-0.01):
    """(S, 2) MPOR returns: quiet days and a K-scenario tail of the given returns."""
    r = np.full((S, 2), 0.001)
    r[:K, 0], r[:K, 1] = btc_tail, eth_tail
    return r


def test_floor_binds_at_low_vol_and_es_above_it():
    calm = collateral_haircuts(_book(), UND, _returns(-0.03), K)        # ES 3% < table 5%
    assert calm.bps == (100, 0, 500, 3000) and calm.source == ("table",) * 4
    assert calm.es_bps == (None, None, 300, None)                       # SOL is not an underlying
    stressed = collateral_haircuts(_book(), UND, _returns([-0.2, -0.25]), K)   # ES 22.5%
    assert stressed.bps == (100, 0, 2250, 3000) and stressed.source[2] == "es"
    np.testing.assert_array_equal(stressed.fraction, np.array(stressed.bps) / BPS)


def test_ceil_cap_and_tolerance():
    assert es_bps(np.array([-0.123451, -0.1, 0.2]), 1) == 1235          # ceil, not round
    assert es_bps(np.array([-0.05, -0.05, 0.01]), 2) == 500             # 0.05 * 1e4 in float: no extra bp
    assert es_bps(np.array([0.01, 0.02]), 1) == 0                      # ES floored at 0
    crash = collateral_haircuts(_book(), UND, _returns(-0.99), K)
    assert crash.bps[2] == MAX_HAIRCUT_BPS == 9500 and crash.source[2] == "cap"
    # A table haircut above the cap is never lowered by the rule (the table is the floor).
    high = collateral_haircuts(_book(btc_haircut=0.99), UND, _returns(-0.99), K)
    assert high.bps[2] == 9900 and high.source[2] == "table"


def test_risk_off_is_the_table_and_stables_are_untouched():
    off = collateral_haircuts(_book(), UND, _returns(-0.5), K, risk=False)
    assert off.bps == (100, 0, 500, 3000) and off.es_bps == (None,) * 4
    on = collateral_haircuts(_book(), UND, _returns(-0.5), K)
    assert on.bps[:2] == (100, 0) and on.bps[2] == 5000


def test_rule_is_the_models_tail_over_the_full_set(risk):
    """The bundled model: ES over all S scenarios at k = ceil((1 - alpha) S), the table as the floor."""
    hc, mm = risk.haircuts, risk.margin_model
    assert risk.params.risk_haircuts and hc.assets == mm.collateral_assets
    for j, a in enumerate(hc.assets):
        if a in ("USDC", "USDT"):
            assert (hc.bps[j], hc.source[j], hc.es_bps[j]) == (100, "table", None)
            continue
        u = risk.underlyings.index(a)
        es = np.sort(-risk.returns[:, u])[::-1][:mm.k_tail].mean()
        assert hc.es_bps[j] == math.ceil(es * BPS - 1e-9) and len(risk.returns) == mm.n_scenarios
        assert hc.bps[j] == max(hc.table_bps[j], min(hc.es_bps[j], MAX_HAIRCUT_BPS))
    # BTC and ETH: the ES binds (well above 5% / 10%); SOL: its 30% table binds.
    assert [hc.source[hc.assets.index(a)] for a in ("BTC", "ETH", "SOL")] == ["es", "es", "table"]


def test_float_and_fixed_use_identical_bps(market, book, risk):
    """One integer per asset: the float model's haircut is bps / 10^4, the fixed twin's is bps
    (parameters, hashed common leaf, and the daily step's margin model), so no haircut error term."""
    from calcm.risk.fx_bound import fx_error_bounds, value_error
    from calcm.risk.published import published_model
    from calcm.risk.fixed_margin import AccountFx, margin_fx

    pm = published_model(market, book, risk=risk)
    bps = risk.haircuts.bps
    assert tuple(c.haircut_bps for c in pm.params.collateral) == bps == tuple(pm.model.haircut_bps)
    assert np.array_equal(risk.margin_model.haircut * BPS, np.array(bps, float))
    assert np.all(value_error(pm.model.haircut_bps, BPS, risk.margin_model.haircut)
                  <= 4 * np.spacing(risk.margin_model.haircut + 1))
    # An account posting only crypto collateral: float and fixed CV within the bound.
    c = np.array([[0, 0, 3.0, 40.0, 500.0]])
    q = np.zeros((1, len(book.instrument_ids)))
    fx = margin_fx(pm.model, AccountFx.encode(q[0], c[0], 0))
    cv = float(c[0] @ (risk.margin_model.collateral_price * (1 - risk.margin_model.haircut)))
    bound = fx_error_bounds(risk.margin_model, q, c, pm.model).collateral_value[0]
    assert abs(fx.collateral_value / MONEY_SCALE - cv) <= bound
