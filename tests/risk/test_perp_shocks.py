"""Perp basis and funding (docs/MODEL.md "Perps: basis and funding"): the float model's charge.

The rule: in every scenario the net perp quantity ``pq_u`` on each underlying loses
``perp_shock_bps[u] / 1e4 * S_u * |pq_u|``, so a cash-and-carry book (long spot, short perp)
has MM = that charge, and ES and VaR of any book rise by exactly the charge.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calcm.fixedpoint import BPS
from calcm.risk.baselines import siloed_margin
from calcm.risk.margin import MarginModel, PortfolioMargin, Tier
from calcm.risk.model import ModelParams, build_risk_model
from calcm.risk.perp_shocks import PerpShocks, perp_charge_matrix


@pytest.fixture(scope="module")
def carry(market, small_book):
    """Cash and carry, its legs alone, and two opposite perps that net out."""
    bk = small_book({
        "carry": {"BTC": 10, "BTC-PERP": -10},
        "spot_only": {"BTC": 10},
        "perp_only": {"BTC-PERP": -10},
        "two_venues": {"BTC-PERP": -10, "ETH-PERP": 70, "SOL-PERP": 0},
    }, instruments=[
        {"id": "BTC", "kind": "spot", "underlying": "BTC"},
        {"id": "BTC-PERP", "kind": "perp", "underlying": "BTC"},
        {"id": "ETH-PERP", "kind": "perp", "underlying": "ETH"},
        {"id": "SOL-PERP", "kind": "perp", "underlying": "SOL"},
    ])
    return bk, build_risk_model(market, bk)


def _row(bk, name):
    return [a.id for a in bk.accounts].index(name)


def test_cash_and_carry_margin_is_the_charge(carry):
    bk, rm = carry
    q, c = bk.quantities(), bk.collateral_amounts()
    res = PortfolioMargin(rm.margin_model).compute(q, c)
    old = PortfolioMargin(replace(rm.margin_model, perp_charge=None)).compute(q, c)
    a, u = _row(bk, "carry"), rm.underlyings.index("BTC")
    charge = 10 * rm.price[u] * rm.perp_shock_bps[u] / 1e4
    assert charge > 0
    assert abs(old.mm[a]) < 1e-9 * charge                   # before: a perfect hedge, MM = 0
    assert res.mm[a] == pytest.approx(charge, rel=1e-12)      # now: the basis + funding charge
    assert res.var[a] == pytest.approx(charge, rel=1e-12)
    # The whole charge sits on the perp leg; the spot leg's market risk cancels the perp's.
    i_spot, i_perp = bk.instrument_ids.index("BTC"), bk.instrument_ids.index("BTC-PERP")
    assert res.contributions[a, i_perp] + res.contributions[a, i_spot] == pytest.approx(charge, rel=1e-9)
    assert rm.margin_model.perp_contributions(q[a])[0, i_spot] == 0
    # Spot alone is unchanged; the perp alone pays the charge on top of its market risk.
    s, p = _row(bk, "spot_only"), _row(bk, "perp_only")
    assert res.es[s] == old.es[s]
    assert res.es[p] == pytest.approx(old.es[p] + charge, rel=1e-12)
    assert res.tier[a] == Tier.HEALTHY


def test_published_rates_and_charge_matrix(carry):
    """RiskModel.perp_shock_bps = basis + h * funding per underlying; perp_charge only on perps."""
    bk, rm = carry
    p = rm.params
    assert rm.perp_shock_bps.dtype.kind == "i"
    assert list(rm.perp_shock_bps) == [p.perp_shocks.basis(a) + p.mpor_days * p.perp_shocks.funding(a)
                                       for a in rm.underlyings]
    pc = rm.margin_model.perp_charge
    assert pc.shape == (len(rm.underlyings), len(bk.instrument_ids))
    for i, ins in enumerate(bk.instruments):
        u = rm.underlyings.index(ins.underlying)
        expect = rm.price[u] * rm.perp_shock_bps[u] / 1e4 if ins.kind == "perp" else 0.0
        assert pc[u, i] == expect and np.count_nonzero(pc[:, i]) == (ins.kind == "perp")
    # Kind names (books, InstrumentFx) and kind codes give the same matrix.
    under = [rm.underlyings.index(i.underlying) for i in bk.instruments]
    np.testing.assert_array_equal(perp_charge_matrix([i.kind for i in bk.instruments], under, rm.price,
                                                     rm.perp_shock_bps), pc)


def test_silo_charges_sum_to_the_portfolio_charge(carry):
    bk, rm = carry
    q, c = bk.quantities(), bk.collateral_amounts()
    m = rm.margin_model
    silo, old = siloed_margin(m, q, c), siloed_margin(replace(m, perp_charge=None), q, c)
    a = _row(bk, "two_venues")
    # Each silo's losses shift by its own charge (the silos lose here, so no floor binds).
    assert silo.es[a] == pytest.approx(old.es[a] + m.perp_loss(q[a])[0], rel=1e-12)
    np.testing.assert_allclose(silo.contributions.sum(axis=1), silo.es, rtol=1e-9)


def _random_model(S: int, kinds: list[int], rng: np.random.Generator) -> MarginModel:
    """A float model on 2 underlyings: kinds 0 spot, 1 perp, 2 option (random P&L)."""
    n, U = len(kinds), 2
    under = np.arange(n) % U
    price = np.array([30000.0, 2000.0])
    pnl = rng.standard_normal((S, n)) * price[under] * 0.05
    expo = np.zeros((U, n))
    expo[under, np.arange(n)] = price[under]
    return MarginModel(tuple(f"i{i}" for i in range(n)), ("BTC", "ETH"), ("USDC",), pnl,
                       np.where(np.array(kinds) == 0, price[under], 0.0), expo, np.ones(1), np.zeros(1),
                       np.full(U, 1e9), np.zeros(U),
                       perp_charge=perp_charge_matrix(kinds, under, price, [726, 1700]))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), kinds=st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=6),
       q=arrays(np.float64, (5, 6), elements=st.floats(-50, 50, allow_subnormal=False)))
def test_charge_shifts_every_loss_and_es_by_exactly_c(seed, kinds, q):
    """Property: L_with = L_without + c in every scenario, so (float rounding aside) the
    unfloored ES and the VaR rise by exactly ``c = sum_u |pq_u| S_u bps_u / 1e4``,
    ``ES_with = max(0, ES_raw_without + c)``, and the Euler contributions sum to the
    unfloored ES. Tolerance: 1e-9 of the gross scenario P&L plus ``c`` (summation order)."""
    m = _random_model(40, kinds, np.random.default_rng(seed))
    q = q[:, : len(kinds)]
    with_, without = PortfolioMargin(m), PortfolioMargin(replace(m, perp_charge=None))
    c = m.perp_loss(q)
    np.testing.assert_array_equal(with_.losses(q), without.losses(q) + c[:, None])
    k = m.k_tail
    raw = lambda L: np.sort(L, axis=1)[:, -k:].mean(axis=1)   # noqa: E731
    tol = 1e-9 * (np.abs(q) @ np.abs(m.pnl).max(axis=0) + c + 1)
    es_raw_without = raw(without.losses(q))
    r, r0 = with_.compute(q, np.zeros((5, 1))), without.compute(q, np.zeros((5, 1)))
    assert np.all(np.abs(raw(with_.losses(q)) - (es_raw_without + c)) <= tol)
    assert np.all(np.abs(r.es - np.maximum(es_raw_without + c, 0)) <= tol)
    assert np.all(np.abs(r.var - (r0.var + c)) <= tol)
    assert np.all(np.abs(r.contributions.sum(axis=1) - (es_raw_without + c)) <= tol)
    # The charge is the net perp quantity's: spot and options never pay it.
    perp = np.array(kinds) == 1
    assert np.all(c >= 0)
    np.testing.assert_allclose(m.perp_loss(np.where(perp, 0.0, q)), 0.0)


def test_params_round_trip_and_old_json():
    p = ModelParams(perp_shocks=PerpShocks(basis_bps={"*": 700, "BTC": 400}, funding_bps_per_day={"*": 100}))
    blob = json.loads(json.dumps(p.to_json()))
    assert blob["perp_shocks"] == {"basis_bps": {"*": 700, "BTC": 400}, "funding_bps_per_day": {"*": 100}}
    assert ModelParams.from_json(blob) == p and ModelParams.from_json(blob).hash == p.hash
    old = ModelParams().to_json()
    del old["perp_shocks"]
    assert ModelParams.from_json(old) == ModelParams()           # older JSON: the default shocks
    assert p.hash != ModelParams().hash                           # the shocks are hashed
    assert p.perp_shocks.rate_bps("BTC", 2) == 400 + 2 * 100 and p.perp_shocks.rate_bps("DOGE", 3) == 1000
    # Order of entries does not matter (stored sorted: one hash per table).
    assert PerpShocks(basis_bps=(("BTC", 400), ("*", 700))) == PerpShocks(basis_bps={"*": 700, "BTC": 400})


@pytest.mark.parametrize("kw, match", [
    ({"basis_bps": {"*": -1}}, "integer >= 0"),
    ({"basis_bps": {"*": 1.5}}, "integer >= 0"),
    ({"basis_bps": {"*": True}}, "integer >= 0"),
    ({"funding_bps_per_day": {"BTC": 10}}, "'\\*' entry"),
    ({"basis_bps": (("*", 1), ("*", 2))}, "listed twice"),
    ({"basis_bps": (("*", 1, 2),)}, "pairs"),
    ({"basis_bps": {"": 1, "*": 1}}, "non-empty"),
])
def test_bad_shock_tables_are_rejected(kw, match):
    with pytest.raises(ValueError, match=match):
        PerpShocks(**kw)


def test_rates_of_100_percent_or_more_are_rejected():
    big = PerpShocks(basis_bps={"*": 0, "DOGE": BPS - 2}, funding_bps_per_day={"*": 1})
    assert big.rate_bps("BTC", 2) == 2 and big.rate_bps("DOGE", 1) == BPS - 1
    with pytest.raises(ValueError, match="100%"):
        big.rate_bps("DOGE", 2)
    with pytest.raises(ValueError, match="100%"):
        ModelParams(perp_shocks=big)                          # mpor_days = 2: checked when built
    with pytest.raises(ValueError, match="mpor_days"):
        PerpShocks().rate_bps("BTC", 0)
    with pytest.raises(ValueError, match="perp_shocks"):
        ModelParams(perp_shocks={"basis_bps": {"*": 1}})
    with pytest.raises(ValueError, match="unknown keys"):
        PerpShocks.from_json({"basis": {"*": 1}})
    with pytest.raises(ValueError, match="unknown keys"):
        ModelParams.from_json({"perp_shock": {}})


def test_bad_perp_charge_is_rejected():
    m = _random_model(10, [0, 1], np.random.default_rng(0))
    for bad, match in [(np.zeros((2, 3)), "shape"), (-m.perp_charge - 1, ">= 0"),
                       (np.full((2, 2), np.nan), "finite")]:
        with pytest.raises(ValueError, match=match):
            replace(m, perp_charge=bad)
