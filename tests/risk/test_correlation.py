"""EWMA correlation of standardised residuals and the stressed blend."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calcm.risk.correlation import (EwmaCorrelation, cholesky, nearest_correlation, stressed,
                                    to_correlation)


def test_filter_is_the_per_observation_update():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((200, 4))
    est = EwmaCorrelation(0.94, 30)
    path = est.filter(z)
    q = est.initial(z)
    for t in range(len(z)):
        np.testing.assert_allclose(path.predicted[t], to_correlation(q), atol=1e-14)
        q = est.update(q, z[t])
    np.testing.assert_allclose(path.today, to_correlation(q), atol=1e-14)
    np.testing.assert_allclose(path.q, q)


def test_ewma_tracks_a_correlation_change():
    rng = np.random.default_rng(2)
    lo = rng.multivariate_normal([0, 0], [[1, 0.0], [0.0, 1]], 300)
    hi = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 300)
    path = EwmaCorrelation().filter(np.vstack([lo, hi]))
    assert abs(path.predicted[300][0, 1]) < 0.4
    assert path.today[0, 1] > 0.75


corr_inputs = arrays(np.float64, (40, 3), elements=st.floats(-4, 4))


@settings(max_examples=60)
@given(corr_inputs, st.floats(0, 1))
@example(np.zeros((40, 3)), 0.5)
@example(np.vstack([np.zeros((20, 3)), np.ones((20, 3))]), 0.0)
def test_stressed_is_a_psd_correlation(z, w):
    """Any residuals, including all-zero columns (an asset with no variance is uncorrelated)."""
    r = EwmaCorrelation(0.9, 10).filter(z).today
    s = stressed(r, w)
    assert np.allclose(np.diag(s), 1)
    assert np.allclose(s, s.T)
    assert np.linalg.eigvalsh(s).min() > -1e-10
    # Off-diagonals move toward one, never away (up to the 1e-8 eigenvalue floor, which moves a
    # perfectly correlated pair to 1 - O(1e-8)).
    off = ~np.eye(3, dtype=bool)
    assert np.all(s[off] >= r[off] - 1e-7)
    L = cholesky(s)
    assert np.allclose(L @ L.T, nearest_correlation(s), atol=1e-7)


def test_stress_weight_endpoints():
    r = np.array([[1, -0.3], [-0.3, 1]])
    assert np.allclose(stressed(r, 0.0), r)
    assert np.allclose(stressed(r, 1.0), np.ones((2, 2)), atol=1e-7)
    assert np.allclose(stressed(r, 0.5)[0, 1], 0.35)
    with pytest.raises(ValueError):
        stressed(r, 1.5)
    with pytest.raises(ValueError):
        EwmaCorrelation(1.0)
