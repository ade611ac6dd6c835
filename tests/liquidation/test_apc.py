"""The APC report (calcm.liquidation.apc) on a few bundled days: the no-floor and stressed-weight
requirements equal builds with apc = "none" / "stress", the floor never lowers a long book's
requirement, and the CLI skips in one line without the real history."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from click.testing import CliRunner

from calcm.liquidation.apc import _day_variances, _returns_with, run_window
from calcm.liquidation.causal import CausalRiskModel
from calcm.risk.book import parse_book
from calcm.risk.model import ModelParams, build_risk_model


def test_apc_window_on_calm_bundled_days(fixture_market):
    w = run_window(fixture_market, "calm", "2023-12-24", "2023-12-31", windows=(1, 5), assets=("BTC", "ETH"))
    assert w.books == ("long_BTC", "long_ETH", "diversified", "btc_eth_hedge")
    assert w.req_floor.shape == w.req_none.shape == w.req_stress.shape == (4, len(w.dates)) and w.first == 5
    assert np.all(w.req_floor[:2] >= w.req_none[:2] * (1 - 1e-12))     # single-asset longs
    s = w.summary()
    assert s["days"] == 8 and s["books"]["long_BTC"]["mean_ratio_floor_to_none"] > 1.0   # the floor binds
    st = s["books"]["long_BTC"]
    assert st["mean_ratio_stress_to_none"] > 1.0 and set(st["swing_stress"]) == {"1", "5"}   # calm: stress binds
    assert st["mean_req_stress"] == np.mean(w.req_stress[0, 5:])
    sw = w.swing(w.req_none, 1)
    assert sw[0] == np.max(w.req_none[0, 5:] / w.req_none[0, 4:-1])


def test_no_floor_returns_equal_a_build_without_the_floor(fixture_market):
    shell = parse_book({"instruments": [{"id": a, "kind": "spot", "underlying": a} for a in ("ETH", "BTC")],
                        "collateral": [{"asset": "USD", "haircut": 0.0}], "accounts": []})
    rm = CausalRiskModel(fixture_market, shell).at("2023-12-31")
    none = build_risk_model(fixture_market, shell, replace(ModelParams(), apc="none"),
                            asof="2023-12-31", fitter=lambda a, r: rm.fits[a])
    var = _day_variances(rm, fixture_market, ModelParams())
    np.testing.assert_allclose(_returns_with(rm, var, ModelParams(apc="none")), none.returns,
                               rtol=1e-12, atol=0)
    stress = build_risk_model(fixture_market, shell, replace(ModelParams(), apc="stress"),
                              asof="2023-12-31", fitter=lambda a, r: rm.fits[a])
    np.testing.assert_allclose(_returns_with(rm, var, ModelParams(apc="stress")), stress.returns,
                               rtol=1e-12, atol=0)
    assert not np.allclose(stress.returns, none.returns)


def test_cli_skips_in_one_line_without_the_history(monkeypatch, tmp_path):
    from calcm.cli import apc_cmd, main

    monkeypatch.setattr(apc_cmd, "DEFAULT_PRICES", tmp_path / "missing.csv")
    res = CliRunner().invoke(main, ["risk", "apc"])
    assert res.exit_code == 0 and res.output.strip().startswith("skipped:") and len(res.output.splitlines()) == 1
