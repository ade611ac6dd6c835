"""Cascade simulator on the bundled fixtures: paths, conservation, determinism, waterfall."""
from __future__ import annotations

import json

import numpy as np
import pytest

from calcm.errors import InputError
from calcm.liquidation.replay import run_replay
from calcm.liquidation.simulate import SimParams, intraday_path, simulate
from calcm.risk.book import parse_book

WINDOW = ("2023-01-16", "2023-01-30")      # around the fixtures' crash (from 2023-01-20)


def test_intraday_path_visits_extremes_in_order():
    prev, close = np.array([100.0, 100.0]), np.array([90.0, 110.0])
    high, low = np.array([104.0, 112.0]), np.array([85.0, 97.0])
    path = intraday_path(prev, close, high, low, steps=3)
    assert path.shape == (9, 2)
    np.testing.assert_allclose(path[-1], close)
    # Down day: high first, then low; up day: low first, then high.
    np.testing.assert_allclose(path[2], [104.0, 97.0])
    np.testing.assert_allclose(path[5], [85.0, 112.0])
    assert path[:, 0].min() == pytest.approx(85.0) and path[:, 1].max() == pytest.approx(112.0)


def test_intraday_path_clips_bad_prints_and_handles_missing():
    prev, close = np.array([3.82]), np.array([1.99])
    path = intraday_path(prev, close, np.array([3.85]), np.array([0.0001]), steps=2, wick_cap=0.5)
    assert path.min() == pytest.approx(0.5 * 1.99)          # the 0.0001 print is clipped
    flat = intraday_path(prev, close, np.array([np.nan]), np.array([np.nan]), steps=2)
    assert flat.min() == pytest.approx(1.99) and flat.max() == pytest.approx(3.82)
    none = intraday_path(prev, close, None, None, steps=2)
    np.testing.assert_allclose(none, flat)


@pytest.fixture(scope="module")
def replay(fixture_market):
    return run_replay(fixture_market, *WINDOW, seed=3, n_accounts=30)


def _conserved(r):
    lhs = r.final_net_value + r.fund_final + r.liquidator_income + r.impact_costs + r.unrecovered
    rhs = r.initial_net_value + r.fund_initial + r.mtm_pnl
    return lhs, rhs


def test_conservation_of_value_and_positions(replay):
    book, results = replay
    assert set(results) == {"static", "siloed", "calcm"}
    for r in results.values():
        lhs, rhs = _conserved(r)
        assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-4)
        # Positions change only through recorded liquidation trades and ADL fills.
        np.testing.assert_allclose(r.q_final, r.q_initial + r.position_changes, rtol=1e-12,
                                   atol=1e-12 * max(1.0, np.abs(r.q_initial).max()))   # summed partial trades
        np.testing.assert_array_equal(r.q_initial, book.quantities())
        assert len(r.days) == 15


def test_regimes_differ_as_designed(replay):
    _, res = replay
    s = {k: r.summary for k, r in res.items()}
    # Static and siloed liquidate in full; calcm mostly partially.
    assert s["static"]["full_liquidations"] == s["static"]["liquidations"]
    assert s["siloed"]["full_liquidations"] == s["siloed"]["liquidations"]
    assert s["calcm"]["liquidations"] > s["calcm"]["full_liquidations"]
    # Portfolio ES never exceeds the siloed sum on the same positions (subadditivity).
    for g in ("hedged", "diversified"):
        gm = {k: s[k]["margin_by_group"][g] for k in s if g in s[k]["margin_by_group"]}
        if "calcm" in gm:
            assert gm["calcm"]["initial_margin_held"] <= gm["siloed"]["initial_margin_held"] + 1e-6
            assert gm["calcm"]["avg_book_margin"] <= gm["siloed"]["avg_book_margin"] + 1e-6


def test_deterministic(fixture_market, replay):
    book, res = replay
    book2, res2 = run_replay(fixture_market, *WINDOW, regimes=("calcm",), seed=3, n_accounts=30)
    assert book2.accounts == book.accounts
    a = json.dumps(res["calcm"].to_json(), sort_keys=True, default=str)
    b = json.dumps(res2["calcm"].to_json(), sort_keys=True, default=str)
    assert a == b
    book3, _ = run_replay(fixture_market, *WINDOW, regimes=("static",), seed=4, n_accounts=30)
    assert book3.accounts != book.accounts


def _crash_book(short_qty: float) -> dict:
    """A 8.3x long BTC perp, a profitable short, and a spot holder, at the 2023-01-20 close."""
    return {
        "instruments": [{"id": "BTC-PERP", "kind": "perp", "underlying": "BTC"},
                        {"id": "ETH", "kind": "spot", "underlying": "ETH"}],
        "collateral": [{"asset": "USDC", "haircut": 0.0}],
        "accounts": [
            {"id": "long", "salt": 1, "positions": {"BTC-PERP": 10.0}, "collateral": {"USDC": 25000.0}},
            {"id": "short", "salt": 2, "positions": {"BTC-PERP": -short_qty}, "collateral": {"USDC": 100000.0}},
            {"id": "spot", "salt": 3, "positions": {"ETH": 50.0}, "collateral": {"USDC": 10000.0}},
        ]}


@pytest.mark.parametrize("short_qty", [10.0, 0.5])
def test_bad_debt_runs_the_waterfall(fixture_market, short_qty):
    """A -14% day in one step bankrupts the long; with no fund, ADL then socialised loss cover it."""
    book = parse_book(_crash_book(short_qty))
    p = SimParams(steps_per_leg=1, fund_share=0.0)
    r = simulate(fixture_market, book, "static", "2023-01-21", "2023-01-21", p)
    s = r.summary
    assert s["bad_debt"] > 0 and s["bad_debt_from_fund"] == 0
    assert s["adl_events"] >= 1
    assert s["bad_debt_from_adl"] + s["socialised_loss"] == pytest.approx(s["bad_debt"], rel=1e-9)
    k = [a.id for a in book.accounts].index("short")
    assert abs(r.q_final[k, 0]) < short_qty            # the short was deleveraged
    if short_qty == 0.5:                                # its profit is too small: the rest is socialised
        assert s["socialised_loss"] > 0
    else:
        assert s["socialised_loss"] == pytest.approx(0.0, abs=1e-6)
    lhs, rhs = _conserved(r)
    assert lhs == pytest.approx(rhs, rel=1e-9)
    np.testing.assert_allclose(r.q_final, r.q_initial + r.position_changes, rtol=1e-12, atol=1e-12)


def test_window_outside_the_data_is_an_input_error(fixture_market, fixture_book):
    with pytest.raises(InputError, match="date"):
        simulate(fixture_market, fixture_book, "calcm", "2030-01-01", "2030-02-01")
    with pytest.raises(ValueError, match="regime"):
        simulate(fixture_market, fixture_book, "leveraged", *WINDOW)
