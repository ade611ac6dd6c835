"""Properties of the portfolio margin the issue asks for, on the bundled market."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calcm.risk.baselines import siloed_margin, static_margin
from calcm.risk.margin import MarginParams, PortfolioMargin, Tier, top_k, top_k_reference, top_k_sorted_reference
from calcm.risk.model import ModelParams, build_risk_model
from calcm.risk.report import margin_report


@pytest.fixture(scope="module")
def linear(market, small_book):
    """Model on BTC, ETH, SOL linear instruments; accounts built by the tests."""
    bk = small_book({
        "hedged": {"BTC": 10, "BTC-PERP": -10},
        "pair": {"BTC-PERP": 1, "ETH-PERP": -70},
        "btc_only": {"BTC-PERP": 1},
        "eth_short_only": {"ETH-PERP": -70},
        "long_long": {"BTC-PERP": 1, "ETH-PERP": 70},
    })
    return bk, build_risk_model(market, bk)


def _row(bk, name):
    return [a.id for a in bk.accounts].index(name)


def test_fully_hedged_spot_perp_es_is_the_perp_charge(linear):
    """Long spot, short perp: the market risk nets out; the basis + funding charge remains."""
    bk, rm = linear
    res = PortfolioMargin(rm.margin_model).compute(bk.quantities(), bk.collateral_amounts())
    a = _row(bk, "hedged")
    notional = 10 * rm.price[0]
    assert res.es[a] == pytest.approx(notional * rm.perp_shock_bps[0] / 1e4, rel=1e-12, abs=1e-9 * notional)
    assert res.es[a] > 0
    assert res.addon[a] < 1e-9 * notional
    assert res.tier[a] == Tier.HEALTHY


def test_diversification_lowers_es_of_a_long_short_pair(linear):
    bk, rm = linear
    q, c = bk.quantities(), bk.collateral_amounts()
    res = PortfolioMargin(rm.margin_model).compute(q, c)
    silo = siloed_margin(rm.margin_model, q, c)
    a = _row(bk, "pair")
    # Siloed = ES(BTC leg) + ES(ETH leg) computed on their own.
    assert silo.es[a] == pytest.approx(res.es[_row(bk, "btc_only")] + res.es[_row(bk, "eth_short_only")])
    assert res.es[a] < 0.8 * silo.es[a]
    # ... and the correlation-breakdown scenarios keep it well away from zero.
    assert res.es[a] > 0.1 * silo.es[a]


def test_correlation_to_one_raises_margin_of_long_long(market, linear):
    bk, base = linear
    q, c = bk.quantities(), bk.collateral_amounts()
    a = _row(bk, "long_long")
    es = {}
    for w in (0.0, 0.5, 1.0):
        rm = build_risk_model(market, bk, ModelParams(stress_weight=w))
        es[w] = PortfolioMargin(rm.margin_model).compute(q, c).es[a]
    assert es[0.0] < es[0.5] < es[1.0]
    # The hedge does the opposite: its margin falls as correlation rises.
    rm0 = build_risk_model(market, bk, ModelParams(stress_weight=0.0))
    p = _row(bk, "pair")
    assert PortfolioMargin(base.margin_model).compute(q, c).es[p] <= \
        PortfolioMargin(rm0.margin_model).compute(q, c).es[p]


#: Random books: 6 accounts x up to 32 instruments (sliced to the model's n).
positions = arrays(np.float64, (6, 32), elements=st.floats(-50, 50, allow_subnormal=False))


@settings(max_examples=40, deadline=None)
@given(positions)
def test_es_at_least_var_and_euler_sums_to_es(model, q):
    q = q[:, : model.pnl.shape[1]]
    c = np.full((len(q), len(model.collateral_assets)), 10.0)
    for level in (0.99, 0.975):
        m = _with_level(model, level)
        res = PortfolioMargin(m).compute(q, c)
        assert np.all(res.es >= res.var - 1e-9 * (1 + np.abs(res.var)))
        assert np.all(res.mm >= res.es) and np.all(res.im >= res.mm)
        # Euler contributions sum to the unfloored ES (the tail mean).
        L = PortfolioMargin(m).losses(q)
        tail_mean = np.sort(L, axis=1)[:, -m.k_tail:].mean(axis=1)
        np.testing.assert_allclose(res.contributions.sum(axis=1), tail_mean, rtol=1e-9,
                                   atol=1e-9 * (1 + np.abs(L).max()))
        np.testing.assert_allclose(res.es, np.maximum(tail_mean, 0), rtol=1e-12, atol=1e-9)


def _with_level(model, level):
    import dataclasses
    return dataclasses.replace(model, params=MarginParams(es_level=level))


def test_es_level_975_uses_a_wider_tail(model):
    assert _with_level(model, 0.975).k_tail == int(np.ceil(0.025 * model.n_scenarios))
    assert model.k_tail == int(np.ceil(0.01 * model.n_scenarios))


@settings(max_examples=40, deadline=None)
@given(positions)
def test_portfolio_es_never_exceeds_siloed(model, q):
    q = q[:, : model.pnl.shape[1]]
    c = np.zeros((len(q), len(model.collateral_assets)))
    owner = np.argmax(model.exposure != 0, axis=0)
    res = PortfolioMargin(model).compute(q, c)
    silo = siloed_margin(model, q, c, owner)
    assert np.all(res.es <= silo.es + 1e-9 * (1 + silo.es))
    np.testing.assert_allclose(silo.addon, res.addon)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 300), st.integers(1, 40), st.integers(0, 3), st.integers(0, 2**32 - 1), st.booleans())
def test_top_k_is_the_published_tail_order(S, k, ties, seed, integer):
    """top_k = a full stable sort by (loss descending, index ascending), on floats and int64,
    with many ties; and the same multiset of values as plain argpartition."""
    k = min(k, S)
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((7, S))
    if ties:
        L = np.round(L * ties)  # many equal values
    if integer:
        L = (L * 2**40).astype(np.int64)
        L[0] = np.iinfo(np.int64).min + 1                       # one repeated extreme value
    fast, ref = top_k(L, k), top_k_reference(L, k)
    np.testing.assert_array_equal(fast, top_k_sorted_reference(L, k))
    np.testing.assert_array_equal(np.sort(np.take_along_axis(L, fast, 1), axis=1),
                                  np.sort(np.take_along_axis(L, ref, 1), axis=1))


def test_threads_and_chunks_do_not_change_results(model):
    rng = np.random.default_rng(5)
    q = rng.normal(0, 5, (700, model.pnl.shape[1]))
    c = rng.uniform(0, 1e4, (700, len(model.collateral_assets)))
    a = PortfolioMargin(model, chunk=2048, threads=1).compute(q, c)
    b = PortfolioMargin(model, chunk=128, threads=3).compute(q, c)
    for f in ("es", "var", "mm", "im", "equity", "contributions"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(a.tier, b.tier)


def test_permuting_accounts_positions_instruments_leaves_margins_unchanged(market, book, fixtures_dir):
    from calcm.risk.book import load_book

    a = margin_report(market, book)
    b = margin_report(market, load_book(fixtures_dir / "book_permuted.json"))
    assert [x.id for x in a.book.accounts] != [x.id for x in b.book.accounts]
    assert a.risk.scenarios.hash == b.risk.scenarios.hash
    where = {x.id: i for i, x in enumerate(a.book.accounts)}
    for j, acc in enumerate(b.book.accounts):
        i = where[acc.id]
        for f in ("es", "var", "mm", "im", "equity", "collateral_value"):
            assert getattr(b.result, f)[j] == pytest.approx(getattr(a.result, f)[i], rel=1e-9, abs=1e-6)
        assert b.result.tier[j] == a.result.tier[i]
        # The fixed-point twin is exact: identical integers.
        fa, fb = a.fixed[i], b.fixed[j]
        assert (fa.es, fa.mm, fa.im, fa.equity, fa.tier) == (fb.es, fb.mm, fb.im, fb.equity, fb.tier)


def test_bundled_book_covers_every_tier(market, book):
    rep = margin_report(market, book)
    tiers = {rep.book.accounts[a].id: int(t) for a, t in enumerate(rep.result.tier)}
    assert tiers["near_liq_long"] == Tier.LIQUIDATABLE
    assert tiers["near_liq_short"] == Tier.NO_NEW_RISK
    assert tiers["warning_pair"] == Tier.WARNING
    assert tiers["idle"] == Tier.HEALTHY


def test_static_baseline(model, risk, book):
    q, c = book.quantities(), book.collateral_amounts()
    st_ = static_margin(model, q, c, risk.unit_notional)
    np.testing.assert_allclose(st_.mm, 0.10 * np.abs(q) @ risk.unit_notional)
    np.testing.assert_allclose(st_.im, 1.10 * st_.mm)


def test_adv_from_volumes_and_fallback(market, book):
    from dataclasses import replace

    from calcm.risk.model import fallback_adv

    rm = build_risk_model(market, book)
    assert set(rm.adv_source) == {"volume"}
    btc = market.index("BTC")
    assert rm.adv[0] == pytest.approx(market.volumes[-30:, btc].mean())
    rm2 = build_risk_model(replace(market, volumes=None), book)
    assert set(rm2.adv_source) == {"fallback"}
    assert list(rm2.adv) == [fallback_adv(u) for u in rm2.underlyings]


def test_collateral_prices(risk, book, market):
    m = risk.margin_model
    for j, c in enumerate(book.collateral):
        want = 1.0 if c.is_stable else market.last_close()[market.index(c.asset)]
        assert m.collateral_price[j] == want
