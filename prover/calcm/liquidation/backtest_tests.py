"""VaR and ES backtest statistics: Kupiec, Christoffersen, Acerbi-Szekely Z2 (two-sided).

Notation: T test days, exception indicator ``I_t = 1[L_t > VaR_t]``, x = sum I_t,
tail probability ``p = 1 - level`` (0.025 at 97.5%, 0.01 at 99%). Losses are positive.

- **Kupiec proportion of failures** (1995):
  ``LR_pof = -2 [ (T-x) ln(1-p) + x ln p - (T-x) ln(1-x/T) - x ln(x/T) ] ~ chi2(1)``.
  The LR test is two-sided: too few exceptions (a conservative model) is rejected as
  well as too many; ``direction`` says which side the estimate ``x/T`` is on.
- **Christoffersen independence** (1998): with ``n_ij`` the days in state i followed
  by state j, ``pi_0 = n01/(n00+n01)``, ``pi_1 = n11/(n10+n11)``,
  ``pi = (n01+n11)/(n00+n01+n10+n11)``:
  ``LR_ind = -2 [ ln L(pi) - ln L(pi_0, pi_1) ] ~ chi2(1)``; conditional coverage
  ``LR_cc = LR_pof + LR_ind ~ chi2(2)``. ``0 ln 0 = 0`` throughout.
- **Acerbi-Szekely Z2** (2014, "Backtesting Expected Shortfall"), loss terms:
  ``Z2 = 1 - sum_t L_t I_t / (T p ES_t)``. Under the null (the predictive
  distributions are right) ``E[Z2] ~ 0``; ``Z2 < 0`` when ES is underestimated
  (aggressive), ``Z2 > 0`` when it is overestimated (conservative).

  The null distribution is **simulated under the model's own predictive
  distribution**, as Acerbi and Szekely prescribe: path k draws, for every day t,
  ``L_t^(k)`` uniformly from day t's scenario losses (the FHS set the VaR and ES
  were computed from), with day t's own VaR_t and ES_t, and computes ``Z2^(k)``.
  ``n_sims`` paths (default 2000) give
  ``p_aggressive = #{Z2^(k) <= Z2} / n_sims`` (ES too low),
  ``p_conservative = #{Z2^(k) >= Z2} / n_sims`` (ES too high), and the two-sided
  ``p_value = min(1, 2 min(p_aggressive, p_conservative))``. A test "rejects" at 5%
  when ``p_value < 0.05``. The draws are seeded; the same uniform numbers serve every
  book of a run (common random numbers: each book's null is still exact).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Size of every test (two-sided).
TEST_SIZE = 0.05


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def _direction(observed: float, expected: float, tol: float = 1e-12) -> str:
    if observed > expected + tol:
        return "aggressive"
    return "conservative" if observed < expected - tol else "exact"


@dataclass(frozen=True)
class VarTest:
    """Kupiec (two-sided) and Christoffersen tests of one exception series."""

    n: int
    exceptions: int
    expected: float
    kupiec_lr: float
    kupiec_p: float
    christoffersen_lr: float
    christoffersen_p: float
    conditional_coverage_p: float

    @property
    def direction(self) -> str:
        """``aggressive`` (more exceptions than expected), ``conservative`` or ``exact``."""
        return _direction(self.exceptions, self.expected)


def kupiec(exceptions: np.ndarray, p: float) -> tuple[float, float]:
    """Kupiec POF likelihood ratio and its chi2(1) p-value (two-sided)."""
    I = np.asarray(exceptions, bool)
    T, x = len(I), int(I.sum())
    if T == 0:
        raise ValueError("no observations")
    lr = -2 * (_xlogy(T - x, 1 - p) + _xlogy(x, p) - _xlogy(T - x, 1 - x / T) - _xlogy(x, x / T))
    lr = max(lr, 0.0)
    return lr, float(stats.chi2.sf(lr, 1))


def transition_counts(exceptions: np.ndarray) -> tuple[int, int, int, int]:
    """``(n00, n01, n10, n11)``: consecutive-day transitions of the exception indicator."""
    I = np.asarray(exceptions, bool).astype(int)
    a, b = I[:-1], I[1:]
    return (int(((a == 0) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum()),
            int(((a == 1) & (b == 0)).sum()), int(((a == 1) & (b == 1)).sum()))


def christoffersen(exceptions: np.ndarray) -> tuple[float, float]:
    """Christoffersen independence likelihood ratio and its chi2(1) p-value."""
    n00, n01, n10, n11 = transition_counts(exceptions)
    tot = n00 + n01 + n10 + n11
    if tot == 0 or n01 + n11 == 0:
        return 0.0, 1.0
    pi = (n01 + n11) / tot
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    ll0 = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    ll1 = _xlogy(n00, 1 - pi0) + _xlogy(n01, pi0) + _xlogy(n10, 1 - pi1) + _xlogy(n11, pi1)
    lr = max(-2 * (ll0 - ll1), 0.0)
    return lr, float(stats.chi2.sf(lr, 1))


def var_test(exceptions: np.ndarray, p: float) -> VarTest:
    """All VaR tests of one exception series at tail probability ``p``."""
    I = np.asarray(exceptions, bool)
    k_lr, k_p = kupiec(I, p)
    c_lr, c_p = christoffersen(I)
    return VarTest(len(I), int(I.sum()), p * len(I), k_lr, k_p, c_lr, c_p,
                   float(stats.chi2.sf(k_lr + c_lr, 2)))


def acerbi_szekely_z2(loss: np.ndarray, var: np.ndarray, es: np.ndarray, p: float) -> float:
    """``Z2 = 1 - sum_t L_t 1[L_t > VaR_t] / (T p ES_t)`` (losses positive; ES > 0)."""
    loss, var, es = (np.asarray(x, float) for x in (loss, var, es))
    hit = loss > var
    return float(1.0 - np.sum(np.where(hit, loss, 0.0) / es) / (len(loss) * p))


@dataclass(frozen=True)
class EsTest:
    """Acerbi-Szekely Z2 with its simulated null distribution (two-sided)."""

    z2: float
    p_aggressive: float
    p_conservative: float
    critical_5pct: float
    n_sims: int

    @property
    def p_value(self) -> float:
        """Two-sided p-value ``min(1, 2 min(p_aggressive, p_conservative))``."""
        return min(1.0, 2.0 * min(self.p_aggressive, self.p_conservative))

    @property
    def direction(self) -> str:
        return "aggressive" if self.p_aggressive < self.p_conservative else "conservative"

    @classmethod
    def from_null(cls, z2: float, null: np.ndarray) -> "EsTest":
        null = np.asarray(null, float)
        return cls(float(z2), float(np.mean(null <= z2)), float(np.mean(null >= z2)),
                   float(np.quantile(null, TEST_SIZE)), len(null))


class Z2Null:
    """Streaming simulation of the Z2 null for B books over T days (see the module docstring).

    Call :meth:`add` once per test day with that day's scenario losses (B, S_t) and the
    day's VaR (B,) and ES (B,); :meth:`z2` returns the (B, n_sims) simulated Z2.
    Memory is O(B n_sims), whatever T: the 1,000-book run never stores scenario sets.
    """

    def __init__(self, n_books: int, p: float, n_sims: int, seed: int):
        if n_sims < 1:
            raise ValueError("n_sims must be >= 1")
        self.p, self.n_sims = p, n_sims
        self._rng = np.random.default_rng(seed)
        self._acc = np.zeros((n_books, n_sims))
        self._days = 0

    def add(self, scenario_losses: np.ndarray, var: np.ndarray, es: np.ndarray,
            uniforms: np.ndarray | None = None) -> None:
        """``uniforms`` (n_sims,) in [0, 1): pass the same draws to several nulls (levels)."""
        L = np.atleast_2d(np.asarray(scenario_losses, float))
        u = self._rng.random(self.n_sims) if uniforms is None else uniforms
        idx = np.minimum((u * L.shape[1]).astype(int), L.shape[1] - 1)
        sims = L[:, idx]                                                   # (B, n_sims)
        var = np.asarray(var, float)[:, None]
        es = np.asarray(es, float)[:, None]
        self._acc += np.where(sims > var, sims, 0.0) / es
        self._days += 1

    def z2(self) -> np.ndarray:
        if self._days == 0:
            raise ValueError("no test day added")
        return 1.0 - self._acc / (self._days * self.p)


def z2_null(scenario_losses: list[np.ndarray], var: np.ndarray, es: np.ndarray, p: float,
            n_sims: int, seed: int) -> np.ndarray:
    """(n_sims,) Z2 of one book under the model: day t's loss drawn uniformly from its scenarios.

    ``scenario_losses[t]`` is day t's (S_t,) scenario losses (S_t may vary by day).
    """
    null = Z2Null(1, p, n_sims, seed)
    for t, s in enumerate(scenario_losses):
        null.add(np.asarray(s)[None, :], np.asarray(var)[t:t + 1], np.asarray(es)[t:t + 1])
    return null.z2()[0]


def es_test(loss, var, es, scenario_losses, p: float, n_sims: int = 2000, seed: int = 0) -> EsTest:
    """Acerbi-Szekely Z2 of one book with its simulated two-sided p-value."""
    z = acerbi_szekely_z2(loss, var, es, p)
    return EsTest.from_null(z, z2_null(list(scenario_losses), np.asarray(var), np.asarray(es), p, n_sims, seed))
