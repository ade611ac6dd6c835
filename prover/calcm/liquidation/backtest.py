"""Rolling VaR / ES backtests of the risk model on real history, at several levels.

For each forecast day ``t`` the model is built causally at the close of ``t``
(:class:`~calcm.liquidation.causal.CausalRiskModel`; GARCH re-estimated monthly,
daily, or once, the recursion run daily; ``mpor_days = 1``) and predicts the next
day's loss of every book (:mod:`.backtest_books`):

- predictive distribution: the model's filtered-historical-simulation scenarios
  (``kind == "fhs"``), one-day returns ``R`` (S_f, U) and vol shocks (S_f,);
- at each level ``a`` (default 97.5% and 99%), ``k = ceil((1 - a) S_f)``:
  ``VaR_t`` = the k-th largest scenario loss, ``ES_t`` = the mean of the k largest
  (the margin module's definitions);
- realised loss ``L_{t+1}`` from the closes of t and t+1; exception ``L_{t+1} > VaR_t``.

Tests (:mod:`.backtest_tests`, every one two-sided): Kupiec POF, Christoffersen
independence and conditional coverage, Acerbi-Szekely Z2 with its null simulated
under the model's own predictive distributions.

What is tested: the risk model has a *statistical forecast* (GJR-GARCH-t vols,
EWMA correlation, FHS) and a *stress overlay* (correlation blended toward one,
worst-day, crash and breakdown scenarios) that makes the margin conservative by
design. A VaR/ES backtest checks the forecast, so the tested model is the causal
model with ``stress_weight = 0`` and only its FHS scenarios. The margin itself
(full model, all scenarios, at the published level and MPOR) is checked separately
when ``margin=True``: ``margin_exceedances`` counts days whose realised MPOR loss
exceeded the margin.

Fit and test windows: :func:`calcm.market.join_fit_test` joins a fit file and a
test file; the first forecast is made at the fit window's last close, so every
realisation lies in the test file. ``refit="once"`` estimates GARCH once, on the
fit window, and only runs the recursion over the test window (strictly out of
sample); ``"month"``/``"day"`` re-estimate on the data up to each forecast day.

Fits: every GARCH estimation is logged per asset with arch's convergence flag; a
fit that did not converge is *used as estimated and reported* (``fits`` in the
JSON), never replaced; a fit arch returns with invalid parameters is an error
naming the asset and date.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from ..market import MarketData, check_history
from ..risk.book import parse_book
from ..risk.model import ModelParams
from ..risk.volatility import VolatilityFit, garch_update
from .backtest_books import BacktestBook, BookLosses, OptionLeg, default_books, random_books
from .backtest_tests import (TEST_SIZE, EsTest, VarTest, Z2Null, acerbi_szekely_z2, christoffersen,
                             es_test, kupiec, transition_counts, var_test, z2_null)
from .causal import CausalRiskModel

__all__ = ["BacktestBook", "OptionLeg", "default_books", "random_books", "EsTest", "VarTest",
           "acerbi_szekely_z2", "christoffersen", "es_test", "kupiec", "transition_counts", "var_test",
           "z2_null", "LevelBacktest", "BookBacktest", "FitRecord", "BacktestReport", "eligible_assets",
           "run_backtest", "DEFAULT_LEVELS", "REFITS"]

#: Levels backtested by default (the two ES levels a CCP reports: 97.5% and 99%).
DEFAULT_LEVELS = (0.975, 0.99)
REFITS = ("month", "day", "once")


def check_level(level: float, what: str = "--es-level") -> float:
    """``0.5 <= level < 1`` or a one-line :class:`InputError`."""
    if not (isinstance(level, (int, float)) and 0.5 <= level < 1):
        raise InputError(what, str(level), "es_level", "must satisfy 0.5 <= level < 1")
    return float(level)


@dataclass(frozen=True)
class LevelBacktest:
    """One book at one level: forecasts (T,) and the test results."""

    level: float
    var: np.ndarray
    es: np.ndarray
    exceptions: np.ndarray
    var_test: VarTest
    es_test: EsTest

    def summary(self) -> dict:
        vt, et = self.var_test, self.es_test
        return {"level": self.level, "exceptions": vt.exceptions, "expected": vt.expected,
                "var_direction": vt.direction, "kupiec_lr": vt.kupiec_lr, "kupiec_p": vt.kupiec_p,
                "christoffersen_lr": vt.christoffersen_lr, "christoffersen_p": vt.christoffersen_p,
                "conditional_coverage_p": vt.conditional_coverage_p,
                "es_z2": et.z2, "es_p": et.p_value, "es_p_aggressive": et.p_aggressive,
                "es_p_conservative": et.p_conservative, "es_direction": et.direction,
                "es_critical_5pct": et.critical_5pct,
                "rejected": {"kupiec": vt.kupiec_p < TEST_SIZE, "christoffersen": vt.christoffersen_p < TEST_SIZE,
                             "conditional_coverage": vt.conditional_coverage_p < TEST_SIZE,
                             "acerbi_szekely": et.p_value < TEST_SIZE},
                "mean_var": float(np.mean(self.var)), "mean_es": float(np.mean(self.es))}


@dataclass(frozen=True)
class BookBacktest:
    """One book's realisations (T,) and its results per level."""

    book: BacktestBook
    dates: np.ndarray
    loss: np.ndarray
    levels: tuple[LevelBacktest, ...]
    margin: np.ndarray = field(repr=False)
    loss_mpor: np.ndarray = field(repr=False)

    def at(self, level: float) -> LevelBacktest:
        for lv in self.levels:
            if abs(lv.level - level) < 1e-12:
                return lv
        raise KeyError(level)

    @property
    def margin_exceedances(self) -> int | None:
        """Days on which the realised MPOR loss exceeded the full-model ES margin (None: not run)."""
        ok = np.isfinite(self.loss_mpor) & np.isfinite(self.margin)
        return int((self.loss_mpor[ok] > self.margin[ok]).sum()) if ok.any() else None

    def summary(self) -> dict:
        return {**self.book.to_json(), "days": len(self.dates),
                "levels": {f"{lv.level:g}": lv.summary() for lv in self.levels},
                "margin_exceedances": self.margin_exceedances}


@dataclass(frozen=True)
class FitRecord:
    """One GARCH estimation: when, which asset, arch's convergence flag, the fitted shape."""

    asof: str
    asset: str
    converged: bool
    persistence: float
    nu: float


@dataclass(frozen=True)
class BacktestReport:
    start: str
    end: str
    levels: tuple[float, ...]
    assets: tuple[str, ...]
    books: tuple[BookBacktest, ...]
    fits: tuple[FitRecord, ...]
    refit: str
    margin_level: float
    margin_mpor_days: int
    n_sims: int
    seed: int
    source: str

    @property
    def refits(self) -> int:
        return len(self.fits)

    def fit_summary(self) -> dict:
        """Per asset: number of estimations, the dates that did not converge, max persistence, min nu."""
        out = {}
        for a in self.assets:
            rs = [f for f in self.fits if f.asset == a]
            out[a] = {"estimations": len(rs), "not_converged": [f.asof for f in rs if not f.converged],
                      "max_persistence": max((f.persistence for f in rs), default=float("nan")),
                      "min_nu": min((f.nu for f in rs), default=float("nan"))}
        return out

    def rejections(self) -> dict:
        """``{level: {test: [book, ...]}}``: the books each test rejects at 5%, two-sided."""
        out = {}
        for lv in self.levels:
            rej: dict[str, list[str]] = {}
            for b in self.books:
                for test, r in b.at(lv).summary()["rejected"].items():
                    if r:
                        rej.setdefault(test, []).append(b.book.name)
            out[f"{lv:g}"] = rej
        return out

    def to_json(self) -> dict:
        return {"source": self.source, "start": self.start, "end": self.end, "levels": list(self.levels),
                "assets": list(self.assets), "refit": self.refit, "garch_estimations": self.refits,
                "fits": self.fit_summary(), "n_sims": self.n_sims, "seed": self.seed,
                "test_size": TEST_SIZE, "margin_level": self.margin_level,
                "margin_mpor_days": self.margin_mpor_days, "rejections": self.rejections(),
                "books": [b.summary() for b in self.books]}


class _LoggedCausalModel(CausalRiskModel):
    """The causal model, logging every GARCH estimation (``once``: one per asset, ever)."""

    def __init__(self, market, book, params, refit: str):
        super().__init__(market, book, params, "month" if refit == "once" else refit)
        self.once = refit == "once"
        self.fit_log: list[FitRecord] = []

    def _period(self, d: np.datetime64) -> np.datetime64:
        return np.datetime64(0, "M") if self.once else super()._period(d)

    def at(self, asof):
        """As the base class, keeping only the latest model (forecast days only go forward)."""
        d = np.datetime64(asof, "D")
        if d not in self._built:
            self._built.clear()
        return super().at(d)

    def _fitter(self, asof: np.datetime64):
        inner = super()._fitter(asof)

        def fit(asset: str, returns: np.ndarray) -> VolatilityFit:
            n = len(self.refit_log)
            f = inner(asset, returns)   # a failed fit: risk.model reports it as an InputError
            if len(self.refit_log) > n:
                self.fit_log.append(FitRecord(str(asof), asset, bool(f.converged),
                                              float(f.params.persistence), float(f.params.nu)))
            return f
        return fit


def eligible_assets(market: MarketData, start, params: ModelParams) -> tuple[str, ...]:
    """Assets with more than ``min_history + ewma_init`` returns up to ``start``.

    Two kinds of listed asset are left out of this default universe, each named in one
    ``DataFallbackWarning`` line (a CCP's validator must see what a run did not cover): one
    listed too recently (fewer returns than that), and one whose close never moved up to
    ``start`` (every return 0: a pegged stablecoin column), which has no volatility to estimate
    and would fail every model build that included it (a book that names it still fails, one line).
    No note when nothing is eligible: the caller's one-line error says so.
    """
    d = np.datetime64(start, "D")
    n = int(np.searchsorted(market.dates, d, side="right"))
    need = params.min_history + params.ewma_init
    out, flat, short = [], [], []
    for a in market.assets:
        c = market.closes[:n, market.index(a)]
        c = c[np.isfinite(c)]
        if len(c) > need:
            (flat if np.all(c == c[0]) else out).append(a)
        elif len(c):
            short.append(f"{a} ({max(len(c) - 1, 0)})")
    notes = []
    if short:
        notes.append(f"{', '.join(short)}: fewer than {need + 1} returns (min_history + ewma_init + 1) up to "
                     "this date: left out of the default books")
    if flat:
        notes.append(f"{', '.join(flat)}: constant close (every return 0 up to this date, a pegged asset): "
                     "no volatility to model, left out of the default books")
    if notes and out:
        import warnings

        from ..errors import DataFallbackWarning
        for note in notes:
            warnings.warn(f"{market.source}: asof {d}: {note}", DataFallbackWarning, stacklevel=2)
    return tuple(out)


def _tail(sorted_desc: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(VaR (B,), ES (B,)) from losses sorted descending (B, S) (k = ceil((1 - level) S))."""
    k = max(1, math.ceil((1 - level) * sorted_desc.shape[1] - 1e-9))
    return sorted_desc[:, k - 1], np.maximum(sorted_desc[:, :k].mean(axis=1), 1e-12)


def _sigma_after(rm, assets, closes: np.ndarray) -> np.ndarray:
    """(U,) one-day vols after the realised closes (h+1, U): day t's GARCH run over them."""
    out = np.empty(len(assets))
    for u, a in enumerate(assets):
        f = rm.fits[a]
        s2 = f.sigma2_next
        for r in closes[1:, u] / closes[:-1, u] - 1.0:
            s2 = garch_update(f.params, s2, float(r))
        out[u] = np.sqrt(s2)
    return out


def run_backtest(market: MarketData, start, end, books: list[BacktestBook] | None = None,
                 params: ModelParams | None = None, refit: str = "month", n_sims: int = 2000,
                 seed: int = 0, margin: bool = True, levels=DEFAULT_LEVELS) -> BacktestReport:
    """Backtest ``books`` (default :func:`default_books`) with forecasts on the days ``start..end``.

    ``params`` is the *margin* model's parameters (default :class:`ModelParams`); the
    tested model is the same with ``mpor_days = 1`` and ``stress_weight = 0`` (module
    docstring). ``margin=False`` skips the margin check (half the model builds).
    Every forecast uses only data up to its own day; a forecast day needs the next close.
    """
    levels = tuple(sorted({check_level(x, "levels") for x in levels}))
    if refit not in REFITS:
        raise ValueError(f"refit must be one of {REFITS}, got {refit!r}")
    mp = params or ModelParams()
    p = replace(mp, mpor_days=1, stress_weight=0.0)
    src = market.source
    d0, d1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    if d1 < d0:
        raise InputError(src, f"{start}..{end}", "date", "backtest end is before its start")
    if books is None:
        assets = eligible_assets(market, start, p)
        if not assets:
            raise InputError(src, f"asof {d0}", "-", "no asset has enough history before the backtest start")
        books = default_books(assets)
    else:
        assets = tuple(dict.fromkeys(a for b in books for a in b.assets))
        for b in books:
            for a in b.assets:
                if a not in market.assets:
                    raise InputError(src, f"book '{b.name}'", a, "not an asset of the market data")
    check_history(market, assets, p.min_history, asof=d0)
    book = parse_book({"instruments": [{"id": a, "kind": "spot", "underlying": a} for a in assets],
                       "collateral": [{"asset": "USD", "haircut": 0.0}], "accounts": []})
    causal = _LoggedCausalModel(market, book, p, refit)
    causal_margin = _LoggedCausalModel(market, book, mp, refit) if margin else None
    bl = BookLosses(books, assets)
    B = len(books)
    closes = market.closes[:, [market.index(a) for a in assets]]
    days = np.flatnonzero((market.dates >= d0) & (market.dates <= d1))
    days = [t for t in days if t + 1 < market.n_days and np.all(np.isfinite(closes[t + 1]))]
    if not days:
        raise InputError(src, f"{start}..{end}", "date", "no forecast day with a next close in the data")
    urng = np.random.default_rng(seed)
    nulls = [Z2Null(B, 1 - lv, n_sims, seed) for lv in levels]
    var = np.empty((len(levels), B, len(days)))
    es = np.empty_like(var)
    loss = np.empty((B, len(days)))
    marg = np.full((B, len(days)), np.nan)
    loss2 = np.full((B, len(days)), np.nan)
    h = mp.mpor_days
    for j, t in enumerate(days):
        rm = causal.at(market.dates[t])
        fhs = np.array([k == "fhs" for k in rm.scenarios.kinds])
        scen = bl.scenario(rm.returns[fhs], rm.vol_shock[fhs], rm.skew_shock[fhs], rm.sigma)   # (B, S_f)
        desc = -np.sort(-scen, axis=1)
        after = _sigma_after(rm, assets, closes[t:t + 2]) if bl.legs else None
        loss[:, j] = bl.realised(closes[t + 1] / closes[t] - 1.0, rm.sigma, 1, after)
        u = urng.random(n_sims)
        for i, lv in enumerate(levels):
            var[i, :, j], es[i, :, j] = _tail(desc, lv)
            nulls[i].add(scen, var[i, :, j], es[i, :, j], u)
        if causal_margin is None or t + h >= market.n_days:
            continue
        rmm = causal_margin.at(market.dates[t])
        all_loss = bl.scenario(rmm.returns, rmm.vol_shock, rmm.skew_shock, rmm.sigma, h)
        marg[:, j] = np.maximum(_tail(-np.sort(-all_loss, axis=1), mp.es_level)[1], 0.0)
        after = _sigma_after(rmm, assets, closes[t:t + h + 1]) if bl.legs else None
        loss2[:, j] = bl.realised(closes[t + h] / closes[t] - 1.0, rmm.sigma, h, after)
    dates = market.dates[days]
    z2null = [n.z2() for n in nulls]
    out = []
    for b, bk in enumerate(books):
        lvs = []
        for i, lv in enumerate(levels):
            exc = loss[b] > var[i, b]
            z = acerbi_szekely_z2(loss[b], var[i, b], es[i, b], 1 - lv)
            lvs.append(LevelBacktest(lv, var[i, b], es[i, b], exc, var_test(exc, 1 - lv),
                                     EsTest.from_null(z, z2null[i][b])))
        out.append(BookBacktest(bk, dates, loss[b], tuple(lvs), marg[b], loss2[b]))
    fits = tuple(causal.fit_log)
    return BacktestReport(str(dates[0]), str(dates[-1]), levels, assets, tuple(out), fits, refit,
                          mp.es_level, h, n_sims, seed, src)
