"""The persistence rule for near-integrated GARCH fits (docs/MODEL.md section 2).

Persistence ``phi = alpha + gamma / 2 + beta`` is the rate at which the h-step variance
forecast decays to its long-run level; arch's own constraint is ``phi <= 1``. Crypto
fits reach that boundary (IGARCH, Engle & Bollerslev 1986), where the long-run variance
is infinite. The rule: when arch's fit has ``phi >= cap``, the published fit is the
constrained maximum-likelihood estimate with ``phi <= cap``, computed by arch itself
(:class:`CappedGARCH` adds the row to arch's linear constraints ``a @ x - b >= 0``).

Test of the restriction (``H0: phi <= cap`` against ``phi <= 1``)::

    LR = 2 (ll_u - ll_c) >= 0,    p = P(0.5 chi2_0 + 0.5 chi2_1 >= LR) = 0.5 P(chi2_1 >= LR)  (LR > 0)

(a one-sided restriction binding on one parameter: the chi-bar-squared mixture of
Self & Liang 1987), with 1 at ``LR = 0``. IGARCH is the same process with ``phi`` pinned
to 1 (a ``phi >= 1`` row beside arch's ``phi <= 1``), fitted for the comparison only.
Log-likelihoods are arch's, on percent returns.

Why the default cap 0.999 (:data:`.volatility.DEFAULT_PERSISTENCE_CAP`; ``calcm risk garch
--evidence`` recomputes this on ``../shared/data/prices``, GJR, 2017-2023):

- arch puts BTC, ETH, BNB, XRP, DOGE, AVAX at ``phi = 1.0000`` (nu 3.2, 3.6, 3.7, 2.9, 2.8, 4.5);
  SOL, ADA, LINK, LTC at 0.974-0.985; the bundled market's five fits at 0.940-0.983.
- Likelihood loss summed over the ten assets (LR rejects at 5%): cap 0.98 20.5 (BTC, ETH, BNB),
  0.99 9.3 (BTC, ETH, BNB), 0.995 4.3 (BTC, p = 0.013), 0.999 0.79 (none; smallest p 0.17).
  0.999 is the smallest cap of the grid that the data reject for no asset.
- 2-day variance forecasts out of sample (yearly refits, 2019-2023, 14,567 forecasts, QLIKE
  difference to arch's own fit, Diebold-Mariano t): caps 0.98 .. 0.999 +0.012 .. +0.001
  (|t| <= 1.01); IGARCH published where ``phi >= 0.999`` -0.00001 (t -0.3): no rule is
  distinguishable from arch's fit at h = 2 (a one-off run: IGARCH everywhere, also on SOL, ADA,
  LINK, LTC, is worse, +0.014, t 4.0). The cap keeps a finite long-run variance ``omega / (1 - phi)``
  (IGARCH has none) and moves the 2-day sigma of 2023-12-31 by -0.2% .. +0.1%; that
  long-run level is high (BTC 9.4% a day at 0.999 against a sample 3.9%), which is why the
  floor of the horizon variance uses the sample variance, not this one.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from arch.univariate import GARCH as ArchGARCH
from arch.univariate import StudentsT, ZeroMean
from scipy.stats import chi2

from .volatility import (DEFAULT_PERSISTENCE_CAP, PERCENT, GarchParams, filter_variance, leverage_on_constraint,
                         volatility_model)

#: Starting values are moved this far inside the cap (strictly feasible for SLSQP).
_INSIDE = 1e-6


class CappedGARCH(ArchGARCH):
    """arch's GJR-GARCH(1, o, 1) with persistence ``floor <= alpha + gamma/2 + beta <= cap``.

    cap: in (0, 1]; 1 is arch's own constraint (no row added). floor: None, or <= cap
    (``floor = cap = 1`` is IGARCH). Rows follow arch's sign convention ``a @ x - b >= 0``
    over ``x = (omega, alpha, gamma, beta)``.
    """

    def __init__(self, o: int = 0, cap: float = 1.0, floor: float | None = None) -> None:
        if not 0 < cap <= 1:
            raise ValueError(f"persistence cap must be in (0, 1], got {cap}")
        if floor is not None and not 0 <= floor <= cap:
            raise ValueError(f"persistence floor must be in [0, cap], got {floor}")
        super().__init__(p=1, o=o, q=1)
        self.cap, self.floor = float(cap), floor

    def constraints(self):
        a, b = super().constraints()
        phi = -a[-1]                      # arch's last row is -phi >= -1: its negation loads phi
        rows, rhs = [a], [b]
        if self.cap < 1:                  # -phi >= -cap
            rows.append(-phi[None])
            rhs.append([-self.cap])
        if self.floor is not None:        # phi >= floor
            rows.append(phi[None])
            rhs.append([self.floor])
        return np.vstack(rows), np.concatenate(rhs)


def arch_fit(y: np.ndarray, o: int, cap: float = 1.0, floor: float | None = None, start=None):
    """arch's Student-t fit of zero-mean ``y`` (percent returns) under :class:`CappedGARCH`.

    start: optional full starting vector (omega, alpha, [gamma,] beta, nu); returns arch's result.
    """
    am = ZeroMean(y, volatility=CappedGARCH(o, cap, floor), distribution=StudentsT())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is recorded, never hidden (see `converged`)
        return am.fit(disp="off", show_warning=False, starting_values=start)


def persistence_of(par) -> float:
    """``alpha + gamma/2 + beta`` from arch's parameter Series."""
    return float(par["alpha[1]"] + 0.5 * par.get("gamma[1]", 0.0) + par["beta[1]"])


def inside(par, target: float) -> np.ndarray:
    """arch's parameter vector with alpha, gamma, beta scaled so the persistence is ``target``."""
    x = np.asarray(par, float).copy()      # (omega, alpha, [gamma,] beta, nu)
    phi = persistence_of(par)
    if phi > 0:
        x[1:-1] *= target / phi
    return x


def lr_test(ll_u: float, ll_c: float) -> tuple[float, float]:
    """``(LR, p)``: ``LR = max(2 (ll_u - ll_c), 0)``, p under ``0.5 chi2_0 + 0.5 chi2_1``."""
    lr = max(2.0 * (ll_u - ll_c), 0.0)
    return lr, (1.0 if lr == 0 else 0.5 * float(chi2.sf(lr, 1)))


@dataclass(frozen=True)
class PersistenceCheck:
    """The rule as applied to one fit (log-likelihoods on percent returns, arch's).

    cap:         the persistence cap of the rule.
    phi_u:       persistence of arch's own fit (``phi <= 1``); ``phi_c`` of the constrained MLE.
    loglik_u, loglik_c: their log-likelihoods (``loglik_c == loglik_u`` when ``phi_u < cap``:
                 the unconstrained fit is then the constrained MLE).
    lr, p_value: :func:`lr_test`.
    published:   "unconstrained" (``phi_u < cap``) or "capped".
    converged_u, converged_c: arch's optimiser flags of the two fits.
    """

    cap: float
    phi_u: float
    phi_c: float
    loglik_u: float
    loglik_c: float
    lr: float
    p_value: float
    published: str
    converged_u: bool
    converged_c: bool

    def to_json(self) -> dict:
        return dict(vars(self))


def apply_cap(y: np.ndarray, o: int, res_u, cap: float):
    """``(published arch result, PersistenceCheck)`` of the rule on arch's fit ``res_u`` of ``y``.

    Below the cap ``res_u`` itself is published (identical parameters). At or above it,
    the constrained MLE (started from ``res_u`` scaled just inside the cap) is published
    even if its optimiser fails: the check records that, nothing is swapped back.
    """
    phi_u, ll_u, ok_u = persistence_of(res_u.params), float(res_u.loglikelihood), res_u.convergence_flag == 0
    if phi_u < cap:
        return res_u, PersistenceCheck(cap, phi_u, phi_u, ll_u, ll_u, 0.0, 1.0, "unconstrained", ok_u, ok_u)
    res_c = arch_fit(y, o, cap, start=inside(res_u.params, cap * (1 - _INSIDE)))
    ll_c = float(res_c.loglikelihood)
    lr, p = lr_test(ll_u, ll_c)
    return res_c, PersistenceCheck(cap, phi_u, persistence_of(res_c.params), ll_u, ll_c, lr, p, "capped",
                                   ok_u, res_c.convergence_flag == 0)


def igarch_fit(y: np.ndarray, o: int, res_u):
    """arch's fit with ``phi = 1`` (IGARCH), started from ``res_u`` scaled to ``phi = 1``."""
    return arch_fit(y, o, 1.0, 1.0, start=inside(res_u.params, 1.0))


def persistence_report(market, vol_model: str = "gjr", cap: float | None = None) -> list[dict]:
    """Per asset of ``market`` (all its finite returns): the rule at ``cap`` and IGARCH beside it.

    Row keys: asset, n, nu, phi_u, phi, loglik_u, loglik_c, lr, p_value, loglik_igarch,
    lr_igarch (``2 (ll_u - ll_igarch)``), rule ("unconstrained" | "capped"), converged
    (the published fit), converged_igarch, error (None, or why this asset has no fit: a
    fit that fails is reported here, never replaced). cap None: the default cap.
    """
    cap = DEFAULT_PERSISTENCE_CAP if cap is None else cap
    vm = volatility_model(vol_model, cap)
    rets = market.simple_returns()
    rows = []
    for a in market.assets:
        col = rets[:, market.index(a)]
        r = col[np.isfinite(col)]
        row = {"asset": a, "n": int(len(r)), "error": None}
        try:
            fit = vm.fit(r)
        except ValueError as exc:       # too short, or arch's optimum outside GarchParams' domain
            rows.append(row | {"error": str(exc)})
            continue
        chk, p = fit.persistence_rule, fit.params
        ig = arch_fit(PERCENT * r, vm.o, 1.0, 1.0, start=_start(p, vm.o, 1.0))
        row |= {"nu": p.nu, "phi_u": chk.phi_u, "phi": p.persistence, "loglik_u": chk.loglik_u,
                "loglik_c": chk.loglik_c, "lr": chk.lr, "p_value": chk.p_value,
                "loglik_igarch": float(ig.loglikelihood),
                "lr_igarch": max(2.0 * (chk.loglik_u - float(ig.loglikelihood)), 0.0), "rule": chk.published,
                "converged": fit.converged, "converged_u": chk.converged_u,
                "converged_igarch": ig.convergence_flag == 0}
        rows.append(row)
    return rows


def _start(p, o: int, target: float) -> np.ndarray:
    """arch's vector (percent units) of GarchParams ``p`` with alpha, gamma, beta scaled to ``target``."""
    x = np.r_[p.omega * PERCENT ** 2, p.alpha, [p.gamma] if o else [], p.beta, p.nu]
    x[1:-1] *= target / max(p.persistence, 1e-12)
    return x


def qlike_h2(p, returns: np.ndarray, sigma2_0: float, start: int) -> np.ndarray:
    """QLIKE losses ``log V + RV / V`` (Patton 2011, up to a constant) of 2-day variance forecasts.

    The path runs the recursion with fixed ``p`` over all of ``returns`` from ``sigma2_0``; at
    each close ``t - 1`` (``t`` from ``start``) ``V = mpor_variance(p, sigma2_t, 2)`` forecasts
    ``RV = r_t^2 + r_{t+1}^2``. Returns (len(returns) - 1 - start,).
    """
    r = np.asarray(returns, float)
    s2 = filter_variance(p, r, sigma2_0)[start:len(r) - 1]
    v = s2 * (1 + p.persistence) + p.omega
    rv = r[start:-1] ** 2 + r[start + 1:] ** 2
    return np.log(v) + rv / v


def year_windows(dates: np.ndarray, years=None, min_history: int = 250):
    """``(Y, n0, n1)`` for each year Y of ``years`` (None: every calendar year of ``dates``) in
    which one asset, with return dates ``dates``, has ``min_history`` returns before Y (``n0``) and
    at least 3 in it (``n1 - n0``): the years :func:`cap_evidence` scores."""
    if years is None:
        years = range(int(str(dates[0])[:4]), int(str(dates[-1])[:4]) + 1) if len(dates) else ()
    for y in years:
        n0, n1 = (int((dates < np.datetime64(f"{y + k}-01-01")).sum()) for k in (0, 1))
        if n0 >= min_history and n1 - n0 >= 3:
            yield y, n0, n1


def cap_evidence(market, vol_model: str = "gjr", caps=(0.98, 0.99, 0.995, 0.999),
                 years=None, min_history: int = 250) -> dict:
    """The evidence behind the default cap: likelihood loss per cap, and out-of-sample forecasts.

    Likelihood, on every asset's full history: ``sum(ll_u - ll_c)`` and the assets whose LR
    rejects the cap at 5%. Forecasts: each year Y of ``years`` (None: the data's own years; 2019-2023
    on the bundled 2017-23 history), every asset with ``min_history`` returns before Y
    (:func:`year_windows`) is fitted on them under each rule and its 2-day variance forecasts over
    Y are scored by :func:`qlike_h2`; per rule the mean loss difference to arch's own fit, with a
    Diebold-Mariano t (Newey-West, lag 1: the 2-day windows overlap). Rules: arch (no cap), each
    cap, and "igarch" (IGARCH published where arch's ``phi >= max(caps)``). ``years`` in the
    result: the years scored. An asset any of whose fits fails (``ValueError``, e.g. a constant
    close) is left out of every sum and listed in ``errors`` as ``"asset: message"``.
    """
    rules = ["arch", *caps, "igarch"]
    models = {c: volatility_model(vol_model, c) for c in caps}
    arch = volatility_model(vol_model)
    rets, dates = market.simple_returns(), market.dates[1:]
    like = {c: {"loglik_loss": 0.0, "rejected_5pct": []} for c in caps}
    loss = {k: [] for k in rules}
    scored: set[int] = set()
    errors = []
    for a in market.assets:
        col = rets[:, market.index(a)]
        ok = np.isfinite(col)
        r, d = col[ok], dates[ok]
        if len(r) < min_history:
            continue
        try:
            chks, mine, yrs = [models[c].fit(r).persistence_rule for c in caps], {k: [] for k in rules}, set()
            for y, n0, n1 in year_windows(d, years, min_history):
                yrs.add(y)
                free = arch.fit(r[:n0])
                fits = {"arch": (free.params, float(free.sigma2[0]))}
                for c in caps:
                    f = models[c].fit(r[:n0])
                    fits[c] = (f.params, float(f.sigma2[0]))
                fits["igarch"] = _igarch(r[:n0], arch.o, free) if free.params.persistence >= max(caps) \
                    else fits["arch"]
                for k, (p, s0) in fits.items():
                    mine[k].append(qlike_h2(p, r[:n1], s0, n0))
        except ValueError as exc:   # reported per asset, never replaced
            errors.append(f"{a}: {exc}")
            continue
        for c, chk in zip(caps, chks):
            like[c]["loglik_loss"] += chk.loglik_u - chk.loglik_c
            if chk.p_value < 0.05:
                like[c]["rejected_5pct"].append(a)
        scored |= yrs
        for k in rules:
            loss[k] += mine[k]
    flat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in loss.items()}
    out = {"likelihood": {str(c): v for c, v in like.items()}, "qlike": {}, "n_forecasts": len(flat["arch"]),
           "years": sorted(scored), "errors": errors}
    for k in rules[1:]:
        dl = flat[k] - flat["arch"]
        m, n = float(dl.mean()) if len(dl) else 0.0, max(len(dl), 1)
        g = dl - m
        hac = (g @ g + 2 * (g[1:] @ g[:-1])) / n if len(dl) > 1 else 0.0
        out["qlike"][str(k)] = {"mean_diff_vs_arch": m, "t": m / np.sqrt(hac / n) if hac > 0 else 0.0}
    return out


def _igarch(r: np.ndarray, o: int, fit):
    """(GarchParams, sigma2_0) of arch's IGARCH fit of ``r`` started from ``fit``'s parameters."""
    ig = arch_fit(PERCENT * r, o, 1.0, 1.0, start=_start(fit.params, o, 1.0)).params
    alpha = float(ig["alpha[1]"])
    gamma = leverage_on_constraint(alpha, float(ig["gamma[1]"])) if o else 0.0
    p = GarchParams(float(ig["omega"]) / PERCENT ** 2, alpha, gamma, float(ig["beta[1]"]), float(ig["nu"]))
    return p, p.omega + p.persistence * fit.backcast
