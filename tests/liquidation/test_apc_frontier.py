"""The APC frontier (calcm.liquidation.apc_frontier): the buffer rule's invariants, the grid's
variance tools against the published builds, and the frontier's arithmetic on a planted path."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from calcm.liquidation.apc import ApcWindow, run_window
from calcm.liquidation.apc_frontier import (FLOOR_WEIGHTS, ApcSetting, buffer_path, frontier,
                                            setting_requirements, variance_grid)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 100.0), min_size=2, max_size=40), st.floats(0.0, 3.0))
def test_buffer_never_below_the_model_and_never_amplifies_a_rise(req, b):
    m = np.array([req, req[::-1]])
    r = buffer_path(m, b)
    assert np.all(r >= m) and np.all(r <= (1 + b) * m * (1 + 1e-15))
    assert np.all(r[:, 1:] <= np.maximum(m[:, 1:], r[:, :-1]))
    np.testing.assert_array_equal(buffer_path(m, 0.0), m)


def test_buffer_absorbs_a_rise_up_to_its_size_and_rebuilds_on_a_fall():
    m = np.array([[1.0, 1.2, 1.5, 1.0, 1.0]])
    np.testing.assert_allclose(buffer_path(m, 0.25), [[1.25, 1.25, 1.5, 1.25, 1.25]])


def test_grid_variance_tools_equal_the_published_builds(fixture_market):
    w = run_window(fixture_market, "calm", "2023-12-24", "2023-12-31", windows=(1, 5), assets=("BTC", "ETH"),
                   grid=variance_grid())
    np.testing.assert_allclose(w.grid["floor 1"], w.req_floor, rtol=1e-12, atol=0)
    np.testing.assert_allclose(w.grid["stress 0.25"], w.req_stress, rtol=1e-12, atol=0)
    longs = [w.grid[f"floor {v:g}"][:2] for v in FLOOR_WEIGHTS]        # single-asset longs
    assert all(np.all(b >= a * (1 - 1e-12)) for a, b in zip(longs, longs[1:]))
    assert np.any(longs[-1] > longs[0])


def _window(name, req, first, floor=1.2):
    """Two books: no-APC requirements ``req`` and a flat 0.5, the published floor at ``floor``."""
    req = np.array([req, [0.5] * len(req)], float)
    grid = {k: req.copy() for k in variance_grid()}
    grid["floor 1"] = np.maximum(req, floor)
    return ApcWindow(name, "-", "-", ("BTC", "ETH"), ("long_BTC", "btc_eth_hedge"), np.arange(req.shape[1]), req, grid["floor 1"],
                     req.copy(), (5,), first, grid)


def test_frontier_numbers_on_a_planted_crash():
    full = _window("full", [1.0] * 10 + [2.0] * 10, 0)
    crash = _window("crash", [1.0] * 6 + [2.4] * 6, 5)
    f = frontier(full, [crash])
    rows = {r["setting"]: r for r in f["settings"]}
    none_like = rows["floor 0.5"]["books"]["long_BTC"]
    assert none_like == {"cost": 1.0, "swing": 2.4, "worst_episode": "crash"} and not rows["floor 0.5"]["meets"]
    fl = rows["floor 1"]["books"]["long_BTC"]              # 1.2 on the calm days, the model on the rest
    assert fl["cost"] == np.mean([1.2] * 10 + [1.0] * 10) and fl["swing"] == 2.4 / 1.2
    fb = rows["floor+buffer 0.25"]["books"]["long_BTC"]    # the buffer on the floor: 1.5, then 2 from day 10
    assert fb["cost"] == np.mean([1.5] * 10 + [1.0] * 10) and fb["swing"] == 2.4 / 1.5
    b1 = rows["buffer 1"]["books"]["long_BTC"]            # 2.0 held until the crash: 2.4 / 2.0
    assert b1["swing"] == 2.4 / 2.0 and b1["cost"] == (10 * 2.0 + 10 * 1.0) / 20
    assert rows["buffer 0.25"]["books"]["long_BTC"]["cost"] == (10 * 1.25 + 10 * 1.0) / 20
    assert rows["buffer 0.25"]["emir"] and not rows["floor 0.5"]["emir"]
    assert rows["floor 0.5"]["books"]["btc_eth_hedge"] == {"cost": 1.0, "swing": 1.0, "worst_episode": "crash"}
    assert f["feasible"] == []                             # the cheap ones do not damp, the damping ones cost
    best = f["best"]["long_BTC"]
    cheap = best["cheapest_within_swing"]                 # 1.8 held, then 2.0: 1.4 against buffer 1's 1.5
    assert cheap["setting"] == "floor+buffer 0.5" and cheap["cost"] == np.mean([1.8] * 10 + [1.0] * 10)
    assert abs(cheap["swing"] - 2.4 / 1.8) < 1e-12
    assert best["least_swing_within_cost"]["setting"] == "buffer 0.25"
    assert best["least_swing_within_cost"]["swing"] == 2.4 / 1.25
    np.testing.assert_array_equal(setting_requirements(crash, ApcSetting("floor+buffer", 1.0)),
                                  buffer_path(crash.req_floor, 1.0))


def test_a_data_fallback_warning_prints_once_per_run():
    """The report builds one model a day, each warning that ADV falls back; stderr says it once."""
    from click.testing import CliRunner

    from calcm.cli import main
    from calcm.paths import FIXTURES

    res = CliRunner().invoke(main, ["risk", "apc", "--prices", str(FIXTURES / "market.csv"),
                                    "--window", "w:2023-12-24:2023-12-31", "--json"])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("calcm: warning:")]
    assert len(lines) == 1 and "no volumes for" in lines[0]
