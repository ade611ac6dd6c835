"""Baselines (SPAN-style, Deribit-style, calibrated static), regime axes and the crowd cascade.

The crowd smoke runs on the bundled fixtures (200 accounts, the fixture crash, 14
days); the real-history check skips when ../shared/data/prices is absent. The full
ablation and the 10,000-account crowd are reports (`calcm cascade ablation|crowd`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from calcm.liquidation.ablation import run_episode, static_class_rates
from calcm.liquidation.crowd import CrowdParams, crowd_cash, draw_crowd
from calcm.liquidation.crowd_replay import (CrowdSimParams, _bounds, _fractions, perp_shell, swing,
                                            usd_model)
from calcm.liquidation.causal import CausalRiskModel
from calcm.liquidation.impact import ImpactModel, ImpactParams
from calcm.liquidation.regimes import LEGACY, MARGIN_MODELS, POLICIES, REGIMES, make_regime, regime
from calcm.market import load_market_ohlcv
from calcm.paths import SHARED_DATA
from calcm.risk.baselines import (DeribitParams, SpanParams, StaticParams, deribit_margin, span_margin,
                                  underlying_returns)

ASSETS = ("BTC", "ETH", "SOL", "LINK", "DOGE")


@pytest.fixture(scope="module")
def usd(fixture_market):
    shell = perp_shell(ASSETS)
    causal = CausalRiskModel(fixture_market, shell)
    return usd_model(causal, shell, "2023-01-09")


def _margin(reg, model, x):
    U = len(model.underlyings)
    return reg.margin(model, np.ones(U), np.arange(U), x, np.zeros((len(x), 1)))


def test_regime_axes_cover_every_model_and_policy():
    for m in MARGIN_MODELS:
        for p in POLICIES:
            r = regime(f"{m}/{p}")
            assert (r.model, r.policy, r.risk_haircuts) == (m, p, m == "calcm")
    for legacy, canonical in LEGACY.items():
        old, new = REGIMES[legacy], REGIMES[canonical]
        assert (old.model, old.partial, old.risk_haircuts) == (new.model, new.partial, new.risk_haircuts)
    with pytest.raises(ValueError):
        make_regime("span", "half")


def test_scaled_regime_scales_the_requirement_only(usd):
    x = np.array([[1e6, -5e5, 0, 0, 2e5]])
    base, twice = make_regime("span", "full"), make_regime("span", "full", scale=2.0)
    a, b = _margin(base, usd, x), _margin(twice, usd, x)
    assert b.mm[0] == pytest.approx(2 * a.mm[0]) and b.im[0] == pytest.approx(2 * a.im[0])
    assert b.equity[0] == a.equity[0]


def test_span_scans_the_price_range_and_credits_spreads(usd):
    r = underlying_returns(usd, np.arange(5))
    psr = np.quantile(np.abs(r), 0.99, axis=0)
    lone = span_margin(usd, np.diag([1e6, -1e6, 1e6, 1e6, 1e6]), np.zeros((5, 1)), np.arange(5))
    np.testing.assert_allclose(lone.mm, 1e6 * psr, rtol=1e-12)        # linear: the full range
    corr = np.corrcoef(r.T)[0, 1]
    assert corr >= SpanParams().credit_min_correlation                  # BTC/ETH get a credit
    spread = span_margin(usd, np.array([[1e6, -1e6, 0, 0, 0]]), np.zeros((1, 1)), np.arange(5))
    scan = 1e6 * (psr[0] + psr[1])
    assert spread.mm[0] == pytest.approx(scan - 2 * 0.5 * 1e6 * min(psr[0], psr[1]))
    same_side = span_margin(usd, np.array([[1e6, 1e6, 0, 0, 0]]), np.zeros((1, 1)), np.arange(5))
    assert same_side.mm[0] == pytest.approx(scan)                       # no credit without a spread


def test_deribit_grid_extended_table_and_contingency(usd):
    p = DeribitParams()
    lone = deribit_margin(usd, np.diag([1e6, -1e6, 1e6, 1e6, 1e6]), np.zeros((5, 1)), np.arange(5))
    np.testing.assert_allclose(lone.mm, 1e6 * np.array([0.16, 0.16, 0.24, 0.24, 0.24]), rtol=1e-12)
    heavy = deribit_margin(usd, np.diag([1e6] * 5), np.zeros((5, 1)), np.arange(5),
                           DeribitParams(extended_weight=0.5))
    assert heavy.mm[0] == pytest.approx(0.5 * 0.66 * 1e6)              # extended -66% x 0.5 > 16%
    # No cross-underlying offsets: a BTC/ETH spread pays both legs.
    spread = deribit_margin(usd, np.array([[1e6, -1e6, 0, 0, 0]]), np.zeros((1, 1)), np.arange(5))
    assert spread.mm[0] == pytest.approx(2 * 0.16e6)
    assert p.futures_contingency == 0.01


def test_deribit_contingency_on_offsetting_futures(fixture_market):
    from calcm.risk.book import parse_book
    shell = parse_book({"instruments": [{"id": "BTC-PERP", "kind": "perp", "underlying": "BTC"},
                                        {"id": "BTC", "kind": "spot", "underlying": "BTC"}],
                        "collateral": [{"asset": "USDC", "haircut": 0.0}], "accounts": []}, source="t")
    model = usd_model(CausalRiskModel(fixture_market, shell), shell, "2023-01-09")
    basis = deribit_margin(model, np.array([[-1e6, 1e6]]), np.zeros((1, 1)), np.array([0, 0]))
    assert basis.mm[0] == pytest.approx(0.01 * 1e6)                   # flat delta, 1% contingency


def test_static_class_rates_are_causal(fixture_market):
    from dataclasses import replace
    rates = static_class_rates(fixture_market, "2022-12-31")
    assert 0 < rates[0] < rates[1] < 1                                   # alts riskier than majors
    k = int(np.searchsorted(fixture_market.dates, np.datetime64("2022-12-31"), side="right"))
    closes = fixture_market.closes.copy()
    closes[k:] *= 0.1                                                    # a crash after asof
    assert static_class_rates(replace(fixture_market, closes=closes), "2022-12-31") == rates
    st = StaticParams(class_rates=rates)
    np.testing.assert_allclose(st.rates(("BTC", "ETH", "DOGE")), [rates[0], rates[0], rates[1]])


def test_screen_bound_covers_every_exact_requirement(usd):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 5)) * 1e6 * (rng.random((300, 5)) < 0.6)
    static = StaticParams(class_rates=(0.2, 0.35))
    for m in MARGIN_MODELS:
        reg = make_regime(m, "full", static=static if m == "static" else None)
        bp, bm, a = _bounds(reg, usd)
        ub = (np.abs(x) * np.where(x > 0, bp, bm)).sum(axis=1) + (x * x * a).sum(axis=1)
        exact = _margin(reg, usd, x).mm
        assert np.all(exact <= ub * (1 + 1e-9) + 1e-6), m
        if m in ("siloed", "static", "deribit"):                         # separable: exact
            np.testing.assert_allclose(exact, ub, rtol=1e-9)


def test_crowd_requirement_carries_the_perp_charge(usd):
    """The crowd's perps pay the published basis + funding charge under calcm and siloed
    (BTC 726, ETH 950, others 1700 bps at h = 2 per USD: usd_model is at unit prices);
    the venue baselines (static, SPAN, Deribit) follow their own rules and do not."""
    shock = np.array([726, 950, 1700, 1700, 1700]) / 1e4
    np.testing.assert_allclose(usd.perp_charge, np.diag(shock), rtol=1e-12)
    bare = replace(usd, perp_charge=None)
    x = np.array([[2e6, 0, 0, 0, 0], [0, -1e6, 0, 0, 0], [1e6, -1e6, 5e5, 0, 0], [0, 0, 0, 3e5, -3e5]])
    for m in ("calcm", "siloed"):
        reg = make_regime(m, "full")
        with_c, without = _margin(reg, usd, x), _margin(reg, bare, x)
        assert np.all(without.es > 0), m                                 # the ES floor does not bind
        np.testing.assert_allclose(with_c.mm - without.mm, np.abs(x) @ shock, rtol=1e-9, err_msg=m)
    for m in ("static", "span", "deribit"):
        reg = make_regime(m, "full")
        np.testing.assert_array_equal(_margin(reg, usd, x).mm, _margin(reg, bare, x).mm, err_msg=m)


def test_partial_fraction_is_the_least_that_restores(usd):
    reg = make_regime("calcm", "partial")
    p = CrowdSimParams()
    impact = ImpactModel(p.impact)
    x = np.array([[3e6, 0, 0, 0, 0], [1e6, -8e5, 0, 2e5, 0], [0, 0, 5e5, 0, -5e5]])
    res = _margin(reg, usd, x)
    e0 = 0.8 * res.mm                                                    # all liquidatable
    f = _fractions(reg, p, impact, usd, e0, x, res.mm, res.addon)
    assert np.all((f > 0) & (f < 1))
    for shrink, sign in ((1.0, 1), (1 - 1e-6, -1)):
        g = f * shrink
        left = _margin(reg, usd, x * (1 - g)[:, None]).mm
        trade = g[:, None] * np.abs(x)
        eq = e0 - impact.cost(trade, usd.adv, usd.liquidity_weight).sum(axis=1) - 0.01 * g * np.abs(x).sum(axis=1)
        assert np.all(sign * (eq - p.liquidation.target_ratio * left) >= -1e-6)
    assert np.all(_fractions(make_regime("calcm", "full"), p, impact, usd, e0, x, res.mm, res.addon) == 1)


def test_crowd_is_admissible_and_sized_against_volume(usd):
    regs = [make_regime(m, "full") for m in MARGIN_MODELS]
    crowd = draw_crowd(usd, regs, seed=1, params=CrowdParams(n_accounts=500))
    assert np.abs(crowd.x).sum() == pytest.approx(0.5 * usd.adv.sum())
    for reg in regs:
        assert np.all(crowd.cash >= _margin(reg, usd, crowd.x).im * (1 + 0.02) - 1e-6)
    again = draw_crowd(usd, regs[:1], seed=1, params=CrowdParams(n_accounts=500))
    np.testing.assert_array_equal(again.x, crowd.x)                     # positions don't depend on regimes


def test_each_regime_posts_its_own_margin_or_the_strictest(usd):
    crowd = draw_crowd(usd, [], seed=2, params=CrowdParams(n_accounts=300))
    np.testing.assert_array_equal(crowd.cash, crowd.equity)             # no regime: drawn equity
    regs = [make_regime(m, "full") for m in MARGIN_MODELS]
    own = {r.name: crowd_cash(crowd, usd, [r]) for r in regs}
    for r in regs:
        im = _margin(r, usd, crowd.x).im
        np.testing.assert_allclose(own[r.name], np.maximum(crowd.equity, (1 + crowd.headroom) * im))
    np.testing.assert_allclose(crowd_cash(crowd, usd, regs), np.max(list(own.values()), axis=0))


def test_swing_is_the_largest_rise_within_the_horizon():
    assert swing([1, 2, 1, 3], 1) == pytest.approx(2.0)
    assert swing([1, 1.5, 1.6, 0.5], 2) == pytest.approx(0.6)
    assert swing([3, 2, 1], 5) == 0.0


@pytest.fixture(scope="module")
def smoke(fixture_market):
    return run_episode(fixture_market, "fixture", n_accounts=200, seed=0, days=14, matched=False)


def test_crowd_smoke_cascades_under_impact_and_conserves(smoke):
    rows = {r["regime"]: r for r in smoke["rows"]}
    assert set(rows) == {f"{m}/{p}" for m in MARGIN_MODELS for p in POLICIES}
    for r in rows.values():
        assert abs(r["conservation_error"]) <= 1e-9 * r["conservation_scale"], r["regime"]
        assert r["notional"] > 0
    # Liquidations moved prices and triggered further liquidations (cascade rounds).
    assert all(r["cascade_rounds"] > 0 and r["max_rounds"] > 1 for r in rows.values())
    assert smoke["target"]["own"]["ranking"][0] in rows


def test_frozen_replay_holds_the_start_model_and_is_attributed(smoke, fixture_market):
    """``frozen``: the fixed book's requirement moves with prices only (the model of the day before
    the window), and the ablation attributes calcm/partial's notional to its requirement's rise."""
    from calcm.liquidation.crowd_replay import replay_crowd

    rows = {r["regime"]: r for r in smoke["rows"]}
    fr = smoke["frozen"]["calcm/partial"]
    att = smoke["attribution"]["calcm/partial@frozen"]
    assert att["notional"] == fr["notional"] - rows["calcm/partial"]["notional"]
    assert abs(fr["conservation_error"]) <= 1e-9 * fr["conservation_scale"]
    shell = perp_shell(ASSETS)
    causal = CausalRiskModel(fixture_market, shell)
    reg = make_regime("calcm", "partial")
    m0 = usd_model(causal, shell, "2023-01-09")
    crowd = draw_crowd(m0, [reg], 0, CrowdParams(n_accounts=40))
    sim = CrowdSimParams(swing_accounts=40)
    days = ("2023-01-10", "2023-01-14")
    out = replay_crowd(fixture_market, crowd, [reg], *days, causal, shell, sim, frozen=True)[reg.name]
    live = replay_crowd(fixture_market, crowd, [reg], *days, causal, shell, sim)[reg.name]
    cols = [fixture_market.index(a) for a in ASSETS]
    k = int(np.searchsorted(fixture_market.dates, np.datetime64(days[0])))
    p0 = fixture_market.closes[k - 1, cols]
    want = [_margin(reg, m0, crowd.x * (fixture_market.closes[t, cols] / p0)).mm.sum() for t in range(k, k + 5)]
    assert out["mean_requirement"] == pytest.approx(np.mean(want), rel=1e-12)
    assert live["mean_requirement"] != pytest.approx(np.mean(want), rel=1e-6)


def test_no_cascade_rounds_without_price_impact(fixture_market):
    calm = CrowdSimParams(impact=ImpactParams(permanent_share=0.0))
    out = run_episode(fixture_market, "fixture", n_accounts=200, seed=0, days=14, matched=False, sim=calm)
    assert out["rows"]
    for r in out["rows"]:
        assert r["liquidations"] > 0 and r["max_rounds"] == 1 and r["cascade_rounds"] == 0, r["regime"]


PRICES = SHARED_DATA / "prices" / "daily_close.csv"


@pytest.mark.skipif(not PRICES.exists(), reason=f"real price history absent ({PRICES}); "
                                                 "the episode replays need ../shared/data/prices")
def test_real_episode_cascades_and_conserves():
    market = load_market_ohlcv(PRICES)
    out = run_episode(market, "2020-03", n_accounts=200, seed=0, days=18, matched=False)
    rows = {r["regime"]: r for r in out["rows"]}
    assert out["end"] >= "2020-03-12"
    assert max(r["max_rounds"] for r in rows.values()) > 1
    for r in rows.values():
        assert abs(r["conservation_error"]) <= 1e-9 * r["conservation_scale"], r["regime"]


def test_engine_simulator_runs_every_baseline_with_partial_liquidation(fixture_market):
    """The per-account simulator (greedy engine) takes the new models and the partial policy."""
    from calcm.liquidation.replay import run_replay
    regs = ("span/partial", "deribit/partial", "static/partial", "siloed/partial", "span/full")
    book, res = run_replay(fixture_market, "2023-01-19", "2023-01-23", regimes=regs, seed=5, n_accounts=16)
    for name, r in res.items():
        lhs = r.final_net_value + r.fund_final + r.liquidator_income + r.impact_costs + r.unrecovered
        assert lhs == pytest.approx(r.initial_net_value + r.fund_initial + r.mtm_pnl, rel=1e-9, abs=1e-4), name
        np.testing.assert_allclose(r.q_final, r.q_initial + r.position_changes, rtol=1e-12,
                                   atol=1e-12 * max(1.0, np.abs(r.q_initial).max()))   # summed partial trades
    s = {k: r.summary for k, r in res.items()}
    assert s["span/full"]["full_liquidations"] == s["span/full"]["liquidations"]
    assert any(s[k]["liquidations"] > s[k]["full_liquidations"] for k in regs if k.endswith("/partial"))


def test_cascade_cli_reports_json_and_rejects_bad_input(tmp_path):
    import json

    from click.testing import CliRunner

    from calcm.cli import main
    from calcm.paths import FIXTURES
    args = ["cascade", "crowd", "--prices", str(FIXTURES / "market.csv"), "--episode", "fixture",
            "--accounts", "40", "--days", "12", "--json", "--out", str(tmp_path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc == json.loads((tmp_path / "crowd.json").read_text())
    rows = doc["episodes"][0]["rows"]
    assert len(rows) == 10 and all({"rounds", "cascade_rounds", "notional", "bad_debt"} <= set(r) for r in rows)
    bad = CliRunner().invoke(main, ["cascade", "ablation", "--episode", "nope", "--json"])
    assert bad.exit_code == 2 and "--episode" in bad.output and "Traceback" not in bad.output
