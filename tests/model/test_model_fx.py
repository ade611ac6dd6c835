"""The Python fixed-point model (v2: daily step, option parts): float agreement within the
documented bound, the GARCH chain over price paths, range errors, hashes and encodings
(no circuit: fast)."""
from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from calcm.fixedpoint import PRICE_SCALE, VAR_FRAC, FixedPointRangeError
from calcm.risk.modelfx import (InstrumentFx, ModelParamsFx, ModelStateFx, float_update, horizon_variance,
                               pnl_error_bound, update)
from calcm.risk.modelfx.floatref import float_horizon_variance, horizon_rel_error
from calcm.risk.modelfx.paramhash import z_chunk
from calcm.zk.model_synthetic import (OPTIONS, SMALL, SyntheticSpec, price_path, synthetic_params,
                                      synthetic_state)

# A day's simple returns per asset: calm, a -40% crash on every asset (correlation to one),
# an idiosyncratic crash, a +50% rally.
day = st.one_of(
    st.lists(st.floats(-0.08, 0.08), min_size=3, max_size=3),
    st.just([-0.40, -0.40, -0.40]),
    st.tuples(st.just(-0.40), st.floats(-0.05, 0.05), st.floats(-0.05, 0.05)).map(list),
    st.just([0.5, 0.5, 0.5]),
)
BIG = SyntheticSpec(U=3, S=12, linear=(("spot", 0), ("perp", 0), ("perp", 1), ("spot", 2)), n_options=6,
                    collateral=(-1, 0, 2), k_tail=2)


def _check_against_float(params, state, prices):
    up = update(state, prices, params)
    fl = float_update(state, prices, params)
    # GARCH variance: one rounding at 2**-48 and the floor of the return at 2**-40.
    s2 = np.array([a.sigma2 for a in up.assets]) / 2**VAR_FRAC
    eps = np.array([abs(a.eps) for a in up.assets]) / 2**40
    ag = np.array([(params.alpha[u] + abs(params.gamma[u])) / 2**32 for u in range(params.n_assets)])
    assert np.all(np.abs(s2 - fl.sigma2) <= 2**-48 + 2**-39 * (eps + 2**-40) * ag + 1e-15 * fl.sigma2)
    bound = pnl_error_bound(up, params, prices)
    err = np.abs(np.array(up.model.pnl, float) - fl.pnl * PRICE_SCALE)
    assert np.all(err <= bound), f"max excess {np.max(err - bound)} micro-USD"
    mark_err = np.abs(np.array(up.model.mark, float) - fl.mark * PRICE_SCALE)
    expo_err = np.abs(np.array(up.model.exposure, float) - fl.exposure * PRICE_SCALE)
    scale = np.array([(prices[i.underlying] + i.strike) for i in params.instruments], float)
    assert np.all(mark_err <= 2 + 1e-6 * scale)
    assert np.all(expo_err <= 2 + 1e-6 * scale)
    return up, err, bound


@given(seed=st.integers(0, 10**6), days=st.lists(day, min_size=1, max_size=4),
       floor_vol=st.sampled_from([0.0, 0.03, 0.05]))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fixed_within_documented_bound_of_float_on_price_paths(seed, days, floor_vol):
    # floor_vol > 0: the APC floor binds on some assets and days (states' vols are 2-6%).
    params = dataclasses.replace(synthetic_params(BIG, seed=seed),
                                 var_floor=(round(floor_vol**2 * 2**VAR_FRAC),) * BIG.U)
    state = synthetic_state(params, seed=seed)
    for prices in price_path(state, [d[:3] for d in days]):
        up, _, _ = _check_against_float(params, state, prices)
        state = up.state
    assert state.day == len(days)


def test_bound_is_tight_enough_to_mean_something():
    params = synthetic_params(BIG, seed=3)
    state = synthetic_state(params, seed=3)
    prices = price_path(state, [[-0.4, -0.4, -0.4]])[0]
    up, err, bound = _check_against_float(params, state, prices)
    opts = [i for i, ins in enumerate(params.instruments) if ins.is_option]
    # the fixed model really differs from the float one (errors are not all zero) ...
    assert err[:, opts].max() > 0
    # ... and the bound is micro-USD per unit: below 1e-8 of the P&L plus 5 micro-USD
    lin = [i for i, ins in enumerate(params.instruments) if not ins.is_option]
    pnl = np.abs(np.array(up.model.pnl, float))
    assert np.all(bound[:, lin] <= 5 + 1e-8 * pnl[:, lin]) and pnl[:, lin].max() > 1e9
    assert np.all(bound[:, opts] <= 10 + 1e-5 * (pnl[:, opts] + np.array(
        [prices[params.instruments[i].underlying] for i in opts])))


def test_crash_scenarios_hit_the_minus_95_percent_floor_exactly():
    params = synthetic_params(SMALL, seed=2)
    z = ((-40 * 2**16, -40 * 2**16),) + params.z[1:]
    params = dataclasses.replace(params, z=z)
    state = ModelStateFx(0, (int(0.2**2 * 2**VAR_FRAC),) * 2, (30000 * PRICE_SCALE, 2000 * PRICE_SCALE))
    up = update(state, state.price, params)
    # 40 sigma with sigma ~ 0.2 is far below -95%: the move is -floor(0.95 P)
    assert up.lin[0] == (-28500 * PRICE_SCALE, -1900 * PRICE_SCALE)
    fl = float_update(state, state.price, params)
    assert np.allclose(fl.returns[0], -0.95)


def test_garch_chain_stays_on_the_float_recursion_over_a_long_path():
    from calcm.risk.volatility import GarchParams, garch_update
    params = synthetic_params(SMALL, seed=4)
    state = synthetic_state(params, seed=4)
    rng = np.random.default_rng(4)
    rets = rng.standard_t(4, size=(200, 2)) * 0.03
    rets[100] = -0.4
    s2f = np.array(state.sigma2, float) / 2**VAR_FRAC
    gp = [GarchParams(params.omega[u] / 2**VAR_FRAC, params.alpha[u] / 2**32, params.gamma[u] / 2**32,
                      params.beta[u] / 2**32, 5.0) for u in range(2)]
    prev = np.array(state.price, float)
    for prices in price_path(state, rets):
        state = update(state, prices, params).state
        p = np.array(prices, float)
        s2f = np.array([garch_update(gp[u], s2f[u], p[u] / prev[u] - 1) for u in range(2)])
        prev = p
    got = np.array(state.sigma2, float) / 2**VAR_FRAC
    assert np.all(np.abs(got - s2f) <= 1e-9 * s2f)
    assert state.day == 200


def test_sigma_is_the_integer_square_root_of_the_floored_horizon_variance():
    params = synthetic_params(SMALL, seed=5)
    state = synthetic_state(params, seed=5)
    up = update(state, state.price, params)
    for u, a in enumerate(up.assets):
        x = horizon_variance(params, u, a.sigma2) << 16
        assert a.sigma**2 <= x < (a.sigma + 1) ** 2
        assert a.move == (state.price[u] * a.sigma + 2**27) >> 28
    # a floor above every state's 2-day variance binds: sigma_h = isqrt(h var_floor 2**16)
    fl = dataclasses.replace(params, var_floor=(round(0.1**2 * 2**VAR_FRAC),) * 2)
    for u, a in enumerate(update(state, state.price, fl).assets):
        assert horizon_variance(fl, u, a.sigma2) == fl.horizon_floor[u] == 2 * fl.var_floor[u]
        assert a.sigma == math.isqrt(fl.horizon_floor[u] << 16)


def _exact_coefficients(params, u):
    """A_u, B_u as exact rationals of the decoded parameters (phi with gamma/2 exact)."""
    phi = Fraction(params.alpha[u] + params.beta[u], 2**32) + Fraction(params.gamma[u], 2**33)
    om = Fraction(params.omega[u], 2**VAR_FRAC)
    h = params.horizon_days
    a = sum(phi**j for j in range(h))
    b = sum(om * sum(phi**i for i in range(j)) for j in range(1, h))
    return a, b


@given(h=st.integers(1, 64), seed=st.integers(0, 10**6), s2=st.floats(1e-6, 0.5), fv=st.floats(0, 0.01))
@settings(max_examples=60, deadline=None)
def test_horizon_variance_is_arch_recursion_within_documented_bound(h, seed, s2, fv):
    params = dataclasses.replace(synthetic_params(SMALL, seed=seed), horizon_days=h,
                                 var_floor=(round(fv * 2**VAR_FRAC), 0))
    for u in range(2):
        a, b = _exact_coefficients(params, u)
        sigma2 = round(s2 * 2**VAR_FRAC)
        exact = max(a * Fraction(sigma2, 2**VAR_FRAC) + b, Fraction(h * params.var_floor[u], 2**VAR_FRAC))
        got = Fraction(horizon_variance(params, u, sigma2), 2**VAR_FRAC)
        # the float twin: volatility.mpor_variance (arch's analytic forecast summed), floored
        fl = float_horizon_variance(params, np.array([sigma2 / 2**VAR_FRAC] * 2))[u]
        assert abs(float(exact) - fl) <= 1e-12 * fl
        vf = float(got)
        assert abs(float(got - exact)) / vf <= horizon_rel_error(params, u, vf) / 2


def test_horizon_coefficients_for_h_1_and_2_are_exact():
    p1 = dataclasses.replace(synthetic_params(SMALL, seed=3), horizon_days=1)
    assert p1.horizon_a == (2**32, 2**32) and p1.horizon_b == (0, 0)
    p2 = dataclasses.replace(p1, horizon_days=2)
    assert p2.horizon_a == tuple(2**32 + phi for phi in p2.phi) and p2.horizon_b == p2.omega
    assert p2.phi[0] == p2.alpha[0] + p2.beta[0] + (p2.gamma[0] + 1) // 2
    assert z_chunk(p2, 1, 0)[:3] == [p2.horizon_a[1], p2.horizon_b[1], p2.horizon_floor[1]]
    assert len(z_chunk(p2, 1, 0)) == 3 + p2.chunk_size


def test_var_floor_is_validated_and_required_in_json():
    params = synthetic_params(SMALL, seed=1)
    assert params.var_floor == (0, 0)
    with pytest.raises(FixedPointRangeError, match="var_floor"):
        dataclasses.replace(params, var_floor=(2**58, 0))
    with pytest.raises(FixedPointRangeError, match="var_floor"):
        dataclasses.replace(params, var_floor=(-1, 0))
    with pytest.raises(ValueError, match="var_floor"):
        dataclasses.replace(params, var_floor=(1,))
    d = params.to_json()
    assert d["var_floor"] == [0, 0]
    del d["var_floor"]
    with pytest.raises(ValueError, match="regenerate"):
        ModelParamsFx.from_json(d)


@pytest.mark.parametrize("prices, what", [
    ((0, 2000 * PRICE_SCALE), "close of BTC"),
    ((2**48, 2000 * PRICE_SCALE), "close of BTC"),
    ((30000 * PRICE_SCALE * 17, 2000 * PRICE_SCALE), "return"),
])
def test_out_of_range_blocks_are_refused(prices, what):
    params = synthetic_params(SMALL, seed=1)
    state = ModelStateFx(0, (10**11, 10**11), (30000 * PRICE_SCALE, 2000 * PRICE_SCALE))
    with pytest.raises(FixedPointRangeError, match=what):
        update(state, prices, params)
    if what != "return":                                # an intraday revaluation: the same ranges
        with pytest.raises(FixedPointRangeError, match="price of BTC"):
            update(state, prices, params, daily=False)


def test_return_boundary_just_below_sixteen_fold_is_accepted():
    params = synthetic_params(SMALL, seed=1)
    state = ModelStateFx(0, (10**11, 10**11), (1000, 1000))
    update(state, (16999, 1000), params)        # +1599.9%
    with pytest.raises(FixedPointRangeError):
        update(state, (17000, 1000), params)    # +1600%: eps = 2**44, out of range


def test_parameter_validation_names_the_field():
    params = synthetic_params(OPTIONS, seed=1)
    with pytest.raises(FixedPointRangeError, match="omega"):
        dataclasses.replace(params, omega=(0,) + params.omega[1:])
    with pytest.raises(FixedPointRangeError, match="z"):
        dataclasses.replace(params, z=((2**22,) + params.z[0][1:],) + params.z[1:])
    # v = -0.7 is a valid vol shock, but with |kappa| = 0.2 a strike at the moneyness cap has 1 + v + kappa m < 1/4
    low = dataclasses.replace(params, vol_shock=((-45875,) + params.vol_shock[0][1:],) + params.vol_shock[1:],
                              skew_shock=((0,) + params.skew_shock[0][1:],) + params.skew_shock[1:])
    with pytest.raises(FixedPointRangeError, match="vol multiplier"):
        dataclasses.replace(low, skew_shock=((13107,) + low.skew_shock[0][1:],) + low.skew_shock[1:])
    with pytest.raises(FixedPointRangeError, match="skew shock"):
        dataclasses.replace(params, skew_shock=((2**16 + 1,) + params.skew_shock[0][1:],) + params.skew_shock[1:])
    opt = params.options[0]
    short = dataclasses.replace(params.instruments[opt], expiry=2 * 2**16)
    with pytest.raises(FixedPointRangeError, match="MPOR"):
        dataclasses.replace(params, instruments=params.instruments[:opt] + (short,) + params.instruments[opt + 1:])


def test_param_hash_binds_every_field_and_the_structure():
    params = synthetic_params(OPTIONS, seed=1)
    h = params.param_hash()
    variants = [
        dataclasses.replace(params, alpha=(params.alpha[0] + 1,) + params.alpha[1:]),
        dataclasses.replace(params, z=((params.z[0][0] + 1,) + params.z[0][1:],) + params.z[1:]),
        dataclasses.replace(params, vol_shock=((params.vol_shock[0][0], params.vol_shock[0][1] + 1),)
                            + params.vol_shock[1:]),
        dataclasses.replace(params, skew_shock=params.skew_shock[:-1] + ((params.skew_shock[-1][0] - 1,)
                                                                         + params.skew_shock[-1][1:],)),
        dataclasses.replace(params, horizon_days=3),
        dataclasses.replace(params, k_tail=1),
        dataclasses.replace(params, adv=(params.adv[0] + 1,) + params.adv[1:]),
        dataclasses.replace(params, var_floor=(1,) + params.var_floor[1:]),
    ]
    ins = list(params.instruments)
    o = params.options[0]
    ins[o] = dataclasses.replace(ins[o], strike=ins[o].strike + 1)
    variants.append(dataclasses.replace(params, instruments=tuple(ins)))
    ins2 = list(params.instruments)
    ins2[0] = dataclasses.replace(ins2[0], kind="spot")
    variants.append(dataclasses.replace(params, instruments=tuple(ins2)))
    hashes = {v.param_hash() for v in variants}
    assert h not in hashes and len(hashes) == len(variants)
    assert params.structure_id() != variants[-1].structure_id()   # kind is structure
    assert params.structure_id() == variants[0].structure_id()    # alpha is not
    assert params.structure_id() == variants[6].structure_id()    # nor the APC floor


def test_state_commitment_binds_day_variance_and_prices():
    s = ModelStateFx(3, (10**11, 2 * 10**11), (10**9, 2 * 10**9))
    c = s.commitment()
    for t in (ModelStateFx(4, s.sigma2, s.price), ModelStateFx(3, (10**11 + 1, 2 * 10**11), s.price),
              ModelStateFx(3, s.sigma2, (s.price[1], s.price[0]))):
        assert t.commitment() != c


def test_json_round_trip():
    params = synthetic_params(BIG, seed=8)
    assert ModelParamsFx.from_json(params.to_json()) == params
    s = synthetic_state(params, seed=8, step=12)
    assert s.day == 12
    assert ModelStateFx.from_json(s.to_json()) == s


def test_put_call_parity_holds_exactly_in_fixed_point():
    params = synthetic_params(SMALL, seed=1)
    call = InstrumentFx("C", "call", 1, 2000 * PRICE_SCALE, 30 * 2**16, int(0.8 * 2**32))
    put = InstrumentFx("P", "put", 1, 2000 * PRICE_SCALE, 30 * 2**16, int(0.8 * 2**32))
    p = dataclasses.replace(params, instruments=params.instruments + (call, put))
    st0 = synthetic_state(p, seed=1)
    up = update(st0, st0.price, p)
    pnl = np.array(up.model.pnl)
    F = st0.price[1]
    # call - put = F - K for the marks, and the P&L differ by the scenario move
    c, q = len(params.instruments), len(params.instruments) + 1
    assert up.model.mark[c] - up.model.mark[q] == F - 2000 * PRICE_SCALE
    assert np.array_equal(pnl[:, c] - pnl[:, q], np.array(up.lin)[:, 1])
    assert up.model.exposure[1][c] - up.model.exposure[1][q] == F


def test_genesis_from_the_float_model_reproduces_it_at_the_model_date():
    from calcm.market import load_market
    from calcm.paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
    from calcm.risk.book import load_book
    from calcm.risk.model import build_risk_model
    from calcm.risk.modelfx import genesis, params_from_risk_model

    book = load_book(DEFAULT_BOOK)
    market = load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)
    rm = build_risk_model(market, book)
    params = params_from_risk_model(rm, book)
    state, prices = genesis(rm, market)
    for u, a in enumerate(rm.underlyings):
        f = rm.fits[a].params
        assert math.isclose(params.alpha[u] / 2**32, f.alpha, abs_tol=2**-32)
        assert math.isclose(params.beta[u] / 2**32, f.beta, abs_tol=2**-32)
        assert math.isclose(state.sigma2[u] / 2**VAR_FRAC, rm.fits[a].sigma2[-2], rel_tol=1e-9)
    S = rm.scenarios.n_scenarios                       # the FULL scenario set (docs/PROVING.md §1)
    assert params.n_scenarios == S and params.k_tail == rm.params.margin_params.k_tail(S)
    # The first daily step (to the model date's closes) reproduces the float model's variance
    # forecast and its scenario P&L (float model: full revaluation, refits nothing).
    # (Exactly the recursion on the encoded prices; against the fit, up to the price encoding:
    # a close of 4,960 micro-USD moves the return by 2e-4 per micro-USD.)
    from calcm.risk.volatility import garch_update
    up = update(state, prices, params)
    for u, a in enumerate(rm.underlyings):
        exact = garch_update(rm.fits[a].params, state.sigma2[u] / 2**VAR_FRAC, prices[u] / state.price[u] - 1)
        got = up.state.sigma2[u] / 2**VAR_FRAC
        assert math.isclose(got, exact, rel_tol=1e-9)
        assert math.isclose(got, rm.fits[a].sigma2_next, rel_tol=1e-6 + 4 / min(prices[u], state.price[u]))
    assert up.state.day == state.day + 1
    # Against the float twin on the decoded parameters: the documented bound, exactly.
    fl = float_update(state, prices, params)
    assert np.all(np.abs(np.array(up.model.pnl) - fl.pnl * PRICE_SCALE) <= pnl_error_bound(up, params, prices))
    # Against the float model itself: plus the encoding of z (2**-17 half-ulp, moving a P&L by at
    # most 2 * 2**-17 * F sigma sqrt(h)), of vol shocks, strikes and vols (1e-5 relative + 1e-4 USD).
    sig_h = np.sqrt(np.array(up.state.sigma2) / 2**VAR_FRAC * params.horizon_days)
    z_enc = 2 * 2**-17 * (np.array(prices) / PRICE_SCALE * sig_h)[[i.underlying for i in params.instruments]]
    fl_model = rm.valuation.pnl
    tol = (pnl_error_bound(up, params, prices) / PRICE_SCALE + 1e-4 + 1e-5 * np.abs(fl_model) + z_enc)
    assert np.all(np.abs(np.array(up.model.pnl) / PRICE_SCALE - fl_model) <= tol)
