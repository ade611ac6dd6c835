"""Backtest statistics against hand computations, and the rolling backtest's causality."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from calcm.liquidation.backtest import (BacktestBook, acerbi_szekely_z2, christoffersen, es_test,
                                        kupiec, run_backtest, transition_counts, var_test, z2_null)
from calcm.liquidation.backtest_tests import Z2Null


def test_kupiec_by_hand():
    T, x, p = 250, 7, 0.01
    I = np.zeros(T, bool)
    I[[3, 40, 41, 100, 150, 200, 249]] = True
    lr0 = -2 * ((T - x) * math.log(1 - p) + x * math.log(p))
    lr1 = -2 * ((T - x) * math.log(1 - x / T) + x * math.log(x / T))
    lr, pv = kupiec(I, p)
    assert lr == pytest.approx(lr0 - lr1)
    assert pv == pytest.approx(1 - stats.chi2.cdf(lr0 - lr1, df=1))
    assert pv < 0.05                                 # 7 in 250 is too many at 99%


def test_kupiec_boundaries():
    # Exactly the expected rate: LR = 0, p = 1.
    lr, pv = kupiec(np.r_[np.ones(1, bool), np.zeros(99, bool)], 0.01)
    assert lr == pytest.approx(0.0, abs=1e-12) and pv == pytest.approx(1.0)
    # No exception in 250 days: LR = -2 * 250 * ln(0.99) = 5.025, rejected; in 150 days not.
    lr, pv = kupiec(np.zeros(250, bool), 0.01)
    assert lr == pytest.approx(-500 * math.log(0.99)) and pv < 0.05
    assert kupiec(np.zeros(150, bool), 0.01)[1] > 0.05


def test_christoffersen_by_hand():
    seq = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0], bool)
    n00, n01, n10, n11 = transition_counts(seq)
    assert (n00, n01, n10, n11) == (6, 3, 3, 3)
    pi0, pi1, pi = 3 / 9, 3 / 6, 6 / 15
    ll0 = 9 * math.log(1 - pi) + 6 * math.log(pi)
    ll1 = 6 * math.log(1 - pi0) + 3 * math.log(pi0) + 3 * math.log(1 - pi1) + 3 * math.log(pi1)
    lr, pv = christoffersen(seq)
    assert lr == pytest.approx(-2 * (ll0 - ll1))
    assert pv == pytest.approx(stats.chi2.sf(-2 * (ll0 - ll1), 1))
    # No consecutive exceptions at all (n11 = 0) is handled with 0 log 0 = 0.
    lr, _ = christoffersen(np.array([0, 1, 0, 0, 1, 0, 0, 0], bool))
    assert np.isfinite(lr)
    assert christoffersen(np.zeros(50, bool)) == (0.0, 1.0)
    vt = var_test(seq, 0.01)
    assert vt.conditional_coverage_p == pytest.approx(stats.chi2.sf(vt.kupiec_lr + vt.christoffersen_lr, 2))


def test_z2_by_hand():
    loss = np.array([1.0, 5.0, 0.5, 8.0])
    var = np.array([2.0, 4.0, 2.0, 4.0])
    es = np.array([3.0, 6.0, 3.0, 6.0])
    # Exceptions on days 2 and 4: 1 - (5/6 + 8/6) / (4 * 0.01)
    assert acerbi_szekely_z2(loss, var, es, 0.01) == pytest.approx(1 - (5 / 6 + 8 / 6) / 0.04)
    assert acerbi_szekely_z2(np.zeros(4), var, es, 0.01) == 1.0


def _normal_days(T, S, scale_true, seed):
    """Scenario sets of N(0, 1) losses, and realised losses N(0, scale_true^2)."""
    rng = np.random.default_rng(seed)
    scen = [rng.standard_normal(S) for _ in range(T)]
    k = int(math.ceil(0.01 * S))
    top = [np.sort(s)[::-1][:k] for s in scen]
    var = np.array([t[-1] for t in top])
    es = np.array([t.mean() for t in top])
    loss = scale_true * rng.standard_normal(T)
    return scen, var, es, loss


def test_es_test_accepts_a_right_model_and_rejects_a_wrong_one():
    scen, var, es, loss = _normal_days(1000, 1000, 1.0, 1)
    ok = es_test(loss, var, es, scen, 0.01, n_sims=1000, seed=0)
    assert ok.p_value > 0.05
    scen, var, es, loss = _normal_days(1000, 1000, 1.6, 2)
    bad = es_test(loss, var, es, scen, 0.01, n_sims=1000, seed=0)
    assert bad.z2 < bad.critical_5pct and bad.p_value < 0.01
    assert bad.direction == "aggressive" and bad.p_aggressive < 0.005


def test_es_test_is_two_sided():
    """A model whose losses are too wide (ES too high) is rejected as conservative."""
    scen, var, es, loss = _normal_days(1000, 1000, 0.5, 4)
    cons = es_test(loss, var, es, scen, 0.025, n_sims=1000, seed=0)
    assert cons.direction == "conservative"
    assert cons.p_conservative < 0.005 and cons.p_value < 0.01 and cons.p_aggressive > 0.99
    # Kupiec is two-sided too: 0 exceptions in 1000 days at 97.5% is rejected, as "conservative".
    vt = var_test(loss > var, 0.025)
    assert vt.direction == "conservative" and vt.kupiec_p < 0.01


def test_streaming_null_matches_the_per_book_null():
    """Z2Null over 3 books at once = z2_null run book by book with the same draws."""
    rng = np.random.default_rng(5)
    T, S = 60, 200
    scen = [rng.standard_normal((3, S)) * [[1.0], [2.0], [0.5]] for _ in range(T)]
    var = np.array([np.sort(s, axis=1)[:, -5] for s in scen])          # (T, 3)
    es = np.array([np.sort(s, axis=1)[:, -5:].mean(axis=1) for s in scen])
    many = Z2Null(3, 0.025, 400, seed=7)
    for t in range(T):
        many.add(scen[t], var[t], es[t])
    for b in range(3):
        one = z2_null([s[b] for s in scen], var[:, b], es[:, b], 0.025, 400, 7)
        np.testing.assert_allclose(many.z2()[b], one, rtol=0, atol=1e-12)


def test_z2_null_is_centred_near_zero():
    scen, var, es, _ = _normal_days(500, 2000, 1.0, 3)
    null = z2_null(scen, var, es, 0.01, 2000, 0)
    # Discrete scenario sets put VaR at the k-th largest: the null mean sits a little above 0.
    assert -0.1 < float(np.mean(null)) < 0.3


@pytest.fixture(scope="module")
def fixture_backtest(fixture_market):
    books = [BacktestBook("long_BTC", {"BTC": 1.0}), BacktestBook("pair", {"BTC": 1.0, "ETH": -1.0})]
    return run_backtest(fixture_market, "2023-01-01", "2023-02-15", books=books, n_sims=300)


def test_rolling_backtest_shapes_and_margin(fixture_backtest):
    rep = fixture_backtest
    assert rep.levels == (0.975, 0.99)
    assert [b.book.name for b in rep.books] == ["long_BTC", "pair"]
    for b in rep.books:
        lo, hi = b.at(0.975), b.at(0.99)
        assert len(b.dates) == len(hi.var) == len(b.loss) == 46
        assert np.all(hi.es >= hi.var - 1e-12)
        # The 99% quantile of the same scenario set sits at or above the 97.5% one.
        assert np.all(hi.var >= lo.var - 1e-12) and np.all(hi.es >= lo.es - 1e-12)
        for lv in (lo, hi):
            assert lv.var_test.exceptions == int((b.loss > lv.var).sum())
            assert lv.var_test.expected == pytest.approx((1 - lv.level) * 46)
            assert lv.es_test.z2 == pytest.approx(acerbi_szekely_z2(b.loss, lv.var, lv.es, 1 - lv.level))
        s = b.summary()
        for r in s["levels"].values():
            assert 0 <= r["kupiec_p"] <= 1 and 0 <= r["es_p"] <= 1
        # The margin (stressed, 2-day ES) sits above the one-day VaR.
        ok = np.isfinite(b.margin)
        assert ok.sum() >= 44 and np.all(b.margin[ok] >= hi.var[ok])
    # January and February estimations per asset, all logged with their convergence flag.
    assert rep.refits == 4 and {f.asset for f in rep.fits} == {"BTC", "ETH"}
    assert rep.fit_summary()["BTC"]["estimations"] == 2


def test_backtest_is_causal(fixture_market, fixture_backtest):
    """Truncating the data after the last realisation changes no forecast."""
    cut = fixture_market.upto("2023-02-18")
    books = [b.book for b in fixture_backtest.books]
    again = run_backtest(cut, "2023-01-01", "2023-02-15", books=books, n_sims=300)
    for a, b in zip(fixture_backtest.books, again.books):
        for lv in (0.975, 0.99):
            np.testing.assert_array_equal(a.at(lv).var, b.at(lv).var)
            np.testing.assert_array_equal(a.at(lv).es, b.at(lv).es)
        np.testing.assert_array_equal(a.loss, b.loss)
