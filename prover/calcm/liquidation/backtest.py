"""Rolling VaR / ES backtests of the risk model on real history.

For each day ``t`` of the window the model is built causally at the close of
``t`` (:class:`~calcm.liquidation.causal.CausalRiskModel`, GARCH refit monthly,
recursion daily, ``mpor_days = 1``) and predicts the next day's loss of a book
of USD weights ``w`` (U,) (long > 0, short < 0):

- predictive distribution: the filtered-historical-simulation scenarios of the
  model (``kind == "fhs"``), one-day returns ``R`` (S_f, U), losses ``-R w``;
- ``VaR_t`` = the ``k``-th largest scenario loss, ``k = ceil((1 - alpha) S_f)``;
  ``ES_t`` = the mean of the ``k`` largest (the margin module's definitions);
- realised loss ``L_{t+1} = -sum_u w_u (P_{t+1,u} / P_{t,u} - 1)``;
  exception ``I_t = 1[L_{t+1} > VaR_t]``.

The risk model has two layers: a *statistical forecast* (GJR-GARCH-t volatilities,
EWMA correlation, FHS) and a *stress overlay* (FHS re-correlated to a correlation
blended toward one, plus the worst-day, crash and breakdown scenarios) that makes
the margin conservative by design. A 99% VaR backtest checks the statistical
layer, so the VaR model is the same causal model with ``stress_weight = 0`` and
only its FHS scenarios. (With the stress blend, the FHS marginals of late-listed
assets are mixed with the other assets' residuals and the VaR over-covers: e.g.
long SOL, 2021-07..2022-07, had 0 exceptions against 3.65 expected, Kupiec
p = 0.007.) The margin itself (full model, all scenarios, the margin's 2-day MPOR)
is checked separately when ``margin=True``: ``margin_exceedances`` counts the days
on which the realised 2-day loss exceeded the ES margin.

Statistics (T days, x exceptions, p = 1 - alpha)
-------------------------------------------------
- **Kupiec proportion of failures**:
  ``LR_pof = -2 [ (T-x) ln(1-p) + x ln p - (T-x) ln(1-x/T) - x ln(x/T) ] ~ chi2(1)``.
- **Christoffersen independence**: with ``n_ij`` the number of days in state i
  followed by state j, ``pi_0 = n01/(n00+n01)``, ``pi_1 = n11/(n10+n11)``,
  ``pi = (n01+n11)/(n00+n01+n10+n11)``:
  ``LR_ind = -2 [ ln L(pi) - ln L(pi_0, pi_1) ] ~ chi2(1)``, and the conditional
  coverage ``LR_cc = LR_pof + LR_ind ~ chi2(2)``. ``0 ln 0 = 0`` throughout.
- **Acerbi-Szekely Z2** (2014), in loss terms:
  ``Z2 = 1 - sum_t L_t I_t / (T p ES_t)``; ``E[Z2] = 0`` under the null that the
  predictive distributions are right, ``Z2 < 0`` when ES is underestimated. The
  critical value is **simulated** from the model's own predictive distributions:
  ``n_sims`` paths draw ``L_t`` uniformly from day t's scenario losses, each path
  gives a ``Z2``; p-value = share of simulated ``Z2`` at or below the observed one
  (one-sided: only underestimation is rejected), critical value = their 5% quantile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

from ..errors import InputError
from ..market import MarketData
from ..risk.book import parse_book
from ..risk.model import ModelParams
from .causal import CausalRiskModel


@dataclass(frozen=True)
class BacktestBook:
    """A book of USD weights per asset (long > 0, short < 0), e.g. ``{"BTC": 1, "ETH": -1}``."""

    name: str
    weights: dict[str, float]


def default_books(assets: tuple[str, ...]) -> list[BacktestBook]:
    """One long book per asset, then three multi-asset books on what is available.

    - ``diversified``: equal long weights on every asset;
    - ``btc_eth_hedge``: long BTC, short ETH (same notional);
    - ``majors_vs_alts``: long BTC and ETH, short the other assets (net zero).
    """
    books = [BacktestBook(f"long_{a}", {a: 1.0}) for a in assets]
    books.append(BacktestBook("diversified", {a: 1.0 / len(assets) for a in assets}))
    if {"BTC", "ETH"} <= set(assets):
        books.append(BacktestBook("btc_eth_hedge", {"BTC": 1.0, "ETH": -1.0}))
        alts = [a for a in assets if a not in ("BTC", "ETH")]
        if alts:
            w = {"BTC": 0.5, "ETH": 0.5}
            w.update({a: -1.0 / len(alts) for a in alts})
            books.append(BacktestBook("majors_vs_alts", w))
    return books


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


@dataclass(frozen=True)
class VarTest:
    """Unconditional (Kupiec) and independence (Christoffersen) tests of VaR exceptions."""

    n: int
    exceptions: int
    expected: float
    kupiec_lr: float
    kupiec_p: float
    christoffersen_lr: float
    christoffersen_p: float
    conditional_coverage_p: float


def kupiec(exceptions: np.ndarray, p: float) -> tuple[float, float]:
    """Kupiec POF likelihood ratio and its chi2(1) p-value."""
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
    """Acerbi-Szekely Z2 with its simulated null distribution."""

    z2: float
    p_value: float
    critical_5pct: float
    n_sims: int


def z2_null(scenario_losses: list[np.ndarray], var: np.ndarray, es: np.ndarray, p: float,
            n_sims: int, seed: int) -> np.ndarray:
    """(n_sims,) Z2 under the model: day t's loss drawn uniformly from its scenario losses.

    ``scenario_losses[t]`` is day t's (S_t,) scenario losses (S_t may vary by day).
    """
    rng = np.random.default_rng(seed)
    T = len(scenario_losses)
    counts = np.array([len(s) for s in scenario_losses])
    padded = np.full((T, counts.max()), np.nan)
    for t, s in enumerate(scenario_losses):
        padded[t, :len(s)] = s
    idx = np.floor(rng.random((n_sims, T)) * counts).astype(int)        # uniform on 0..S_t-1
    sims = padded[np.arange(T), idx]                                     # (n_sims, T)
    hit = sims > var
    return 1.0 - (np.where(hit, sims, 0.0) / es).sum(axis=1) / (T * p)


def es_test(loss, var, es, scenario_losses, p: float, n_sims: int = 2000, seed: int = 0) -> EsTest:
    z = acerbi_szekely_z2(loss, var, es, p)
    null = z2_null(list(scenario_losses), np.asarray(var), np.asarray(es), p, n_sims, seed)
    return EsTest(z, float(np.mean(null <= z)), float(np.quantile(null, 0.05)), n_sims)


@dataclass(frozen=True)
class BookBacktest:
    """One book's daily forecasts and realisations (arrays over the T test days)."""

    book: BacktestBook
    dates: np.ndarray
    var: np.ndarray
    es: np.ndarray
    loss: np.ndarray
    exceptions: np.ndarray
    var_test: VarTest
    es_test: EsTest
    margin: np.ndarray = field(repr=False)
    loss_mpor: np.ndarray = field(repr=False)

    @property
    def margin_exceedances(self) -> int:
        """Days on which the realised MPOR loss exceeded the full-model ES margin."""
        ok = np.isfinite(self.loss_mpor) & np.isfinite(self.margin)
        return int((self.loss_mpor[ok] > self.margin[ok]).sum())

    def summary(self) -> dict:
        vt, et = self.var_test, self.es_test
        return {"book": self.book.name, "weights": self.book.weights, "days": vt.n,
                "exceptions": vt.exceptions, "expected": vt.expected,
                "kupiec_lr": vt.kupiec_lr, "kupiec_p": vt.kupiec_p,
                "christoffersen_lr": vt.christoffersen_lr, "christoffersen_p": vt.christoffersen_p,
                "conditional_coverage_p": vt.conditional_coverage_p,
                "es_z2": et.z2, "es_p": et.p_value, "es_critical_5pct": et.critical_5pct,
                "margin_exceedances": self.margin_exceedances,
                "mean_var": float(np.mean(self.var)), "mean_es": float(np.mean(self.es))}


@dataclass(frozen=True)
class BacktestReport:
    start: str
    end: str
    level: float
    assets: tuple[str, ...]
    books: tuple[BookBacktest, ...]
    refits: int
    margin_mpor_days: int

    def to_json(self) -> dict:
        return {"start": self.start, "end": self.end, "level": self.level,
                "assets": list(self.assets), "garch_refits": self.refits,
                "margin_mpor_days": self.margin_mpor_days,
                "books": [b.summary() for b in self.books]}


def eligible_assets(market: MarketData, start, params: ModelParams) -> tuple[str, ...]:
    """Assets with at least ``min_history + ewma_init`` returns before ``start``."""
    d = np.datetime64(start, "D")
    n = int(np.searchsorted(market.dates, d, side="right"))
    need = params.min_history + params.ewma_init
    return tuple(a for a in market.assets
                 if np.isfinite(market.closes[:n, market.index(a)]).sum() > need)


def run_backtest(market: MarketData, start, end, books: list[BacktestBook] | None = None,
                 params: ModelParams | None = None, refit: str = "month",
                 n_sims: int = 2000, seed: int = 0, margin: bool = True) -> BacktestReport:
    """Backtest ``books`` (default :func:`default_books`) on the days ``start..end``.

    ``params`` is the *margin* model's parameters (default :class:`ModelParams`); the
    VaR model is the same with ``mpor_days = 1`` and ``stress_weight = 0`` (see the
    module docstring). ``margin=False`` skips the margin-coverage check (half the
    model builds). Days whose next close is missing are skipped; every forecast uses
    only data up to its own day.
    """
    mp = params or ModelParams()
    p = replace(mp, mpor_days=1, stress_weight=0.0)
    src = market.source
    d0, d1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    if d1 < d0:
        raise InputError(src, f"{start}..{end}", "date", "backtest end is before its start")
    if books is None:
        assets = eligible_assets(market, start, p)
        books = default_books(assets)
    else:
        assets = tuple(dict.fromkeys(a for b in books for a in b.weights))
    for b in books:
        for a in b.weights:
            if a not in market.assets:
                raise InputError(src, f"book '{b.name}'", a, "not an asset of the market data")
    if not assets:
        raise InputError(src, str(start), "-", "no asset has enough history before the backtest start")
    book = parse_book({"instruments": [{"id": a, "kind": "spot", "underlying": a} for a in assets],
                       "collateral": [{"asset": "USD", "haircut": 0.0}], "accounts": []})
    causal = CausalRiskModel(market, book, p, refit)
    causal_margin = CausalRiskModel(market, book, mp, refit) if margin else None
    W = np.array([[b.weights.get(a, 0.0) for a in assets] for b in books])    # (B, U)
    cols = [market.index(a) for a in assets]
    closes = market.closes[:, cols]
    days = np.flatnonzero((market.dates >= d0) & (market.dates <= d1))
    days = [t for t in days if t + 1 < market.n_days and np.all(np.isfinite(closes[t + 1]))]
    if not days:
        raise InputError(src, f"{start}..{end}", "date", "no test day with a next close in the data")
    k_level = 1 - p.es_level
    rows = {"var": [], "es": [], "loss": [], "scen": [], "margin": [], "loss2": []}
    for t in days:
        rm = causal.at(market.dates[t])
        fhs = np.array([k == "fhs" for k in rm.scenarios.kinds])
        scen_loss = -(rm.returns[fhs] @ W.T).T                    # (B, S_f)
        k = max(1, math.ceil(k_level * fhs.sum() - 1e-9))
        top = -np.sort(-scen_loss, axis=1)[:, :k]
        rows["var"].append(top[:, -1])
        rows["es"].append(np.maximum(top.mean(axis=1), 1e-12))
        rows["scen"].append(scen_loss)
        rows["loss"].append(-(W @ (closes[t + 1] / closes[t] - 1.0)))
        # The margin: the full model (stress overlay, every scenario) at its MPOR.
        t2 = t + mp.mpor_days
        if causal_margin is None or t2 >= market.n_days:
            rows["margin"].append(np.full(len(books), np.nan))
            rows["loss2"].append(np.full(len(books), np.nan))
            continue
        rmm = causal_margin.at(market.dates[t])
        all_loss = -(rmm.returns @ W.T).T
        k2 = max(1, math.ceil(k_level * all_loss.shape[1] - 1e-9))
        rows["margin"].append(np.maximum(-np.sort(-all_loss, axis=1)[:, :k2].mean(axis=1), 0.0))
        rows["loss2"].append(-(W @ (closes[t2] / closes[t] - 1.0)))
    var, es, loss = (np.array(rows[x]).T for x in ("var", "es", "loss"))       # (B, T)
    margin, loss2 = np.array(rows["margin"]).T, np.array(rows["loss2"]).T
    dates = market.dates[days]
    out = []
    for b, bk in enumerate(books):
        scen = [s[b] for s in rows["scen"]]                       # T arrays of (S_f,)
        exc = loss[b] > var[b]
        out.append(BookBacktest(bk, dates, var[b], es[b], loss[b], exc,
                                var_test(exc, k_level),
                                es_test(loss[b], var[b], es[b], scen, k_level, n_sims, seed + b),
                                margin[b], loss2[b]))
    return BacktestReport(str(dates[0]), str(dates[-1]), p.es_level, assets, tuple(out),
                          len(causal.refit_log), mp.mpor_days)
