"""The keeper's model: the published parameters of the whole book, the chained states, and
the margin model of each registry model version (docs/PROVING.md sections 1, 5, 6).

The model file is the published model of the WHOLE book (``calcm model-init``, or the
demo's ``out/demo/model.json``): :class:`~calcm.risk.modelfx.ModelParamsFx` plus the
genesis :class:`~calcm.risk.modelfx.ModelStateFx` with its UTC ``day``. No sub-book, no
refit: the keeper proves exactly the model ``calcm margin`` prints at these parameters.

A registry model version is ``(state, linCommitment, optCommitment)``: the linear
revaluation at the prices of the last daily step or intraday revaluation, and the option
revaluation (all option parts) at the prices its part 0 read, for the same state.
:class:`ModelTracker` keeps, in the keeper's store, every state it computed (keyed by its
commitment), the prices behind every linear and option commitment it proved, and recomputes
the :class:`~calcm.risk.fixed_margin.MarginModelFx` of any version from them
(:func:`version_model`, cached). A state the keeper never computed (another keeper stepped
it, or the store was lost) is recovered by replaying the registry's ``ModelStepped`` events
(they carry each close) from the newest state it knows; a linear or option commitment it
never proved is recovered from the ``ModelStepped`` / ``ModelRevalued`` /
``OptionRevaluationStarted`` event that set it (they carry the prices).

:func:`float_version_model` is the float twin of one version (the float risk stage on the
decoded parameters, the state's variance, no GARCH step): the keeper reports float and
fixed-point tiers side by side.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..fixedpoint import BPS, PRICE_SCALE, VAR_FRAC
from ..risk.fixed_margin import MarginModelFx
from ..risk.margin import MarginModel, MarginParams
from ..risk.modelfx import ModelParamsFx, ModelStateFx, option_parts, reval, step
from ..risk.modelfx.update import margin_model
from ..zk.model_prove import ModelFile
from .store import Store


class ModelStateUnknown(RuntimeError):
    """The registry's model cannot be reconstructed from what the keeper knows."""


def load_model(path: str | Path) -> ModelFile:
    """A model file (``calcm-model-state``: the published parameters and the genesis state)."""
    from ..zk.model_prove import load_model_file
    return load_model_file(path)


def model_file_from_published(pm, extra: dict | None = None, stepped: bool = False) -> ModelFile:
    """The model file of a :class:`~calcm.risk.published.PublishedModel`: its parameters and
    genesis state (the state of the day before its date; the first step is that date's close).

    ``stepped``: the state after that step instead, for a chain that starts after the date's
    close (the demo: its first replayed day is the next one, so no block is gated by a model
    that has seen a later close, and the genesis version is ``calcm margin`` at the date)."""
    return ModelFile(pm.state if stepped else pm.genesis, pm.params, dict(extra or {}))


@lru_cache(maxsize=64)
def _lin(params: ModelParamsFx, state: ModelStateFx, prices: tuple[int, ...]):
    return reval(state, prices, params)


@lru_cache(maxsize=16)
def _options(params: ModelParamsFx, state: ModelStateFx, prices: tuple[int, ...]):
    return option_parts(state, prices, params)


def lin_at(params: ModelParamsFx, state: ModelStateFx, prices) -> tuple:
    """``(lin (S, U), linCommitment)`` of ``state`` at ``prices`` (a step's lin at its close
    equals the revaluation of the new state at that close)."""
    r = _lin(params, state, tuple(prices))
    return r.lin, r.lin_commitment


def options_at(params: ModelParamsFx, state: ModelStateFx, prices) -> tuple:
    """The option parts of ``state`` at ``prices`` (chain order) and their commitment."""
    parts = _options(params, state, tuple(prices))
    return parts, (parts[-1].next if parts else 0)


def version_model(params: ModelParamsFx, state: ModelStateFx, lin_prices, opt_prices) -> MarginModelFx:
    """The margin model of a version: linear P&L at ``lin_prices``, option P&L, marks and
    exposures at ``opt_prices`` (both for ``state``; ``opt_prices`` unused without options)."""
    lin, _ = lin_at(params, state, lin_prices)
    S, n_opt = params.n_scenarios, params.n_options
    opt = [[0] * n_opt for _ in range(S)]
    mark, expo = [0] * n_opt, [0] * n_opt
    if n_opt:
        parts, _ = options_at(params, state, opt_prices)
        L = params.chunk_size
        for p in parts:
            mark[p.o], expo[p.o] = p.mark, p.expo
            for i, v in enumerate(p.pnl):
                opt[p.c * L + i][p.o] = v
    return margin_model(params, tuple(lin_prices), lin, tuple(tuple(r) for r in opt),
                        tuple(mark), tuple(expo))


def float_version_model(params: ModelParamsFx, state: ModelStateFx, prices) -> MarginModel:
    """The float twin of a version at ``prices`` (options valued at the same prices)."""
    from ..risk.modelfx.floatref import float_revaluation
    from ..risk.perp_shocks import perp_charge_matrix
    p1 = np.array(prices, float) / PRICE_SCALE
    _, val = float_revaluation(params, np.array(state.sigma2, float) / 2**VAR_FRAC, p1)
    cprice = np.array([1.0 if c.underlying < 0 else p1[c.underlying] for c in params.collateral])
    return MarginModel(
        instrument_ids=tuple(i.id for i in params.instruments), underlyings=tuple(params.assets),
        collateral_assets=tuple(c.asset for c in params.collateral), pnl=val.pnl, mark=val.mark,
        exposure=val.exposure, collateral_price=cprice,
        haircut=np.array([c.haircut_bps / BPS for c in params.collateral]),
        adv=np.array(params.adv, float),
        liquidity_weight=np.array(params.liquidity_weight_bps, float) / BPS,
        perp_charge=perp_charge_matrix([i.kind for i in params.instruments],
                                       [i.underlying for i in params.instruments], p1, params.perp_shock_bps),
        params=MarginParams(1 - params.k_tail / params.n_scenarios, params.im_buffer_bps / BPS,
                            params.warn_buffer_bps / BPS))


class ModelTracker:
    """States by commitment, and the prices behind each linear and option commitment, kept
    in the store (rows of ``model_states``: ``state`` JSON with a ``kind`` of ``state``,
    ``lin`` or ``opt``)."""

    def __init__(self, model: ModelFile, store: Store):
        self.params, self.genesis, self.store = model.params, model.state, store
        self.param_hash = self.params.param_hash()
        self.put_state(self.genesis)

    # states
    def put_state(self, state: ModelStateFx, parent: ModelStateFx | None = None, rounds=None) -> None:
        """Store ``state`` (before any proof that leads to it is made)."""
        self.store.put_state(state.commitment(), state.to_json(),
                             parent.commitment() if parent else None, list(state.price),
                             list(rounds) if rounds else None)

    def state(self, commitment: int) -> ModelStateFx | None:
        row = self.store.get_state(commitment)
        if row is None or row.state.get("kind") in ("lin", "opt"):
            return None
        return ModelStateFx.from_json(row.state)

    def step(self, state: ModelStateFx, close_prices, rounds=None) -> ModelStateFx:
        """The next day's state from ``close_prices``, stored."""
        nxt = step(state, tuple(close_prices), self.params).state
        self.put_state(nxt, state, rounds)
        return nxt

    # commitments
    def put_prices(self, kind: str, commitment: int, state: ModelStateFx, prices) -> None:
        """Record that ``commitment`` (``lin`` or ``opt``) is ``state`` at ``prices``."""
        if commitment:
            self.store.put_state(commitment, {"kind": kind, "state": str(state.commitment())},
                                 state.commitment(), list(prices), None)

    def prices_of(self, kind: str, commitment: int) -> tuple[int, ...] | None:
        row = self.store.get_state(commitment)
        if row is None or row.state.get("kind") != kind:
            return None
        return tuple(int(p) for p in row.prices)

    # recovery from the registry's events
    def recover_state(self, reg, target: int, from_block: int) -> ModelStateFx:
        """Replay ``ModelStepped`` events (each carries its close) until ``target`` is known."""
        logs = reg.contract.events.ModelStepped().get_logs(from_block=from_block)
        for lg in sorted(logs, key=lambda x: (x.blockNumber, x.logIndex)):
            prev, new = int(lg.args.prevState), int(lg.args.newState)
            if self.state(new) is not None:
                continue
            parent = self.state(prev)
            if parent is None:
                continue
            nxt = self.step(parent, [int(p) for p in lg.args.prices], list(lg.args.rounds))
            if nxt.commitment() != new:
                raise ModelStateUnknown(f"ModelStepped at block {lg.blockNumber}: recomputed state "
                                        f"{nxt.commitment()} != {new} (other parameters?)")
            self.put_prices("lin", int(lg.args.linCommitment), nxt, [int(p) for p in lg.args.prices])
        st = self.state(target)
        if st is None:
            raise ModelStateUnknown(f"on-chain model state {target} is not reachable from the "
                                    "keeper's genesis state through ModelStepped events")
        return st

    def recover_prices(self, reg, kind: str, commitment: int, state: ModelStateFx,
                       from_block: int) -> tuple[int, ...] | None:
        """The prices of a ``lin`` or ``opt`` commitment from the events that set it."""
        ev = reg.contract.events
        if kind == "lin":
            for event in (ev.ModelRevalued, ev.ModelStepped):
                for lg in reversed(event().get_logs(from_block=from_block)):
                    if int(lg.args.linCommitment) == commitment:
                        prices = tuple(int(p) for p in lg.args.prices)
                        self.put_prices("lin", commitment, state, prices)
                        return prices
            return None
        done = [lg for lg in ev.OptionsRevalued().get_logs(from_block=from_block,
                                                           argument_filters={"state": state.commitment()})
                if int(lg.args.optCommitment) == commitment]
        if not done:
            return None
        starts = ev.OptionRevaluationStarted().get_logs(
            from_block=from_block, to_block=done[-1].blockNumber,
            argument_filters={"state": state.commitment()})
        if not starts:
            return None
        prices = tuple(int(p) for p in starts[-1].args.prices)
        self.put_prices("opt", commitment, state, prices)
        return prices


def describe_state(state: ModelStateFx, params: ModelParamsFx) -> dict:
    """Human units: the UTC day, daily vol per asset and the close (USD)."""
    return {"day": state.day,
            "daily_vol": {a: float(np.sqrt(s / 2**VAR_FRAC)) for a, s in zip(params.assets, state.sigma2)},
            "price": {a: p / PRICE_SCALE for a, p in zip(params.assets, state.price)}}
