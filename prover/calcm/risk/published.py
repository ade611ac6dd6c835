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
    fx_params = modelfx.params_from_risk_model(rm, book, chunks=chunks)
    S = rm.scenarios.n_scenarios
    if fx_params.n_scenarios != S or fx_params.k_tail != rm.params.margin_params.k_tail(S):
        raise ValueError(f"published parameters have S={fx_params.n_scenarios}, k={fx_params.k_tail}; "
                         f"the float model has S={S}, k={rm.params.margin_params.k_tail(S)}")
    state, prices = modelfx.genesis(rm, market)
    up = modelfx.update(state, prices, fx_params)
    return PublishedModel(rm, fx_params, state, getattr(up, "state", None), up.model)
