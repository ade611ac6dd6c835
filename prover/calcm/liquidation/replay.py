"""Replay one price window under several regimes on the same book and causal model."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..market import MarketData
from ..risk.book import Book
from ..risk.model import ModelParams
from .causal import CausalRiskModel
from .results import SimParams, SimulationResult
from .simulate import simulate


def run_replay(market: MarketData, start, end, regimes=("static", "siloed", "calcm"),
               book: Book | None = None, seed: int = 0, n_accounts: int | None = None,
               params: SimParams | None = None,
               model_params: ModelParams | None = None) -> tuple[Book, dict[str, SimulationResult]]:
    """Run one or more regimes on the same book and the same causal model.

    Without ``book``, a synthetic book (:func:`calcm.liquidation.synthetic.synthetic_book`)
    is drawn from ``seed`` at the close before ``start`` on the assets with enough history.
    """
    from .backtest import eligible_assets
    from .synthetic import SyntheticParams, synthetic_book

    mp = model_params or ModelParams()
    d0 = np.datetime64(start, "D")
    k = int(np.searchsorted(market.dates, d0, side="left"))
    if k == 0 or k >= market.n_days:
        raise InputError(market.source, str(start), "date", "replay start must be inside the data, after its first row")
    asof = market.dates[k - 1]
    if book is None:
        assets = eligible_assets(market, asof, mp)
        if len(assets) < 2:
            raise InputError(market.source, str(asof), "-",
                             "fewer than two assets with enough history for a synthetic book")
        sp = SyntheticParams() if n_accounts is None else SyntheticParams(n_accounts=n_accounts)
        book = synthetic_book(market, asof, assets, seed, sp, mp)
    causal = CausalRiskModel(market, book, mp)
    return book, {r: simulate(market, book, r, start, end, params, mp, causal) for r in regimes}
