"""Per-asset conditional volatility: GARCH(1,1) and GJR-GARCH(1,1,1) with Student-t innovations.

Model (returns ``r_t`` are simple daily returns, zero mean)::

    r_t      = sigma_t * z_t,        z_t ~ standardised Student-t(nu)  (unit variance)
    sigma2_t = omega + alpha * r_{t-1}**2 + gamma * r_{t-1}**2 * 1[r_{t-1} < 0] + beta * sigma2_{t-1}

GARCH is the case ``gamma = 0``. Parameters are estimated by ``arch`` on percent
returns (``arch_model(100 * r, mean='Zero', vol='GARCH', p=1, o=0|1, q=1, dist='t')``,
zero mean so arch's recursion is exactly the one above) and rescaled to return
units: ``omega_ret = omega_pct / 100**2``; ``alpha, gamma, beta, nu`` are unitless. The path
starts at arch's ``sigma2_0 = omega + (alpha + gamma/2 + beta) * backcast`` (backcast: the
0.94-weighted mean of the first 75 squared returns), from the asset's listing to the model date.

Forecasts from the state ``sigma2_{T+1}`` (known at the close of day T)::

    sigma2_{T+j} = omega + (alpha + gamma / 2 + beta) * sigma2_{T+j-1},   j >= 2
    h-step (MPOR) variance = sum_{j=1..h} sigma2_{T+j}

(``gamma / 2`` because a symmetric innovation is negative half the time, as in arch.)
Near-integrated fits follow the persistence rule of :mod:`.persistence`: with a cap
(``persistence_cap``, :data:`DEFAULT_PERSISTENCE_CAP`), a fit with ``alpha + gamma/2 + beta
>= cap`` is published as arch's constrained MLE at the cap, and the fit records the test.
The pure recursion :func:`garch_update` rolls the state forward by one observation
without refitting: it is the update the model circuit proves per block.
"""
from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .persistence import PersistenceCheck

#: arch works on percent returns (better-conditioned optimisation).
PERCENT = 100.0
#: Default persistence cap (docs/MODEL.md section 2: the smallest cap on the grid
#: 0.98/0.99/0.995/0.999 that no asset's likelihood ratio rejects at 5%, 2017-2023).
DEFAULT_PERSISTENCE_CAP = 0.999


@dataclass(frozen=True)
class GarchParams:
    """GJR-GARCH(1,1,1)-t parameters in return units (GARCH: ``gamma == 0``).

    omega: return**2 per day (> 0); alpha, gamma, beta: unitless (>= 0); nu: t degrees of freedom (> 2).
    """

    omega: float
    alpha: float
    gamma: float
    beta: float
    nu: float

    def __post_init__(self):
        if not (self.omega > 0 and self.alpha >= 0 and self.beta >= 0 and self.alpha + self.gamma >= 0):
            raise ValueError(f"invalid GARCH parameters {self}")
        if not self.nu > 2:
            raise ValueError(f"Student-t nu must be > 2 for a finite variance, got {self.nu}")

    @property
    def persistence(self) -> float:
        """``alpha + gamma / 2 + beta``: the h-step decay rate toward the long-run variance."""
        return self.alpha + 0.5 * self.gamma + self.beta

    @property
    def unconditional_variance(self) -> float:
        """Long-run daily variance ``omega / (1 - persistence)`` (inf if not stationary)."""
        p = self.persistence
        return self.omega / (1 - p) if p < 1 else float("inf")


@dataclass(frozen=True)
class GarchState:
    """What the per-block update carries: the variance for the next day and the last close.

    sigma2:     conditional variance of the next day's simple return (return**2).
    last_price: the last close (USD), from which the next return is computed.
    """

    sigma2: float
    last_price: float


def garch_update(p: GarchParams, sigma2: float, eps: float) -> float:
    """One step of the recursion: ``omega + alpha*eps^2 + gamma*eps^2*1[eps<0] + beta*sigma2``."""
    e2 = eps * eps
    return p.omega + p.alpha * e2 + (p.gamma * e2 if eps < 0 else 0.0) + p.beta * sigma2


def update_state(p: GarchParams, state: GarchState, price: float) -> GarchState:
    """Roll the state forward by one new close (no refit)."""
    eps = price / state.last_price - 1.0
    return GarchState(garch_update(p, state.sigma2, eps), price)


def filter_variance(p: GarchParams, returns: np.ndarray, sigma2_0: float) -> np.ndarray:
    """Conditional variances (T + 1,): ``out[t]`` is the variance of ``returns[t]``, ``out[T]`` the next day's.

    ``sigma2_0`` is the variance of the first return (arch's backcast start).
    """
    r = np.asarray(returns, float)
    out = np.empty(len(r) + 1)
    out[0] = sigma2_0
    for t, eps in enumerate(r):
        out[t + 1] = garch_update(p, out[t], float(eps))
    return out


def forecast_variance(p: GarchParams, sigma2_next: float, horizon: int) -> np.ndarray:
    """(horizon,) variance forecasts for days T+1..T+h given ``sigma2_{T+1}``."""
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    out = np.empty(horizon)
    out[0] = sigma2_next
    for j in range(1, horizon):
        out[j] = p.omega + p.persistence * out[j - 1]
    return out


def mpor_variance(p: GarchParams, sigma2_next: float, horizon: int) -> float:
    """Variance of the h-day return: the sum of the 1..h step forecasts."""
    return float(forecast_variance(p, sigma2_next, horizon).sum())


@dataclass(frozen=True)
class VolatilityFit:
    """A fitted volatility model on one asset's return series.

    params:    the estimated :class:`GarchParams` (return units).
    sigma2:    (T + 1,) conditional variances; ``sigma2[t]`` for ``returns[t]``, last = next day.
    residuals: (T,) standardised residuals ``returns / sqrt(sigma2[:-1])`` (unit variance).
    loglik:    arch's log-likelihood (on percent returns) of the published parameters.
    converged: arch's optimiser reported success for the published parameters.
    persistence_rule: the persistence rule as applied (:class:`.persistence.PersistenceCheck`),
               None when the model has no cap.
    """

    model: str
    params: GarchParams
    sigma2: np.ndarray
    residuals: np.ndarray
    backcast: float
    loglik: float
    converged: bool
    persistence_rule: "PersistenceCheck | None" = None

    @property
    def sigma2_next(self) -> float:
        return float(self.sigma2[-1])

    def state(self, last_price: float) -> GarchState:
        return GarchState(self.sigma2_next, float(last_price))

    def forecast(self, horizon: int) -> np.ndarray:
        """(horizon,) daily variance forecasts for the next ``horizon`` days."""
        return forecast_variance(self.params, self.sigma2_next, horizon)

    def mpor_variance(self, horizon: int) -> float:
        return mpor_variance(self.params, self.sigma2_next, horizon)


class VolatilityModel(ABC):
    """The interface: fit a return series (T,) into a :class:`VolatilityFit`."""

    name: str = "?"

    @abstractmethod
    def fit(self, returns: np.ndarray) -> VolatilityFit: ...


class _ArchGarchT(VolatilityModel):
    """Zero-mean GARCH-family model with Student-t innovations, estimated by ``arch``.

    persistence_cap: None (arch's own ``phi <= 1`` only) or in (0, 1): the persistence rule.
    """

    o: int = 0

    def __init__(self, persistence_cap: float | None = None):
        if persistence_cap is not None and not 0 < persistence_cap < 1:
            raise ValueError(f"persistence_cap must be None or in (0, 1), got {persistence_cap}")
        self.persistence_cap = persistence_cap

    def fit(self, returns: np.ndarray) -> VolatilityFit:
        from arch import arch_model

        r = np.asarray(returns, float)
        if r.ndim != 1 or len(r) < 30 or not np.all(np.isfinite(r)):
            raise ValueError("need a finite 1-d return series of at least 30 observations")
        if np.all(r == r[0]):   # arch would return omega = 0, which GarchParams rejects, cryptically
            raise ValueError(f"all {len(r)} returns equal {r[0]:g} (a constant close, e.g. a pegged "
                             "stablecoin): no volatility to estimate")
        am = arch_model(PERCENT * r, mean="Zero", vol="GARCH", p=1, o=self.o, q=1, dist="t")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is recorded in `converged` instead
            res = am.fit(disp="off", show_warning=False)
        rule = None
        if self.persistence_cap is not None:
            from .persistence import apply_cap
            res, rule = apply_cap(PERCENT * r, self.o, res, self.persistence_cap)
        par = res.params
        s2 = PERCENT ** 2
        alpha = float(par["alpha[1]"])
        gamma = leverage_on_constraint(alpha, float(par["gamma[1]"])) if self.o else 0.0
        params = GarchParams(omega=float(par["omega"]) / s2, alpha=alpha, gamma=gamma,
                             beta=float(par["beta[1]"]), nu=float(par["nu"]))
        # arch starts its recursion at sigma2_0 = omega + (alpha + gamma/2 + beta) * backcast.
        backcast = float(am.volatility.backcast(PERCENT * r)) / s2
        sigma2_0 = params.omega + params.persistence * backcast
        sigma2 = filter_variance(params, r, sigma2_0)
        return VolatilityFit(self.name, params, sigma2, r / np.sqrt(sigma2[:-1]), backcast,
                             float(res.loglikelihood), int(res.convergence_flag) == 0, rule)


#: How far below 0 arch's ``alpha + gamma`` may come back and still count as on the constraint.
LEVERAGE_TOLERANCE = 1e-7


def leverage_on_constraint(alpha: float, gamma: float, tol: float = LEVERAGE_TOLERANCE) -> float:
    """``gamma``, or ``-alpha`` when ``-tol <= alpha + gamma < 0``.

    arch imposes ``alpha + gamma >= 0`` through its SLSQP optimiser, whose tolerance can leave a
    fit at the boundary a hair outside it (BTC 2021-01-30..2022-12-31: ``alpha = 0``, ``gamma =
    -6.4e-9``). Such a fit is converged and on the boundary, so it is projected onto it, which moves
    the likelihood by about the size of the violation; a larger violation is left for
    :class:`GarchParams` to reject (a failed fit is reported, never replaced)."""
    if -tol <= alpha + gamma < 0:
        return 0.0 - alpha          # not -alpha: no negative zero when alpha == 0
    return gamma


class GARCH(_ArchGarchT):
    """GARCH(1,1) with Student-t innovations (``gamma = 0``)."""

    name = "garch"
    o = 0


class GJRGARCH(_ArchGarchT):
    """GJR-GARCH(1,1,1) with Student-t innovations (leverage term ``gamma``)."""

    name = "gjr"
    o = 1


VOLATILITY_MODELS: dict[str, type[VolatilityModel]] = {"garch": GARCH, "gjr": GJRGARCH}


def volatility_model(name: str, persistence_cap: float | None = None) -> VolatilityModel:
    """The named model (``garch``, ``gjr``) with the persistence rule at ``persistence_cap``."""
    try:
        return VOLATILITY_MODELS[name](persistence_cap)
    except KeyError:
        raise ValueError(f"unknown volatility model {name!r}; one of {sorted(VOLATILITY_MODELS)}") from None
