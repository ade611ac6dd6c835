"""The risk model re-estimated causally, day by day, for replays and backtests.

At each date ``asof`` the model sees only closes up to and including ``asof``
(:meth:`calcm.market.MarketData.upto`) and forecasts the next day. GARCH
parameters are re-estimated on the first ``asof`` of every calendar month
(``refit="month"``) or every day (``refit="day"``); in between, the parameters
stay fixed and the conditional variance is rolled forward by the pure recursion
(:func:`calcm.risk.volatility.filter_variance`) over the new returns, which is
exactly what the per-block model update does. Correlation, scenarios and the
P&L matrix are rebuilt daily from the same causal data.
"""
from __future__ import annotations

import numpy as np

from ..market import MarketData
from ..risk.book import Book
from ..risk.model import ModelParams, RiskModel, build_risk_model
from ..risk.volatility import VolatilityFit, filter_variance, volatility_model

REFITS = ("month", "day")


class CausalRiskModel:
    """Builds :class:`~calcm.risk.model.RiskModel` s at increasing dates without look-ahead.

    market:  the full history (only the part up to each ``asof`` is ever read).
    book:    instruments and collateral (its accounts are not used here).
    params:  model parameters.
    refit:   ``"month"`` (default) or ``"day"``: when GARCH parameters are re-estimated.
    """

    def __init__(self, market: MarketData, book: Book, params: ModelParams | None = None,
                 refit: str = "month"):
        if refit not in REFITS:
            raise ValueError(f"refit must be one of {REFITS}, got {refit!r}")
        self.market, self.book = market, book
        self.params = params or ModelParams()
        self.refit = refit
        self._vm = volatility_model(self.params.vol_model, self.params.persistence_cap)
        self._fits: dict[str, tuple[np.datetime64, np.ndarray, VolatilityFit]] = {}
        self.refit_log: list[tuple[str, str]] = []   # (asof, asset) of every re-estimation
        self._built: dict[np.datetime64, RiskModel] = {}

    def _period(self, d: np.datetime64) -> np.datetime64:
        return d.astype("datetime64[M]") if self.refit == "month" else d

    def _fitter(self, asof: np.datetime64):
        def fit(asset: str, returns: np.ndarray) -> VolatilityFit:
            prev = self._fits.get(asset)
            if prev is not None:
                when, seen, old = prev
                same_start = len(returns) >= len(seen) and np.array_equal(returns[:len(seen)], seen)
                if self._period(when) == self._period(asof) and same_start:
                    return refilter(old, returns)
            new = self._vm.fit(returns)
            self._fits[asset] = (asof, np.array(returns), new)
            self.refit_log.append((str(asof), asset))
            return new
        return fit

    def at(self, asof) -> RiskModel:
        """The risk model at the close of ``asof``.

        Built models are kept, so several regimes replaying the same days share them;
        a date before the latest refit would need an older fit, so new dates must not
        go backwards.
        """
        d = np.datetime64(asof, "D")
        if d not in self._built:
            self._built[d] = build_risk_model(self.market, self.book, self.params, asof=d,
                                              fitter=self._fitter(d))
        return self._built[d]


def refilter(fit: VolatilityFit, returns: np.ndarray) -> VolatilityFit:
    """The same parameters run over a longer series that starts with the fitted one.

    The variance path starts from the fit's own ``sigma2[0]``, so it reproduces the
    fitted path on the common prefix and extends it by the recursion.
    """
    r = np.asarray(returns, float)
    sigma2 = filter_variance(fit.params, r, float(fit.sigma2[0]))
    return VolatilityFit(fit.model, fit.params, sigma2, r / np.sqrt(sigma2[:-1]), fit.backcast,
                         float("nan"), fit.converged)
