"""Partial liquidation: restores the ratio, never more than needed, full when impossible."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcm.liquidation import LiquidationEngine, LiquidationParams
from calcm.liquidation.engine import FULL, HEALTHY, PARTIAL
from calcm.risk.margin import MarginModel, PortfolioMargin


@pytest.fixture(scope="module")
def engine(fixture_model):
    return LiquidationEngine(fixture_model)


def _account(book, aid):
    k = [a.id for a in book.accounts].index(aid)
    return book.quantities()[k], book.collateral_amounts()[k]


def test_healthy_account_gets_no_trade(engine, fixture_book):
    q, c = _account(fixture_book, "basis_btc")
    plan = engine.plan(q, c, "basis_btc")
    assert plan.status == HEALTHY and plan.trades == ()
    np.testing.assert_array_equal(plan.q_after, q)


def test_fixture_liquidatable_account_is_restored(engine, fixture_book):
    q, c = _account(fixture_book, "near_liq_long")
    plan = engine.plan(q, c, "near_liq_long")
    assert plan.before.equity < plan.before.mm
    assert plan.status == PARTIAL
    assert plan.after.equity >= 1.1 * plan.after.mm * (1 - 1e-9)
    # Only part of the ETH perp is closed, not all of it.
    assert len(plan.trades) == 1 and 0 < plan.trades[0].fraction < 1
    assert plan.q_after[list(engine.model.instrument_ids).index("ETH-PERP")] > 0


def _at_ratio(engine, q, c, ratio):
    """Scale the collateral so that equity = ratio * MM (MM does not depend on collateral)."""
    st_ = engine.state(q, c)
    marks = float(q @ engine.model.mark)
    credit = float(engine.equity(np.zeros_like(q), c)[0])
    return c * (ratio * st_.mm - marks) / credit


def _shrunk(engine, q, c, plan, factor):
    """Replay the plan with its last trade's fraction multiplied by ``factor``."""
    *head, last = plan.trades
    from dataclasses import replace
    return engine.execute(q, c, [*head, replace(last, fraction=last.fraction * factor)])


accounts = st.sampled_from(["pair_btc_eth", "pair_sol_eth", "long_btc", "short_eth", "alt_basket",
                            "market_maker", "whale", "near_liq_short", "btc_option_seller",
                            "eth_strangle_seller"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(aid=accounts, squeeze=st.floats(0.05, 0.98), lev=st.floats(0.5, 4.0))
def test_partial_plan_restores_and_is_minimal(engine, fixture_book, aid, squeeze, lev):
    """Property: a partial plan restores E >= 1.1 MM; the same plan with a smaller last trade does not."""
    q, c = _account(fixture_book, aid)
    q = q * lev
    st_ = engine.state(q, c)
    # Shrink collateral until the account is below MM (squeeze of the way from MM to 0).
    c = c * (st_.mm * squeeze / max(st_.equity, 1e-9)) if st_.equity > 0 else c
    plan = engine.plan(q, c, aid)
    if plan.status != PARTIAL:
        assert plan.status in (HEALTHY, FULL)
        if plan.status == FULL:
            assert plan.reason
        return
    target = engine.params.target_ratio
    assert plan.after.equity >= target * plan.after.mm - 1e-9 * max(1.0, plan.after.mm)
    # Every trade only reduces a holding (never flips or adds).
    for t in plan.trades:
        assert 0 < t.fraction <= 1
    q_small, c_small = _shrunk(engine, q, c, plan, 1 - 1e-6)
    assert engine.deficit(q_small, c_small)[0] > 0
    # The replay of the exact plan reproduces its final state.
    q2, c2 = engine.execute(q, c, plan.trades)
    np.testing.assert_allclose(q2, plan.q_after, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c2, plan.c_after, rtol=1e-12, atol=1e-9)


def test_value_conservation_of_a_plan(engine, fixture_book):
    """Net value drops by exactly the execution cost plus the penalty paid."""
    q, c = _account(fixture_book, "pair_sol_eth")
    c = _at_ratio(engine, q, c, 0.8)
    plan = engine.plan(q, c)
    assert plan.status == PARTIAL
    assert plan.before.net_value - plan.after.net_value == pytest.approx(plan.cost + plan.penalty_paid,
                                                                         rel=1e-9)


def test_every_trade_reduces_the_deficit(engine, fixture_book):
    """Greedy only picks risk-reducing trades: a hedge leg is never closed on its own."""
    q, c = _account(fixture_book, "market_maker")
    c = _at_ratio(engine, q, c, 0.7)
    plan = engine.plan(q, c)
    assert plan.status in (PARTIAL, FULL)
    if plan.status == PARTIAL:
        qq, cc = q, c
        d = engine.deficit(qq, cc)[0]
        for t in plan.trades:
            qq, cc = engine.execute(qq, cc, [t])
            d2 = engine.deficit(qq, cc)[0]
            assert d2 < d
            d = d2


def test_full_liquidation_when_penalty_exceeds_equity(engine, fixture_book):
    """Equity too thin to pay even the penalty: no partial plan can work; full, with the reason."""
    q, c = _account(fixture_book, "long_btc")
    c = c * 0.001
    plan = engine.plan(q, c)
    assert plan.status == FULL
    assert "cannot restore" in plan.reason
    assert np.all(plan.q_after == 0)
    assert plan.bad_debt >= 0
    assert plan.penalty_paid <= plan.penalty_due


def test_insolvent_account_full_with_bad_debt(fixture_model):
    """Negative equity: full liquidation, bad debt = minus the net value left."""
    eng = LiquidationEngine(fixture_model)
    n, m = len(fixture_model.instrument_ids), len(fixture_model.collateral_assets)
    q, c = np.zeros(n), np.zeros(m)
    q[fixture_model.instrument_ids.index("BTC")] = 1.0          # 1 BTC spot
    c[fixture_model.collateral_assets.index("USDC")] = -fixture_model.mark[
        fixture_model.instrument_ids.index("BTC")] * 1.2        # a debt of 1.2 BTC worth
    plan = eng.plan(q, c)
    assert plan.status == FULL and plan.reason.startswith("insolvent")
    assert plan.penalty_paid == 0
    assert plan.bad_debt == pytest.approx(-plan.after.net_value)
    assert plan.bad_debt == pytest.approx(0.2 * fixture_model.mark[0] / 1.0 + plan.cost, rel=1e-6)


def _toy_model(haircut_sol=0.3):
    """Two perps and SOL collateral; the P&L matrix is a fixed t-sample (seeded)."""
    rng = np.random.default_rng(7)
    r = rng.standard_t(4, size=(400, 2)) * np.array([0.03, 0.05])
    px = np.array([30000.0, 20.0])
    return MarginModel(("BTC-PERP", "SOL-PERP"), ("BTC", "SOL"), ("USD", "SOL"),
                       pnl=r * px, mark=np.zeros(2), exposure=np.diag(px),
                       collateral_price=np.array([1.0, 20.0]), haircut=np.array([0.0, haircut_sol]),
                       adv=np.array([1e9, 1e8]), liquidity_weight=np.array([0.25, 0.7]))


def test_collateral_sale_releases_haircut_first_when_cheapest():
    m = _toy_model()
    eng = LiquidationEngine(m)
    q, c = np.array([6.0, 0.0]), np.array([0.0, 1000.0])     # 180k BTC perp on 20k SOL (14k credited)
    st_ = eng.state(q, c)
    assert st_.equity < st_.mm
    plan = eng.plan(q, c)
    assert plan.status == PARTIAL
    assert plan.trades[0].kind == "collateral" and plan.trades[0].asset == "SOL"
    # The SOL sale alone (haircut 30% released) is the cheapest risk reduction per dollar.
    assert plan.after.equity >= 1.1 * plan.after.mm * (1 - 1e-9)


def test_zero_haircut_collateral_is_not_sold():
    """Selling collateral with no haircut only costs: it never reduces the deficit."""
    m = _toy_model(haircut_sol=0.0)
    eng = LiquidationEngine(m)
    q, c = np.array([6.0, 0.0]), np.array([0.0, 700.0])
    plan = eng.plan(q, c)
    assert all(t.kind == "position" for t in plan.trades)


def test_impact_raises_liquidation_size():
    """A costlier market (larger liquidity weight: cost and add-on) needs a larger liquidation."""
    m = _toy_model()
    q, c = np.array([6.0, 0.0]), np.array([15000.0, 0.0])
    cheap = LiquidationEngine(replace(m, liquidity_weight=np.zeros(2))).plan(q, c)
    dear = LiquidationEngine(replace(m, liquidity_weight=np.array([200.0, 200.0]))).plan(q, c)
    assert cheap.status == dear.status == PARTIAL
    assert dear.notional > cheap.notional
    assert cheap.cost == 0


def test_requirement_is_pluggable():
    """A static 10%-of-notional requirement drives the same engine."""
    m = _toy_model()
    px = np.array([30000.0, 20.0])
    eng = LiquidationEngine(m, LiquidationParams(target_ratio=1.0),
                            requirement=lambda q, c: 0.1 * np.abs(q) @ px)
    plan = eng.plan(np.array([3.0, 0.0]), np.array([8000.0, 0.0]))
    assert plan.status == PARTIAL
    assert plan.after.equity == pytest.approx(0.1 * abs(plan.q_after[0]) * px[0], rel=1e-6)


def test_engine_needs_a_settlement_asset():
    m = _toy_model()
    from dataclasses import replace
    bad = replace(m, collateral_assets=("WBTC", "SOL"))
    with pytest.raises(ValueError, match="stablecoin"):
        LiquidationEngine(bad)
    assert PortfolioMargin(m)  # the model itself is fine
