"""Backtest books: families, seeded random books, and option losses against the risk stage's valuation."""
from __future__ import annotations

import numpy as np
import pytest

from calcm.liquidation.backtest_books import (BacktestBook, BookLosses, OptionLeg, default_books,
                                              random_books)
from calcm.risk.book import Instrument
from calcm.risk.instruments import DAYS_PER_YEAR, InstrumentTable, value_instruments

ASSETS = ("BTC", "ETH", "SOL", "LINK", "DOGE")


def test_default_families():
    books = default_books(ASSETS)
    fam = {b.family for b in books}
    assert fam == {"single", "diversified", "long_short", "option"}
    div = next(b for b in books if b.name == "diversified")
    assert sum(div.weights.values()) == pytest.approx(1.0)
    mva = next(b for b in books if b.name == "majors_vs_alts")
    assert sum(mva.weights.values()) == pytest.approx(0.0)               # net zero
    assert sum(abs(w) for w in mva.weights.values()) == pytest.approx(1.0)
    # Without BTC and ETH only the single and diversified books exist.
    assert {b.family for b in default_books(("SOL", "DOGE"))} == {"single", "diversified"}


def test_random_books_are_seeded_and_gross_one():
    a, b = random_books(ASSETS, 50, seed=3), random_books(ASSETS, 50, seed=3)
    assert a == b and random_books(ASSETS, 50, seed=4) != a
    for bk in a:
        gross = sum(abs(w) for w in bk.weights.values()) + sum(abs(o.weight) for o in bk.options)
        assert gross == pytest.approx(1.0)
        assert set(bk.assets) <= set(ASSETS) and 1 <= len(bk.weights) <= 5
        for o in bk.options:
            assert (0.83 <= o.moneyness <= 1.0) if o.option_type == "put" else (1.0 <= o.moneyness <= 1.1)
    assert 5 <= sum(bool(b.options) for b in a) <= 30                 # about 30% carry an option
    with pytest.raises(ValueError):
        random_books(ASSETS, 0, 0)


def test_linear_losses():
    bl = BookLosses([BacktestBook("pair", {"BTC": 0.5, "ETH": -0.5})], ("BTC", "ETH"))
    R = np.array([[0.1, 0.0], [-0.1, 0.05]])
    np.testing.assert_allclose(bl.scenario(R, np.zeros((2, 2)), np.zeros((2, 2)), np.array([0.03, 0.04])),
                               [[-0.05, 0.075]])
    assert bl.realised(np.array([0.02, -0.02]), np.ones(2))[0] == pytest.approx(-0.02)


@pytest.mark.parametrize("leg", [OptionLeg("BTC", "call", -0.5, 1.05), OptionLeg("BTC", "put", 0.7, 0.9)])
@pytest.mark.parametrize("days", [1, 2])
def test_option_losses_match_the_risk_stage_valuation(leg, days):
    """Per USD of notional, the book's option loss = the risk stage's Black-76 full revaluation / S."""
    S, sigma = 30000.0, 0.03
    iv = sigma * np.sqrt(DAYS_PER_YEAR)
    rng = np.random.default_rng(1)
    R = rng.normal(0, 0.05, (40, 1))
    v = rng.uniform(-0.3, 1.0, (40, 1))
    k = rng.uniform(-0.5, 0.5, (40, 1))                  # the skew shock: same rule on both sides
    ins = Instrument("X", "option", "BTC", leg.option_type, leg.moneyness * S, leg.expiry_days, iv)
    val = value_instruments(InstrumentTable.from_instruments((ins,), ("BTC",)), np.array([S]), R, v, k, days)
    bl = BookLosses([BacktestBook("o", {}, (leg,))], ("BTC",))
    got = bl.scenario(R, v, k, np.array([sigma]), days)[0]
    np.testing.assert_allclose(got, -leg.weight * val.pnl[:, 0] / S, rtol=1e-10, atol=1e-14)
    # Realised: the same revaluation with the vol held.
    val0 = value_instruments(InstrumentTable.from_instruments((ins,), ("BTC",)), np.array([S]), R[:1], np.zeros((1, 1)),
                            np.zeros((1, 1)), days)
    assert bl.realised(R[0], np.array([sigma]), days)[0] == pytest.approx(-leg.weight * val0.pnl[0, 0] / S, rel=1e-10)


def test_bad_option_leg():
    with pytest.raises(ValueError):
        OptionLeg("BTC", "straddle", 1.0)
    with pytest.raises(ValueError):
        OptionLeg("BTC", "call", 1.0, moneyness=0.0)


def test_realised_option_loss_moves_the_implied_vol_with_the_model_vol():
    """sigma_after / sigma - 1 is the realised vol shock: same as the risk stage with that shock."""
    S, sigma, after = 2000.0, 0.04, 0.05
    leg = OptionLeg("ETH", "put", 0.5, 0.9)
    iv = sigma * np.sqrt(DAYS_PER_YEAR)
    ins = Instrument("P", "option", "ETH", "put", 0.9 * S, 30.0, iv)
    r = np.array([[-0.07]])
    val = value_instruments(InstrumentTable.from_instruments((ins,), ("ETH",)), np.array([S]), r,
                            np.array([[after / sigma - 1]]), np.zeros((1, 1)), 1)
    bl = BookLosses([BacktestBook("pp", {"ETH": 0.5}, (leg,))], ("ETH",))
    got = bl.realised(r[0], np.array([sigma]), 1, np.array([after]))[0]
    assert got == pytest.approx(0.5 * 0.07 - 0.5 * val.pnl[0, 0] / S, rel=1e-10)
    assert got < bl.realised(r[0], np.array([sigma]))[0]          # the vol rise helps the long put
