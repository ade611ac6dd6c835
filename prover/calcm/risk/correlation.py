"""EWMA correlation of GARCH-standardised residuals, and its stressed blend.

For standardised residual vectors ``z_t`` (U,) (unit variance per asset)::

    Q_t = lambda * Q_{t-1} + (1 - lambda) * z_t z_t^T          (EWMA, lambda = 0.94 default)
    R_t = D_t^{-1/2} Q_t D_t^{-1/2},   D_t = diag(Q_t)           (a correlation matrix)

``Q_0`` is the sample second-moment matrix of the first ``init`` observations
(RiskMetrics-style start), so the path is deterministic. ``R_{t-1}`` is the
correlation *predicted* for day t (it has not seen ``z_t``): filtered historical
simulation de-correlates ``z_t`` with it.

Stressed correlation (blend toward correlation-to-one, weight ``w`` = 0.5 default; it
re-correlates only the ``stress`` scenarios, :mod:`.scenarios` superset rule)::

    R_stress = (1 - w) * R + w * 1 1^T

A convex blend of two PSD matrices with unit diagonal is PSD with unit diagonal;
:func:`nearest_correlation` repairs round-off (eigenvalue floor, then rescale).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Eigenvalue floor for Cholesky factors (``1 1^T`` itself is singular).
EIG_FLOOR = 1e-8


@dataclass(frozen=True)
class EwmaCorrelation:
    """EWMA correlation estimator (parameters as data)."""

    lam: float = 0.94
    init: int = 30

    def __post_init__(self):
        if not (0 < self.lam < 1):
            raise ValueError(f"EWMA lambda must be in (0, 1), got {self.lam}")
        if self.init < 1:
            raise ValueError("init must be >= 1")

    def initial(self, z: np.ndarray) -> np.ndarray:
        """``Q_0`` (U, U): second moments of the first ``init`` rows of ``z`` (T, U)."""
        head = np.asarray(z, float)[: self.init]
        return head.T @ head / len(head)

    def update(self, q: np.ndarray, z_t: np.ndarray) -> np.ndarray:
        """One observation: ``lambda * Q + (1 - lambda) * z z^T``."""
        z_t = np.asarray(z_t, float)
        return self.lam * q + (1 - self.lam) * np.outer(z_t, z_t)

    def filter(self, z: np.ndarray) -> "CorrelationPath":
        """Run the recursion over ``z`` (T, U); returns the predicted correlations."""
        z = np.asarray(z, float)
        if z.ndim != 2 or not np.all(np.isfinite(z)):
            raise ValueError("z must be a finite (T, U) matrix")
        T, U = z.shape
        q = self.initial(z)
        pred = np.empty((T + 1, U, U))
        for t in range(T):
            pred[t] = to_correlation(q)
            q = self.update(q, z[t])
        pred[T] = to_correlation(q)
        return CorrelationPath(pred, q)


@dataclass(frozen=True)
class CorrelationPath:
    """predicted: (T + 1, U, U); ``predicted[t]`` is the correlation before seeing ``z_t``,
    ``predicted[T]`` today's (for tomorrow). ``q``: the final EWMA state (U, U)."""

    predicted: np.ndarray
    q: np.ndarray

    @property
    def today(self) -> np.ndarray:
        return self.predicted[-1]


def to_correlation(q: np.ndarray) -> np.ndarray:
    """``D^{-1/2} Q D^{-1/2}`` with an exact unit diagonal.

    An asset whose EWMA variance is 0 (every residual so far exactly 0) has no defined
    correlation: it is taken as uncorrelated (row and column 0 off the diagonal), not NaN.
    """
    diag = np.diag(q)
    d = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    r = q * np.outer(d, d)
    np.fill_diagonal(r, 1.0)
    return r


def nearest_correlation(r: np.ndarray, floor: float = EIG_FLOOR) -> np.ndarray:
    """Symmetrise, floor the eigenvalues at ``floor`` and restore the unit diagonal (PSD kept)."""
    r = 0.5 * (r + r.T)
    w, v = np.linalg.eigh(r)
    if w.min() >= floor:
        return r
    r = (v * np.maximum(w, floor)) @ v.T
    return to_correlation(r)


def stressed(r: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """``(1 - w) R + w 1 1^T``: correlations pushed toward one, kept PSD."""
    if not (0 <= weight <= 1):
        raise ValueError(f"stress weight must be in [0, 1], got {weight}")
    U = r.shape[0]
    return nearest_correlation((1 - weight) * r + weight * np.ones((U, U)))


def cholesky(r: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a correlation matrix (eigenvalues floored first)."""
    return np.linalg.cholesky(nearest_correlation(r))
