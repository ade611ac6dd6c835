"""The keeper's model: public parameters, the chained state, and each block's margin model.

The model update (:func:`calcm.risk.modelfx.update`) maps the previous state (per-asset
GARCH variance and last price) and the block's feed prices to the next state and the
:class:`~calcm.risk.fixed_margin.MarginModelFx` whose commitment is the block's scenario
commitment. With a model verifier deployed the keeper *proves* that step
(``circuits/model/``: GARCH recursion, scenario moves, instrument P&L, the commitment);
without one, governance attests it (the registry's trusted bootstrap mode).

:class:`ModelTracker` keeps every state the keeper computed in the store, keyed by its
on-chain commitment, so the margin model of the registry's latest model block can always be
recomputed (``update(parent, prices)``), after a restart too. When the chain holds a state the
keeper never computed (another keeper advanced it, or the state file was lost), the tracker
replays the registry's ``ModelUpdated`` events from the last state it knows, reading the
feeds' prices at each event's block, and checks every recomputed commitment against the
event's.

:func:`float_margin_model` is the float twin of one block (:func:`model_fx.float_update`):
the keeper reports float and fixed-point margins side by side.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..fixedpoint import BPS, PRICE_SCALE, VAR_FRAC
from ..risk.fixed_margin import MarginModelFx
from ..risk.margin import MarginModel, MarginParams
from ..risk.modelfx import ModelParamsFx, ModelStateFx, UpdateFx, float_update, update
from ..zk.model_prove import ModelFile
from .store import Store


class ModelStateUnknown(RuntimeError):
    """The registry's model state cannot be reconstructed from what the keeper knows."""


def fit_model_file(market, book, config, instruments=None, collateral=None, base=None,
                   extra: dict | None = None) -> tuple[ModelFile, object, list]:
    """Model parameters and genesis state of ``book``'s sub-book on ``market`` (to its last day T).

    The sub-book and the scenario count follow the margin circuit ``config`` exactly as
    ``calcm prove`` fits them (:mod:`calcm.zk.subbook`): ``S`` scenarios, ES level
    ``1 - k/S``. The genesis state is the model stage's (:func:`calcm.risk.modelfx.genesis`):
    the state of day T-1, so that the first update, with day T's closes, reproduces the float
    model at T. Returns the model file, the sub-book and the skipped accounts.
    """
    from ..risk.model import ModelParams, build_risk_model
    from ..risk.modelfx import genesis, params_from_risk_model
    raise NotImplementedError("v2: the sub-book refit is gone (docs/PROVING.md §1); build the model file "
                              "from calcm.risk.published.published_model(market, book) (genesis, params)")
    sub, skipped = sub_book(book, config, instruments, collateral)
    base = base or ModelParams()
    n_fhs, n_extreme = fitted_scenario_counts(config, base.scenarios.n_extreme)
    p = replace(base, es_level=1 - config.k / config.S,
                scenarios=replace(base.scenarios, n_fhs=n_fhs, n_extreme=n_extreme))
    rm = build_risk_model(market, sub, p)
    params, _ = params_from_risk_model(rm, sub, config.S, config.k)
    state, _first = genesis(rm, market)
    meta = {"asof": str(rm.asof), "source": str(market.source), **(extra or {})}
    return ModelFile(state, params, meta), sub, skipped


def load_model(path: str | Path) -> ModelFile:
    """A model file (``calcm-model-state``: parameters and the genesis state)."""
    from ..zk.model_prove import load_model_file
    return load_model_file(path)


def float_margin_model(params: ModelParamsFx, state: ModelStateFx, prices) -> MarginModel:
    """The float margin model of one block: the float twin of ``update(state, prices)``."""
    fu = float_update(state, prices, params)
    p1 = np.array(prices, float) / PRICE_SCALE
    cprice = np.array([1.0 if c.underlying < 0 else p1[c.underlying] for c in params.collateral])
    return MarginModel(
        instrument_ids=tuple(i.id for i in params.instruments), underlyings=tuple(params.assets),
        collateral_assets=tuple(c.asset for c in params.collateral), pnl=fu.pnl, mark=fu.mark,
        exposure=fu.exposure, collateral_price=cprice,
        haircut=np.array([c.haircut_bps / BPS for c in params.collateral]),
        adv=np.array(params.adv, float),
        liquidity_weight=np.array(params.liquidity_weight_bps, float) / BPS,
        params=MarginParams(1 - params.k_tail / params.n_scenarios, params.im_buffer_bps / BPS,
                            params.warn_buffer_bps / BPS))


class ModelTracker:
    """States by commitment (in the store) and the margin model of any known state."""

    def __init__(self, model: ModelFile, store: Store):
        self.params, self.genesis, self.store = model.params, model.state, store
        self.param_hash = self.params.param_hash()
        store.put_state(self.genesis.commitment(), self.genesis.to_json())

    def state(self, commitment: int) -> ModelStateFx | None:
        row = self.store.get_state(commitment)
        return None if row is None else ModelStateFx.from_json(row.state)

    def rounds(self, commitment: int) -> tuple[int, ...] | None:
        """Feed round ids the state's update consumed (None for the genesis state)."""
        row = self.store.get_state(commitment)
        return None if row is None or row.rounds is None else tuple(row.rounds)

    def advance(self, state: ModelStateFx, prices, rounds) -> UpdateFx:
        """One model update from ``state`` at ``prices``; the new state is stored before any
        proof is made, so a restart always knows the state a submission leads to."""
        up = update(state, tuple(prices), self.params)
        self.store.put_state(up.state.commitment(), up.state.to_json(), state.commitment(),
                             list(prices), list(rounds))
        return up

    def margin_model(self, commitment: int) -> tuple[MarginModelFx, ModelStateFx, tuple] | None:
        """The margin model the update into ``commitment`` produced, its parent state and
        prices; None for the genesis state (no model update yet) or an unknown state."""
        row = self.store.get_state(commitment)
        if row is None or row.parent is None:
            return None
        parent = self.state(row.parent)
        up = update(parent, tuple(row.prices), self.params)
        if up.state.commitment() != commitment:
            raise ModelStateUnknown(f"stored state {commitment} does not recompute")
        return up.model, parent, tuple(row.prices)

    def recover(self, reg, feeds, target: int, from_block: int) -> ModelStateFx:
        """Replay the registry's ``ModelUpdated`` events until the state ``target`` is known.

        ``feeds``: a :class:`~calcm.keeper.feed.FeedReader` (round ids at each event's block).
        """
        from ..chain.encoding import unpack_prices
        logs = reg.contract.events.ModelUpdated().get_logs(from_block=from_block)
        for log in sorted(logs, key=lambda lg: (lg.blockNumber, lg.logIndex)):
            prev, new = int(log.args.prevState), int(log.args.newState)
            if self.store.get_state(new) is not None:
                continue
            parent = self.state(prev)
            if parent is None:
                continue
            b = log.blockNumber
            packed = reg.f.packedPrices().call(block_identifier=b)
            prices = unpack_prices(list(packed), self.params.n_assets)
            rounds = [int(f.functions.latestRoundData().call(block_identifier=b)[0])
                      for f in feeds.feeds]
            up = update(parent, tuple(prices), self.params)
            if up.state.commitment() != new:
                raise ModelStateUnknown(
                    f"ModelUpdated at block {b}: recomputed state {up.state.commitment()} != {new} "
                    "(the feeds changed in the update's block, or other parameters)")
            self.store.put_state(new, up.state.to_json(), prev, prices, rounds)
        st = self.state(target)
        if st is None:
            raise ModelStateUnknown(f"on-chain model state {target} is not reachable from the "
                                    "keeper's genesis state through ModelUpdated events")
        return st


def describe_state(state: ModelStateFx, params: ModelParamsFx) -> dict:
    """Human units: daily vol per asset and last prices (USD)."""
    return {"step": state.step,
            "daily_vol": {a: float(np.sqrt(s / 2**VAR_FRAC)) for a, s in zip(params.assets, state.sigma2)},
            "price": {a: p / PRICE_SCALE for a, p in zip(params.assets, state.price)}}
