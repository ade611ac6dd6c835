"""The published model: the one fixed-point margin model that ``calcm margin`` prints and every proof uses.

docs/PROVING.md §1. From the float risk model (:func:`calcm.risk.model.build_risk_model`)
at its date ``T``:

1. ``ModelParamsFx`` over the FULL scenario set (no subset, no refit), with
   ``k = ceil((1 - es_level) S)`` (:func:`calcm.risk.modelfx.params_from_risk_model`);
2. the genesis state (GARCH variance of day T's return, the close of T-1);
3. one daily step with the closes of T (:func:`calcm.risk.modelfx.update`), whose
   :class:`~calcm.risk.fixed_margin.MarginModelFx` (v2) is the published margin model.

Every account's published MM, IM, equity and tier is :func:`~calcm.risk.fixed_margin.margin_fx`
on that model, bit for bit what the margin circuit proves. The collateral haircuts are the
publication's integers (:mod:`calcm.risk.haircuts`, ``ModelParams.risk_haircuts`` on by default):
published parameters in the common leaf that the margin circuit takes as inputs, and the very
``bps / 10^4`` the float model uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..fixedpoint import PRICE_SCALE, FixedPointRangeError
from ..market import MarketData
from .book import Book
from .fixed_margin import MarginModelFx
from .model import ModelParams, RiskModel, build_risk_model


@dataclass(frozen=True, eq=False)
class PublishedModel:
    """The float risk model, its fixed-point parameters, genesis state and the published margin model."""

    risk: RiskModel
    params: object          # calcm.risk.modelfx.ModelParamsFx
    genesis: object         # calcm.risk.modelfx.ModelStateFx of day T-1 (what a model file holds)
    state: object           # the state after the step to T
    model: MarginModelFx

    @cached_property
    def lin_commitment(self) -> int:
        from ..poseidon import lin_commitment
        return lin_commitment(self.model)

    @cached_property
    def opt_commitment(self) -> int:
        from ..poseidon import opt_commitment
        return opt_commitment(self.model)

    @cached_property
    def param_hash(self) -> int:
        return self.params.param_hash()

    def summary(self) -> dict:
        """JSON-ready identity of the published model (hashes as decimal strings)."""
        return {"structure": self.model.structure(), "structure_id": str(self.model.structure_id),
                "lin_commitment": str(self.lin_commitment), "opt_commitment": str(self.opt_commitment),
                "param_hash": str(self.param_hash)}


#: The smallest close (USD) the published model takes: its price quantum 1 / PRICE_SCALE
#: (1e-6 USD) is then at most 1% of the price. Below it the fixed-point prices, returns and
#: per-unit P&L are too coarse to track the float model (a 3e-6 USD close is 3 quanta; a 2-day
#: 99% move of one unit rounds to a quantum or to 0), so the published margin would be wrong
#: by more than its move. Such an asset is quoted per 1,000 or 1,000,000 units (1000PEPE).
#: The smallest closes on record here: fixtures/market.csv DOGE 0.0009, the real 2017-23
#: history DOGE 0.00158 (2020-03-16); so no published number on them changes.
MIN_PUBLISHED_PRICE = 100 / PRICE_SCALE


def check_price_resolution(market: MarketData, assets, asof) -> None:
    """The closes of ``asof`` and the day before (the published model's step) of each of
    ``assets`` are at least :data:`MIN_PUBLISHED_PRICE`; else the one-line InputError naming
    the file, the date and the asset's column."""
    t = int(np.searchsorted(market.dates, np.datetime64(asof, "D")))
    for a in assets:
        if a not in market.assets:
            continue   # a stablecoin collateral: priced at 1 USD
        for k in (t - 1, t):
            px = market.closes[k, market.index(a)] if 0 <= k < market.n_days else np.nan
            if px < MIN_PUBLISHED_PRICE:
                raise InputError(market.source, f"asof {market.dates[k]}", a,
                                 f"close {px:.3g} USD is below the published model's price resolution "
                                 f"(>= {MIN_PUBLISHED_PRICE:g} USD, quantum {1 / PRICE_SCALE:g}): quote "
                                 "the asset per 1,000 or 1,000,000 units (e.g. 1000PEPE)")


def published_model(market: MarketData, book: Book, params: ModelParams | None = None, asof=None,
                    risk: RiskModel | None = None, chunks: int | None = None) -> PublishedModel:
    """The published model of ``book`` on ``market`` at ``asof`` (see the module docstring).

    ``risk``: an already built float model of the same inputs (saves refitting).
    ``chunks``: C, the scenario chunks of the option parts (docs/PROVING.md §2; default
    :func:`calcm.risk.modelfx.default_chunks` of the scenario count).
    """
    from . import modelfx

    p = params or ModelParams()
    rm = risk if risk is not None else build_risk_model(market, book, p, asof)
    check_price_resolution(market, list(rm.underlyings) + list(book.collateral_assets), rm.asof)
    try:
        fx_params = modelfx.params_from_risk_model(rm, book, chunks=chunks)
        state, prices = modelfx.genesis(rm, market)
        up = modelfx.update(state, prices, fx_params)
    except FixedPointRangeError as exc:
        raise _range_error(market, rm, exc) from None
    S = rm.scenarios.n_scenarios
    if fx_params.n_scenarios != S or fx_params.k_tail != rm.params.margin_params.k_tail(S):
        raise ValueError(f"published parameters have S={fx_params.n_scenarios}, k={fx_params.k_tail}; "
                         f"the float model has S={S}, k={rm.params.margin_params.k_tail(S)}")
    return PublishedModel(rm, fx_params, state, getattr(up, "state", None), up.model)


def _range_error(market: MarketData, rm: RiskModel, exc: FixedPointRangeError) -> InputError:
    """A value of the float model the published encoding cannot hold, as the one-line InputError
    naming the market file, the model date and the value; for a GARCH parameter (a degenerate
    fit, e.g. omega ~1e-16 on a pegged asset) also the fit and whether it converged."""
    words = exc.what.split()
    fit = rm.fits.get(words[1]) if len(words) == 3 and words[0] == "asset" else None
    why = "" if fit is None else \
        f"; its GARCH fit {'converged' if fit.converged else 'did NOT converge'}: {fit.params}"
    return InputError(market.source, f"asof {rm.asof}", exc.what,
                      f"{exc.value} is outside the published fixed-point range [{exc.low}, {exc.high}){why}")
