"""Black-76 and the instrument-by-scenario P&L matrix."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calcm.risk.book import Instrument
from calcm.risk.instruments import InstrumentTable, black76, black76_delta, value_instruments

prices = st.floats(1.0, 1e5)
vols = st.floats(0.05, 3.0)
years = st.floats(1 / 365, 2.0)


@given(prices, st.floats(0.3, 3.0), years, vols)
def test_put_call_parity(F, m, T, sigma):
    K = F * m
    c = black76(F, K, T, sigma, True)
    p = black76(F, K, T, sigma, False)
    assert float(c - p) == pytest.approx(F - K, rel=1e-9, abs=1e-9 * F)
    assert c >= max(F - K, 0) - 1e-9 * F and p >= max(K - F, 0) - 1e-9 * F


@given(prices, st.floats(0.5, 2.0), st.floats(0.05, 2.0), st.floats(0.1, 2.0), st.booleans())
def test_delta_is_the_price_derivative(F, m, T, sigma, call):
    K = F * m
    h = F * 1e-5
    fd = (black76(F + h, K, T, sigma, call) - black76(F - h, K, T, sigma, call)) / (2 * h)
    assert float(black76_delta(F, K, T, sigma, call)) == pytest.approx(float(fd), abs=1e-5)


def test_expired_is_intrinsic():
    assert black76(110.0, 100.0, 0.0, 0.5, True) == 10.0
    assert black76(90.0, 100.0, 0.0, 0.5, False) == 10.0
    assert black76(90.0, 100.0, -0.1, 0.5, True) == 0.0


def test_pnl_matrix():
    ins = (Instrument("B", "spot", "BTC"), Instrument("BP", "perp", "BTC"),
           Instrument("E", "perp", "ETH"),
           Instrument("BC", "option", "BTC", "call", 110.0, 30.0, 0.8),
           Instrument("EP1", "option", "ETH", "put", 12.0, 1.0, 0.8))   # expires inside the MPOR
    t = InstrumentTable.from_instruments(ins, ("BTC", "ETH"))
    price = np.array([100.0, 10.0])
    r = np.array([[0.1, -0.2], [-0.3, 0.05], [0.0, 0.0]])
    v = np.array([0.5, -0.2, 0.0])
    val = value_instruments(t, price, r, np.repeat(v[:, None], 2, axis=1), np.zeros((3, 2)), 2)
    np.testing.assert_allclose(val.pnl[:, 0], 100 * r[:, 0])
    np.testing.assert_allclose(val.pnl[:, 1], 100 * r[:, 0])
    np.testing.assert_allclose(val.pnl[:, 2], 10 * r[:, 1])
    prem = black76(100.0, 110.0, 30 / 365, 0.8, True)
    expect = black76(100 * (1 + r[:, 0]), 110.0, 28 / 365, 0.8 * (1 + v), True) - prem
    np.testing.assert_allclose(val.pnl[:, 3], expect)
    put0 = black76(10.0, 12.0, 1 / 365, 0.8, False)
    np.testing.assert_allclose(val.pnl[:, 4], np.maximum(12 - 10 * (1 + r[:, 1]), 0) - put0)
    np.testing.assert_allclose(val.mark, [100, 0, 0, prem, put0])
    assert val.exposure.shape == (2, 5)
    np.testing.assert_allclose(val.exposure[0, :2], [100, 100])
    assert val.exposure[1, 0] == 0 and val.exposure[0, 2] == 0
    assert val.exposure[0, 3] == pytest.approx(100 * black76_delta(100.0, 110.0, 30 / 365, 0.8, True))
    assert val.exposure[1, 4] < 0
    # Up move with vols up: a long call gains; no move, no vol change: pure time decay.
    assert val.pnl[0, 3] > 0 and val.pnl[2, 3] < 0
