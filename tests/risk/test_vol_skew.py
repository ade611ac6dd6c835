"""Per-underlying vol shocks and the skew shock: the option rule and the scenario rules.

Option rule (calcm.risk.instruments): ``iv_s = iv (1 + v[s, u] + kappa[s, u] m)``,
``m = clip(ln(K / S0), -MONEYNESS_CAP, MONEYNESS_CAP)``. Scenario rules (calcm.risk.scenarios):
fhs / stress ``v = clip(vol_of_vol (|z| - 1), lo, hi)`` per asset, fixed kinds broadcast,
``kappa = clip(skew_beta z, -skew_max, skew_max)`` everywhere.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calcm.risk.book import Instrument
from calcm.risk.correlation import EwmaCorrelation, stressed
from calcm.risk.instruments import (DAYS_PER_YEAR, MONEYNESS_CAP, InstrumentTable, black76, scenario_vols,
                                    value_instruments)
from calcm.risk.scenarios import ScenarioParams, build_scenarios, skew_shocks

H = 2   # MPOR days


def _one_option(kind, S0, mny, days, iv):
    ins = (Instrument("O", "option", "A", kind, S0 * mny, days, iv),)
    return InstrumentTable.from_instruments(ins, ("A",))


@settings(max_examples=60, deadline=None)
@given(st.floats(1.0, 1e5), st.floats(0.4, 2.5), st.floats(1.0, 365.0), st.floats(0.05, 2.0),
       st.lists(st.tuples(st.floats(-0.9, 2.0), st.floats(-0.29, 1.0)), min_size=1, max_size=5),
       st.booleans(), st.integers(1, 3))
def test_no_skew_and_uniform_shock_is_the_old_rule(S0, mny, days, iv, rows, call, U):
    """kappa = 0 and v[s, :] constant: P&L = B76(S0(1+r), K, T-h, iv(1+v[s])) - B76(S0, K, T, iv)."""
    r = np.array([x for x, _ in rows])
    v = np.array([y for _, y in rows])
    und = tuple(f"A{u}" for u in range(U))
    ins = tuple(Instrument(f"O{u}", "option", und[u], "call" if call else "put", S0 * mny, days, iv)
                for u in range(U))
    t = InstrumentTable.from_instruments(ins, und)
    R = np.repeat(r[:, None], U, axis=1)
    val = value_instruments(t, np.full(U, S0), R, np.repeat(v[:, None], U, axis=1), np.zeros_like(R), H)
    old = (black76(S0 * (1 + r), S0 * mny, max(days - H, 0) / DAYS_PER_YEAR, iv * (1 + v), call)
           - black76(S0, S0 * mny, days / DAYS_PER_YEAR, iv, call))
    for u in range(U):
        np.testing.assert_allclose(val.pnl[:, u], old, rtol=1e-12, atol=1e-9 * S0)


@settings(max_examples=60, deadline=None)
@given(st.floats(10.0, 1e5), st.floats(0.55, 0.98), st.floats(7.0, 180.0), st.floats(0.2, 1.5),
       st.floats(-12.0, -0.5), st.floats(0.01, 0.08))
def test_crash_skew_is_adverse_for_short_otm_puts(S0, mny, days, iv, z, sd):
    """In a sell-off (z < 0) kappa < 0, so an OTM put (m < 0) gets a HIGHER scenario vol than
    the ATM shock alone: a short put loses at least as much, a short OTM call (m > 0) at most as
    much. (Vega >= 0; a sign slip in kappa or m breaks the first inequality, checked strictly
    where the vega is material.)"""
    p = ScenarioParams()
    kappa = skew_shocks(np.array([[z]]), p)
    assert kappa[0, 0] < 0
    r = np.array([[max(z * sd, -0.95)]])
    v = np.array([[p.crash_vol_shock]])

    def short_loss(kind, m, k):
        val = value_instruments(_one_option(kind, S0, m, days, iv), np.array([S0]), r, v, k, H)
        return float(val.pnl[0, 0])     # a short's loss is the long's P&L

    put_skew, put_flat = short_loss("put", mny, kappa), short_loss("put", mny, np.zeros((1, 1)))
    assert put_skew >= put_flat - 1e-9 * S0
    call_skew, call_flat = short_loss("call", 1 / mny, kappa), short_loss("call", 1 / mny, np.zeros((1, 1)))
    assert call_skew <= call_flat + 1e-9 * S0
    # strict where it matters: a put within ~one post-crash sd of the money
    T1 = (days - H) / DAYS_PER_YEAR
    if abs(np.log(mny / (1 + r[0, 0]))) < iv * np.sqrt(T1) and np.log(mny) < -0.02:
        assert put_skew > put_flat


def test_crash_example_numbers():
    """One worked case: 20% OTM put, 30 days, iv 60%, crash z = -4 (kappa = -0.4), v = +50%."""
    S0, K = 100.0, 80.0
    t = _one_option("put", S0, K / S0, 30, 0.60)
    kappa = skew_shocks(np.array([[-4.0]]), ScenarioParams())
    assert kappa[0, 0] == pytest.approx(-0.4)
    vols = scenario_vols(t, np.array([S0]), np.array([[0.5]]), kappa)
    assert vols[0, 0] == pytest.approx(0.60 * (1 + 0.5 - 0.4 * np.log(0.8)))   # 0.9536 > 0.90
    # Far wings are capped at |m| = 0.5: a 10x strike has the slope of K = S0 e^0.5.
    far = InstrumentTable.from_instruments((Instrument("C", "option", "A", "call", 1000.0, 30, 0.6),), ("A",))
    assert scenario_vols(far, np.array([S0]), np.array([[0.0]]), kappa)[0, 0] == pytest.approx(
        0.6 * (1 - 0.4 * MONEYNESS_CAP))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 4), st.integers(0, 3), st.floats(-0.2, 0.5), st.floats(-0.3, 0.3), st.integers(0, 2**31))
def test_a_column_moves_only_its_underlyings_options(U, col, dv, dk, seed):
    """Changing column u of vol_shock / skew_shock changes exactly the options on u."""
    col = col % U
    rng = np.random.default_rng(seed)
    und = tuple(f"A{u}" for u in range(U))
    price = 100.0 * np.exp(rng.uniform(0, 3, U))
    ins = [Instrument(f"P{u}", "perp", und[u]) for u in range(U)]
    ins += [Instrument(f"O{u}{j}", "option", und[u], "put" if j else "call",
                       float(price[u] * (0.8 if j else 1.15)), 30.0, 0.7) for u in range(U) for j in range(2)]
    t = InstrumentTable.from_instruments(tuple(ins), und)
    S = 4
    R = rng.uniform(-0.3, 0.3, (S, U))
    v = rng.uniform(-0.2, 0.5, (S, U))
    k = rng.uniform(-0.3, 0.3, (S, U))
    v2, k2 = v.copy(), k.copy()
    v2[:, col] += dv if abs(dv) > 1e-3 else 0.1
    k2[:, col] += dk if abs(dk) > 1e-3 else 0.1
    a = value_instruments(t, price, R, v, k, H).pnl
    b = value_instruments(t, price, R, v2, k2, H).pnl
    on = t.underlying_index == col
    np.testing.assert_array_equal(a[:, ~on], b[:, ~on])
    assert np.all(np.abs(a[:, on & t.is_option] - b[:, on & t.is_option]) > 0)


def test_shapes_are_checked():
    t = _one_option("put", 100.0, 0.9, 30, 0.5)
    with pytest.raises(ValueError, match="S, U"):
        value_instruments(t, np.array([100.0]), np.zeros((2, 1)), np.zeros(2), np.zeros((2, 1)), H)


@pytest.fixture(scope="module")
def small_set():
    rng = np.random.default_rng(11)
    z = rng.standard_t(4, (90, 3)) / np.sqrt(2)
    path = EwmaCorrelation().filter(z)
    dates = np.datetime64("2022-01-01") + np.arange(90)
    p = ScenarioParams(n_fhs=40, n_stress=6, n_extreme=3)
    return p, build_scenarios(("A", "B", "C"), dates, z, path, stressed(path.today, 0.5), np.array([4.0, 5.0, 6.0]), p)


def test_scenario_rules(small_set):
    p, s = small_set
    kinds = np.array(s.kinds)
    np.testing.assert_array_equal(s.skew_shock, np.clip(p.skew_beta * s.z, -p.skew_max, p.skew_max))
    hist = np.isin(kinds, ["fhs", "stress"])
    np.testing.assert_array_equal(s.vol_shock[hist],
                                  np.clip(p.vol_of_vol * (np.abs(s.z[hist]) - 1), p.vol_shock_min, p.vol_shock_max))
    assert np.ptp(s.vol_shock[hist], axis=1).max() > 0          # per asset, not one number per row
    for kinds_, value in ((["worst", "crash", "breakdown"], p.crash_vol_shock), (["best", "rally"], p.rally_vol_shock)):
        rows = np.isin(kinds, kinds_)
        assert rows.any() and np.all(s.vol_shock[rows] == value)
    vol = [s.names.index("vol_spike"), s.names.index("vol_crush")]
    np.testing.assert_array_equal(s.vol_shock[vol], [[p.vol_spike] * 3, [p.vol_crush] * 3])
    assert np.all(s.skew_shock[vol] == 0)
    crash = s.names.index("crash")
    assert np.all(s.skew_shock[crash] < 0) and np.all(s.skew_shock[s.names.index("rally")] > 0)
    # the scenario vol multiplier never drops below 0.25 (1 - 0.30 - 0.5 * 0.5 = 0.45 at the defaults)
    assert (1 + s.vol_shock - np.abs(s.skew_shock) * MONEYNESS_CAP).min() >= 0.45 - 1e-12


def test_skew_params_validated():
    ScenarioParams(skew_max=0.8)                                 # 1 - 0.3 - 0.4 = 0.3 > 0.25
    with pytest.raises(ValueError, match="0.25"):
        ScenarioParams(skew_max=0.9)                             # 1 - 0.3 - 0.45 = 0.25
    with pytest.raises(ValueError):
        ScenarioParams(skew_beta=-0.1)
    with pytest.raises(ValueError, match="crash_vol_shock"):
        ScenarioParams(crash_vol_shock=1.5)
    with pytest.raises(ValueError, match="vol_crush"):
        ScenarioParams(vol_crush=-0.4)


def test_risk_model_shocks_follow_the_book_order(risk, book):
    """The scenario set is in sorted asset order, returns and valuation in book order:
    the option P&L uses each underlying's own column (the permutation is not skipped)."""
    s = risk.scenarios
    for k, a in enumerate(risk.underlyings):
        np.testing.assert_array_equal(risk.vol_shock[:, k], s.vol_shock[:, s.assets.index(a)])
        np.testing.assert_array_equal(risk.skew_shock[:, k], s.skew_shock[:, s.assets.index(a)])
    assert list(risk.underlyings) != sorted(risk.underlyings)    # else the check below is vacuous
    table = InstrumentTable.from_instruments(book.instruments, risk.underlyings)
    val = value_instruments(table, risk.price, risk.returns, risk.vol_shock, risk.skew_shock, risk.params.mpor_days)
    np.testing.assert_array_equal(val.pnl, risk.valuation.pnl)
