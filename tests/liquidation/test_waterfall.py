"""Penalty split, insurance-fund waterfall, ADL ranking and socialised loss."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calcm.liquidation.adl import AdlPosition, adl_queue, deleverage, deleverage_account
from calcm.liquidation.insurance import PenaltySplit, cover_bad_debt, socialise


def test_penalty_split_sums():
    liq, fund = PenaltySplit(0.3).split(1000.0)
    assert (liq, fund) == (300.0, 700.0)
    with pytest.raises(ValueError):
        PenaltySplit(1.5)


def _book():
    """Short BTC-PERP holders facing a bankrupt long (mark 20,000)."""
    mk = 20000.0
    return [
        AdlPosition("a", "BTC-PERP", -1.0, 25000.0, mk, 10000.0),    # ratio .2, lev 2   -> .4
        AdlPosition("b", "BTC-PERP", -2.0, 22000.0, mk, 5000.0),     # ratio .0909, lev 8 -> .727
        AdlPosition("c", "BTC-PERP", -0.5, 30000.0, mk, 100000.0),   # ratio .333, lev .1 -> .0333
        AdlPosition("d", "BTC-PERP", -1.0, 19000.0, mk, 5000.0),     # losing: not eligible
        AdlPosition("e", "BTC-PERP", 3.0, 10000.0, mk, 5000.0),      # same side: not eligible
        AdlPosition("f", "ETH-PERP", -10.0, 2000.0, 1500.0, 5000.0),  # other instrument
        AdlPosition("g", "BTC-PERP", -1.0, 25000.0, mk, -10.0),      # negative equity: not eligible
    ]


def test_adl_score_formula_by_hand():
    a = _book()[1]
    assert a.profit == pytest.approx(4000.0)
    assert a.profit_ratio == pytest.approx(4000.0 / 44000.0)
    assert a.leverage == pytest.approx(8.0)
    assert a.score == pytest.approx(4000.0 / 44000.0 * 8.0)


def test_adl_queue_order_and_eligibility():
    q = adl_queue(_book(), "BTC-PERP", bankrupt_sign=+1)
    assert [p.account for p in q] == ["b", "a", "c"]
    # A bankrupt short is deleveraged against profitable longs: 'e' (long from 10k).
    assert [p.account for p in adl_queue(_book(), "BTC-PERP", -1)] == ["e"]


def test_adl_queue_ties_break_by_account_id():
    mk = 100.0
    ps = [AdlPosition(x, "X", -1.0, 120.0, mk, 50.0) for x in ("zed", "amy", "kim")]
    assert [p.account for p in adl_queue(ps, "X", 1)] == ["amy", "kim", "zed"]


def test_deleverage_fills_in_rank_order_at_bankruptcy_price():
    # Bankrupt long of 2.5 BTC leaves 1,000 USD: 400 USD per unit.
    r = deleverage(1000.0, "BTC-PERP", 2.5, _book())
    assert [(f.account, f.quantity) for f in r.fills] == [("b", 2.0), ("a", 0.5)]
    assert [f.loss for f in r.fills] == pytest.approx([800.0, 200.0])
    assert r.covered == pytest.approx(1000.0) and r.remaining == pytest.approx(0.0)


def test_deleverage_caps_at_profit_and_leaves_the_rest():
    # 20,000 USD over 1 unit: 'b' can give at most its 2,000 profit per unit.
    r = deleverage(20000.0, "BTC-PERP", 1.0, _book())
    assert [(f.account, f.loss) for f in r.fills] == [("b", pytest.approx(2000.0))]
    assert r.remaining == pytest.approx(18000.0)


def test_deleverage_account_splits_by_notional():
    ps = _book()
    r = deleverage_account(900.0, {"BTC-PERP": 1.0, "ETH-PERP": 5.0},
                           {"BTC-PERP": 20000.0, "ETH-PERP": 10000.0}, ps)
    by = {}
    for f in r.fills:
        by[f.instrument] = by.get(f.instrument, 0.0) + f.loss
    # ETH-PERP: no short holders eligible for a bankrupt long? 'f' is short ETH from 2000 at 1500: profit.
    assert by["BTC-PERP"] == pytest.approx(600.0)
    assert by["ETH-PERP"] == pytest.approx(300.0)
    assert r.remaining == pytest.approx(0.0)


def test_waterfall_order_fund_then_adl_then_socialised():
    calls = []

    def adl(short):
        calls.append(short)
        return deleverage(short, "BTC-PERP", 1.0, _book())

    # Fund covers everything: ADL untouched.
    w = cover_bad_debt(500.0, 1000.0, adl)
    assert (w.from_fund, w.from_adl, w.socialised, w.fund_after) == (500.0, 0.0, 0.0, 500.0)
    assert calls == []
    # Fund too small: ADL takes the rest up to profits, then socialised.
    w = cover_bad_debt(5000.0, 1000.0, adl)
    assert calls == [4000.0]
    assert w.from_fund == 1000.0 and w.fund_after == 0.0
    assert w.from_adl == pytest.approx(2000.0)
    assert w.socialised == pytest.approx(2000.0)
    # No ADL available: straight to socialised.
    w = cover_bad_debt(5000.0, 1000.0)
    assert w.socialised == 4000.0


@given(bad=st.floats(0, 1e7), fund=st.floats(0, 1e7))
def test_waterfall_adds_up(bad, fund):
    w = cover_bad_debt(bad, fund, lambda s: deleverage(s, "BTC-PERP", 2.5, _book()))
    assert w.from_fund + w.from_adl + w.socialised == pytest.approx(bad, rel=1e-12, abs=1e-6)
    assert min(w.from_fund, w.from_adl, w.socialised, w.fund_after) >= 0
    assert w.fund_after == pytest.approx(fund - w.from_fund)


def test_socialise_pro_rata_positive_equity():
    ch = socialise(100.0, np.array([300.0, -50.0, 100.0, 0.0]))
    assert ch.tolist() == pytest.approx([75.0, 0.0, 25.0, 0.0])
    assert socialise(100.0, np.array([-1.0, 0.0])).tolist() == [0.0, 0.0]
