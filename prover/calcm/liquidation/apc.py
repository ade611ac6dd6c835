"""The anti-procyclicality (APC) report: how the variance floor damps margin swings.

For fixed unit-gross books (:data:`APC_BOOKS`: long BTC, long ETH, diversified,
BTC/ETH hedge; :func:`calcm.liquidation.backtest_books.default_books`) the daily
requirement ``ES_99 + add-on`` over the MPOR is computed causally
(:class:`~calcm.liquidation.causal.CausalRiskModel`: GARCH refit monthly, the
recursion daily), once with the published APC floor (``apc = "floor"``:
``V = max(V_h, h var_floor)``, EMIR RTS 153/2013 Art. 28(1)(c)) and once without
(``V = V_h``), and with Art. 28(1)(b)'s stressed weight (``apc = "stress"``:
``V = (1 - w) V_h + w h var_stress``). All come from ONE causal build per day: the APC tool
changes neither the fits nor the scenario z-vectors, only the h-day variance, so the other
variants' returns are ``ScenarioSet.returns(sqrt(V))`` on the same build (a test checks they
equal builds with ``apc = "none"`` and ``"stress"``). Other settings of the tools (``grid``,
:mod:`calcm.liquidation.apc_frontier`) are evaluated the same way.

Per window and book: ``swing_n = max_t req[t] / req[t - n]`` for n in :data:`WINDOWS`
(the largest n-day rise, "peak-to-trough" in the APC sense), and the mean over days of
``req_floor / req_none`` and ``req_stress / req_none`` (the cost of the tool). Requirements are per USD of gross.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from ..market import MarketData
from ..risk.book import parse_book
from ..risk.liquidity import execution_cost
from ..risk.model import ModelParams, apc_var_floor, apc_var_stress, horizon_variance
from .backtest import eligible_assets
from .backtest_books import BookLosses, default_books
from .causal import CausalRiskModel

APC_BOOKS = ("long_BTC", "long_ETH", "diversified", "btc_eth_hedge")
WINDOWS = (1, 5, 30)


@dataclass(frozen=True)
class ApcWindow:
    """One window: dates (T,), requirements (B, T) without APC, with the floor, with the stressed weight."""

    name: str
    start: str
    end: str
    assets: tuple[str, ...]
    books: tuple[str, ...]
    dates: np.ndarray
    req_none: np.ndarray
    req_floor: np.ndarray
    req_stress: np.ndarray
    windows: tuple[int, ...]
    first: int                 # index of the first day the window's metrics count
    grid: dict = field(default_factory=dict)   # setting name -> (B, T) requirements (apc_frontier)

    def swing(self, req: np.ndarray, n: int) -> np.ndarray:
        """(B,) ``max_t req[t] / req[t - n]`` over the counted days ``t >= max(first, n)``."""
        lo = max(self.first, n)
        if lo >= req.shape[1]:
            return np.full(req.shape[0], np.nan)
        return np.max(req[:, lo:] / req[:, lo - n:req.shape[1] - n], axis=1)

    def summary(self) -> dict:
        out = {}
        sl = slice(self.first, None)
        reqs = {"none": self.req_none, "floor": self.req_floor, "stress": self.req_stress}
        for b, name in enumerate(self.books):
            out[name] = {f"swing_{k}": {str(n): float(self.swing(r, n)[b]) for n in self.windows}
                         for k, r in reqs.items()}
            for k in ("floor", "stress"):
                out[name][f"mean_ratio_{k}_to_none"] = float(np.mean(reqs[k][b, sl] / self.req_none[b, sl]))
            out[name].update({f"mean_req_{k}": float(np.mean(r[b, sl])) for k, r in reqs.items()})
        return {"window": self.name, "start": self.start, "end": self.end, "assets": list(self.assets),
                "days": int(len(self.dates) - self.first), "books": out}


def _day_variances(rm, market: MarketData, params: ModelParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U,) x 3 in scenario-asset order at ``rm``: the GARCH h-day variance ``V_h``, the floor's
    daily variance at weight 1, and the stressed daily variance (from ``market`` up to ``rm.asof``)."""
    assets, m = rm.scenarios.assets, market.upto(rm.asof)
    vh = np.array([rm.fits[a].mpor_variance(rm.params.mpor_days) for a in assets])
    unit = apc_var_floor(m, assets, replace(params, apc="floor", apc_floor_weight=1.0))
    return vh, unit, apc_var_stress(m, assets, replace(params, apc="stress"))


def _returns_with(rm, variances, params: ModelParams) -> np.ndarray:
    """(S, U) scenario returns of ``rm`` (built with the floor) under the APC tool of ``params``
    instead (:func:`horizon_variance`), from :func:`_day_variances`; underlyings order."""
    vh, unit, vs = variances
    floor = params.apc_floor_weight * unit if params.apc == "floor" else np.zeros(len(vh))
    v = horizon_variance(vh, params, floor, vs if params.apc == "stress" else np.zeros(len(vh)))
    return rm.scenarios.returns(np.sqrt(v))[:, rm.scenario_columns]


def requirements(rm, losses: BookLosses, W_usd: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """(B,) ``ES + add-on`` per book at ``rm`` for scenario ``returns`` (S, U): ES the mean of the
    ``k`` largest scenario losses (the margin's k), the add-on :func:`execution_cost` of the
    books' USD deltas ``W_usd`` (B, U) at the model's ADV and liquidity weights."""
    loss = losses.scenario(returns, rm.vol_shock, rm.skew_shock, rm.sigma, rm.params.mpor_days)
    k = rm.params.margin_params.k_tail(loss.shape[1])
    es = np.maximum(-np.sort(-loss, axis=1)[:, :k].mean(axis=1), 0.0)
    addon = execution_cost(W_usd, rm.adv, rm.margin_model.liquidity_weight).sum(axis=1)
    return es + addon


def run_window(market: MarketData, name: str, start, end, params: ModelParams | None = None,
               windows=WINDOWS, assets: tuple[str, ...] | None = None, refit: str = "month",
               grid: dict[str, ModelParams] | None = None) -> ApcWindow:
    """Requirements without APC, with the floor and with the stressed weight on the days
    ``start - max(windows) .. end``.

    ``assets`` (default: every asset with enough history at the warm-up start,
    :func:`~calcm.liquidation.backtest.eligible_assets`) is the model's universe; BTC and
    ETH must be in it. Days before ``start`` only serve as the swings' references. ``grid``
    (name -> parameters of another APC setting, :func:`calcm.liquidation.apc_frontier.variance_grid`)
    adds those settings' requirements, from the same builds, to :attr:`ApcWindow.grid`.
    """
    p = replace(params or ModelParams(), apc="floor")
    d0, d1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    warm = d0 - np.timedelta64(max(windows), "D")
    uni = tuple(assets) if assets else eligible_assets(market, warm, p)
    if not {"BTC", "ETH"} <= set(uni):
        raise InputError(market.source, f"window {name}", "BTC,ETH",
                         f"need BTC and ETH with {p.min_history + p.ewma_init} returns before {warm}")
    books = [b for b in default_books(uni) if b.name in APC_BOOKS]
    shell = parse_book({"instruments": [{"id": a, "kind": "spot", "underlying": a} for a in uni],
                        "collateral": [{"asset": "USD", "haircut": 0.0}], "accounts": []})
    causal = CausalRiskModel(market, shell, p, refit)
    bl = BookLosses(books, uni)
    days = np.flatnonzero((market.dates >= warm) & (market.dates <= d1))
    if len(days) < 2:
        raise InputError(market.source, f"window {name}", "date", f"no data in {warm}..{d1}")
    grid = grid or {}
    none, floor, stress = (np.empty((len(books), len(days))) for _ in range(3))
    extra = {k: np.empty((len(books), len(days))) for k in grid}
    for j, t in enumerate(days):
        rm = causal.at(market.dates[t])
        var = _day_variances(rm, market, p)
        floor[:, j] = requirements(rm, bl, bl.W, rm.returns)
        none[:, j] = requirements(rm, bl, bl.W, _returns_with(rm, var, replace(p, apc="none")))
        stress[:, j] = requirements(rm, bl, bl.W, _returns_with(rm, var, replace(p, apc="stress")))
        for k, q in grid.items():
            extra[k][:, j] = requirements(rm, bl, bl.W, _returns_with(rm, var, q))
    dates = market.dates[days]
    first = int(np.searchsorted(dates, d0))
    return ApcWindow(name, str(d0), str(d1), uni, tuple(b.name for b in books), dates, none, floor, stress,
                     tuple(windows), first, extra)


def first_eligible(market: MarketData, params: ModelParams, need=("BTC", "ETH")) -> np.datetime64:
    """The first date at which every asset of ``need`` has ``min_history + ewma_init`` returns
    (plus :data:`WINDOWS`' warm-up), so that a window starting there can be built; an InputError
    (file, ``window full``, the asset) when one is missing or has too few closes."""
    n = params.min_history + params.ewma_init + 1
    idx = []
    for a in need:
        ok = np.flatnonzero(np.isfinite(market.closes[:, market.index(a)])) if a in market.assets else ()
        if len(ok) <= n:
            raise InputError(market.source, "window full", a, f"{len(ok)} closes; the full window needs more than {n}")
        idx.append(int(ok[n]))
    return market.dates[max(idx)] + np.timedelta64(max(WINDOWS) + 1, "D")
