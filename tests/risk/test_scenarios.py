"""Scenario sets: FHS re-correlation, stress scenarios, determinism and the content hash."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from calcm.risk.correlation import EwmaCorrelation, stressed
from calcm.risk.model import ModelParams, build_risk_model
from calcm.risk.scenarios import (MIN_RETURN, ScenarioParams, ScenarioSet, build_scenarios,
                                  filtered_historical, match_scale, stress_days, student_t_quantile)


def test_kinds_and_counts(risk):
    s = risk.scenarios
    U = len(s.assets)
    kinds = list(s.kinds)
    assert kinds.count("fhs") == 480 and kinds.count("stress") == 20
    assert kinds.count("crash") == kinds.count("rally") == 1
    assert kinds.count("breakdown") == U * (U - 1)
    assert kinds.count("worst") == 5
    # Every ordered pair breaks: a up, b down.
    for a in s.assets:
        for b in s.assets:
            if a != b:
                z = s.z[s.names.index(f"breakdown {a}+/{b}-")]
                assert z[s.assets.index(a)] > 2 and z[s.assets.index(b)] < -2
                assert np.count_nonzero(z) == 2


def test_crash_is_student_t_tail(risk):
    s = risk.scenarios
    crash = s.z[s.names.index("crash")]
    for u, a in enumerate(s.assets):
        k = student_t_quantile(0.999, risk.fits[a].params.nu)
        assert crash[u] == pytest.approx(-k)
        assert k > 3.09  # fatter than the normal 99.9% quantile
    assert np.all(s.z[s.names.index("rally")] == -crash)


def test_worst_days_include_the_stress_episode(risk):
    worst = [n for n in risk.scenarios.names if n.startswith("worst")]
    assert any(n.startswith("worst 2023-01-2") for n in worst)


def test_fhs_recorrelation_identity_and_target():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((400, 3))
    path = EwmaCorrelation().filter(z)
    days = np.arange(400)
    # Re-correlating to each day's own correlation is the identity.
    for t in (5, 200, 399):
        tgt = path.predicted[t]
        out = filtered_historical(z, path, tgt, np.array([t]))
        np.testing.assert_allclose(out[0], z[t], atol=1e-9)
    # Re-correlated to a strongly correlated target, the sample correlation follows it.
    target = stressed(np.eye(3), 0.8)
    out = filtered_historical(z, path, target, days)
    c = np.corrcoef(out.T)
    assert np.all(c[~np.eye(3, dtype=bool)] > 0.65)


def test_hash_deterministic_and_sensitive(market, book, risk):
    again = build_risk_model(market, book)
    assert again.scenarios.hash == risk.scenarios.hash
    s = risk.scenarios
    z = s.z.copy()
    z[7, 1] = np.nextafter(z[7, 1], 1.0)
    assert ScenarioSet(s.assets, s.names, s.kinds, z, s.vol_shock, s.skew_shock).hash != s.hash
    v = s.vol_shock.copy()
    v[-1, -1] += 1e-9
    assert ScenarioSet(s.assets, s.names, s.kinds, s.z, v, s.skew_shock).hash != s.hash
    kappa = s.skew_shock.copy()
    kappa[3, 0] += 1e-9
    assert ScenarioSet(s.assets, s.names, s.kinds, s.z, s.vol_shock, kappa).hash != s.hash
    # the hash is over z, v, kappa in that order: swapping two equal-shape arrays changes it
    assert ScenarioSet(s.assets, s.names, s.kinds, s.z, s.skew_shock, s.vol_shock).hash != s.hash
    names = list(s.names)
    names[0] = "renamed"
    assert ScenarioSet(s.assets, tuple(names), s.kinds, s.z, s.vol_shock, s.skew_shock).hash != s.hash
    back = ScenarioSet.from_json(s.to_json())
    assert back.hash == s.hash and np.array_equal(back.skew_shock, s.skew_shock)
    old = {k: v for k, v in s.to_json().items() if k != "skew_shock"}
    with pytest.raises(ValueError, match="skew_shock"):
        ScenarioSet.from_json(old)


def test_parameters_change_the_set(market, book, risk):
    p = ModelParams(scenarios=ScenarioParams(n_fhs=300, fhs_selection="even"))
    other = build_risk_model(market, book, p)
    assert other.scenarios.n_scenarios == risk.scenarios.n_scenarios - 180
    assert other.scenarios.hash != risk.scenarios.hash
    assert ModelParams().hash == ModelParams().hash != p.hash


def test_returns_scale_and_floor(risk):
    s = risk.scenarios
    vol = np.full(len(s.assets), 0.03 * np.sqrt(2))
    r = s.returns(vol)
    raw = s.z * 0.03 * np.sqrt(2)
    np.testing.assert_allclose(r, np.maximum(raw, MIN_RETURN))
    assert s.returns(vol * 100).min() == MIN_RETURN
    with pytest.raises(ValueError):
        s.returns(vol[:-1])


def test_validation():
    with pytest.raises(ValueError):
        ScenarioSet(("A",), ("x", "x"), ("fhs", "fhs"), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError):
        ScenarioSet(("A",), ("x",), ("vol",), np.zeros((1, 1)), np.array([[-1.0]]), np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"\(S, U\)"):   # the (S,) vol shock of scenarios v2
        ScenarioSet(("A",), ("x",), ("vol",), np.zeros((1, 1)), np.zeros(1), np.zeros((1, 1)))
    with pytest.raises(ValueError):
        ScenarioSet(("A",), ("x",), ("vol",), np.zeros((1, 1)), np.zeros((1, 1)), np.array([[np.nan]]))
    with pytest.raises(ValueError):
        ScenarioParams(fhs_selection="random")


def test_small_history_builds_and_is_deterministic():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((60, 2))
    path = EwmaCorrelation().filter(z)
    dates = np.datetime64("2022-01-01") + np.arange(60)
    mk = lambda: build_scenarios(("A", "B"), dates, z, path, stressed(path.today), np.array([5.0, 6.0]),  # noqa: E731
                                 ScenarioParams(n_fhs=100))
    a, b = mk(), mk()
    assert a.hash == b.hash and a.kinds.count("fhs") == 60 and a.kinds.count("stress") == 20
    assert dataclasses.is_dataclass(a)
    assert a.canonical_bytes().startswith(b"calcm-scenarios-v3\n")


def test_stress_days_rule():
    """ceil(n/2) lowest and floor(n/2) highest mean-z days of the window, distinct, in day order."""
    rng = np.random.default_rng(8)
    z = rng.standard_normal((50, 3))
    days = np.arange(10, 50)
    m = z[days].mean(axis=1)
    pick = stress_days(z, days, 5)
    assert list(pick) == sorted(pick) and len(set(pick)) == 5
    assert set(pick) == set(np.argsort(m)[:3]) | set(np.argsort(m)[-2:])
    assert len(stress_days(z, days, 100)) == 40 and len(stress_days(z, days, 0)) == 0
    flat = np.zeros((6, 2))                               # all tied: the earliest days win
    assert list(stress_days(flat, np.arange(6), 4)) == [0, 1, 2, 3]


def test_fhs_use_todays_correlation_and_stress_rows_the_blend():
    """fhs rows: re-correlated to R_today; stress rows: the same days re-correlated to R_stress."""
    rng = np.random.default_rng(9)
    z = rng.standard_normal((120, 3)) @ np.array([[1, 0.6, 0.3], [0, 0.8, 0.2], [0, 0, 0.9]])
    path = EwmaCorrelation().filter(z)
    dates = np.datetime64("2022-01-01") + np.arange(120)
    target = stressed(path.today, 0.5)
    p = ScenarioParams(n_fhs=40, n_stress=6)
    s = build_scenarios(("A", "B", "C"), dates, z, path, target, np.array([5.0, 6.0, 7.0]), p)
    days = np.arange(80, 120)
    fhs = np.array([k == "fhs" for k in s.kinds])
    np.testing.assert_allclose(s.z[fhs], match_scale(filtered_historical(z, path, path.today, days), z[days]))
    st = np.flatnonzero([k == "stress" for k in s.kinds])
    assert list(st) == list(range(40, 46))                # right after the fhs rows
    pick = stress_days(z, days, 6)
    np.testing.assert_allclose(s.z[st], match_scale(filtered_historical(z, path, target, days), z[days])[pick])
    assert [s.names[i] for i in st] == [f"stress {dates[t]}" for t in days[pick]]
    np.testing.assert_allclose(s.vol_shock[st], np.clip(0.10 * (np.abs(s.z[st]) - 1), -0.30, 1.00))
    with pytest.raises(ValueError):
        ScenarioParams(n_stress=-1)


def test_match_scale_restores_marginals_and_keeps_correlation():
    from calcm.risk.scenarios import match_scale

    rng = np.random.default_rng(6)
    raw = rng.standard_normal((300, 3)) * [1.0, 2.0, 0.5]
    rec = rng.standard_normal((300, 3)) @ np.array([[1, 0.5, 0.2], [0, 1, 0.3], [0, 0, 1]])
    out = match_scale(rec, raw)
    np.testing.assert_allclose(np.sqrt((out ** 2).mean(0)), np.sqrt((raw ** 2).mean(0)))
    np.testing.assert_allclose(np.corrcoef(out.T), np.corrcoef(rec.T), atol=1e-12)
