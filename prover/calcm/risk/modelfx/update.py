"""The three proven computations and the model version they compose (docs/PROVING.md §5, §6).

- :func:`step`: the daily step. GJR-GARCH from ``(day, sigma2, close_day)`` to
  the next close, then the linear revaluation at that close with the new
  variance; the new state is ``(day + 1, sigma2', close)``. (``ModelStep``)
- :func:`reval`: the intraday linear revaluation at ``prices`` with the state's
  ``sigma2``; the state is unchanged. (``ModelReval``)
- :func:`option_part`: option series ``o`` on scenario chunk ``c`` at the
  state's ``sigma2`` and ``prices``: base Black-76 (mark, exposure), the chunk's
  scenario P&L, and the option sponge from ``prev`` to ``next``. (``OptionPart``)

:func:`update` runs a step (or a revaluation) and every option part at the
resulting state and prices, and assembles the
:class:`~calcm.risk.fixed_margin.MarginModelFx` v2 with its ``linCommitment``
and ``optCommitment``. Everything is exact integer arithmetic, range-checked
(:class:`~calcm.fixedpoint.FixedPointRangeError` before anything is proven).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...fixedpoint import BPS, ceil_div
from ..fixed_margin import PERP_MOVE, MarginModelFx
from .commit import lin_commitment, opt_sponge_step
from .constants import PRICE_POS
from .options import (OptionValueFx, moneyness, option_base, option_exposure, option_mark, option_pnl,
                      option_scenario, scenario_vol)
from .params import ModelParamsFx
from .state import ModelStateFx
from .step import AssetMoveFx, AssetStepFx, asset_move, asset_step, lin_matrix, scenario_move


@dataclass(frozen=True)
class LinearFx:
    """A linear revaluation: the state after it, per-asset intermediates, lin (S, U), its commitment.

    ``assets`` are :class:`AssetStepFx` for a daily step, :class:`AssetMoveFx` for a revaluation.
    """

    state: ModelStateFx
    prices: tuple[int, ...]
    assets: tuple
    lin: tuple[tuple[int, ...], ...]
    lin_commitment: int


@dataclass(frozen=True)
class OptionPartFx:
    """Option part ``j = o C + c``: the underlying's move, base and chunk valuations, the sponge step.

    ``lin``, ``vol`` (``(u_s, w_s)``), ``scen`` and ``pnl`` cover the chunk's scenarios (``S / C``
    each); ``m`` is the series' clipped log-moneyness at the base price (2**32).
    """

    o: int
    c: int
    part: int
    move: AssetMoveFx
    lin: tuple[int, ...]
    base: OptionValueFx
    m: int
    vol: tuple[tuple[int, int], ...]
    scen: tuple[OptionValueFx, ...]
    mark: int
    expo: int
    pnl: tuple[int, ...]
    prev: int
    next: int


def check_prices(params: ModelParamsFx, prices, what: str = "price") -> tuple[int, ...]:
    prices = tuple(int(p) for p in prices)
    if len(prices) != params.n_assets:
        raise ValueError(f"expected {params.n_assets} prices, got {len(prices)}")
    for u, p in enumerate(prices):
        PRICE_POS.check(p, f"{what} of {params.assets[u]}")
    return prices


def _check_state(params: ModelParamsFx, state: ModelStateFx) -> None:
    if len(state.price) != params.n_assets:
        raise ValueError(f"state over {len(state.price)} assets, parameters over {params.n_assets}")


def perp_moves(params: ModelParamsFx, prices) -> tuple[int, ...]:
    """(U,) PRICE: the adverse per-unit perp move ``ceil(price[u] perp_shock_bps[u] / BPS)``
    at ``prices`` (docs/MODEL.md "Perps: basis and funding"; LinearModel proves it)."""
    return tuple(PERP_MOVE.check(ceil_div(p * b, BPS), f"perp move of {a}")
                 for a, p, b in zip(params.assets, prices, params.perp_shock_bps))


def _lin_commitment(params: ModelParamsFx, prices, lin) -> int:
    return lin_commitment(params.structure_id(), params.n_scenarios, params.n_assets, params.n_instruments,
                          params.n_collateral, params.k_tail, params.im_buffer_bps, params.warn_buffer_bps,
                          prices, params.adv, params.liquidity_weight_bps,
                          [c.haircut_bps for c in params.collateral], perp_moves(params, prices), lin)


def step(state: ModelStateFx, close_prices, params: ModelParamsFx) -> LinearFx:
    """The daily step: GARCH to ``close_prices`` (the next day's close), lin at the close."""
    _check_state(params, state)
    prices = check_prices(params, close_prices, "close")
    assets = tuple(asset_step(params, u, state.sigma2[u], state.price[u], prices[u])
                   for u in range(params.n_assets))
    lin = lin_matrix(params, assets)
    new = ModelStateFx(state.day + 1, tuple(a.sigma2 for a in assets), prices)
    return LinearFx(new, prices, assets, lin, _lin_commitment(params, prices, lin))


def reval(state: ModelStateFx, prices, params: ModelParamsFx) -> LinearFx:
    """The intraday linear revaluation at ``prices`` with the state's variance (state unchanged)."""
    _check_state(params, state)
    prices = check_prices(params, prices)
    moves = tuple(asset_move(params, u, state.sigma2[u], prices[u]) for u in range(params.n_assets))
    lin = lin_matrix(params, moves)
    return LinearFx(state, prices, moves, lin, _lin_commitment(params, prices, lin))


def option_part(state: ModelStateFx, prices, params: ModelParamsFx, o: int, c: int,
                prev: int = 0) -> OptionPartFx:
    """Option series ``o`` (0-based among the options) on scenario chunk ``c``, from sponge state ``prev``."""
    _check_state(params, state)
    prices = check_prices(params, prices)
    if not (0 <= o < params.n_options and 0 <= c < params.chunks):
        raise ValueError(f"option part ({o}, {c}) outside {params.n_options} options x {params.chunks} chunks")
    u = params.instruments[params.options[o]].underlying
    p = prices[u]
    mv = asset_move(params, u, state.sigma2[u], p)
    L = params.chunk_size
    scen_idx = range(c * L, (c + 1) * L)
    lin = tuple(scenario_move(params.z[s][u], mv.move, mv.floor, f"scenario {s} move of {params.assets[u]}")
                for s in scen_idx)
    base = option_base(params, o, p)
    m = moneyness(params, o, base)
    vol = tuple(scenario_vol(params, o, s, m) for s in scen_idx)
    scen = tuple(option_scenario(params, o, s, p, ls, v) for s, ls, v in zip(scen_idx, lin, vol))
    mark, expo = option_mark(params, o, p, base), option_exposure(params, o, p, base)
    pnl = tuple(option_pnl(params, o, base, v, ls) for v, ls in zip(scen, lin))
    nxt = opt_sponge_step(prev, mark, expo, pnl)
    return OptionPartFx(o, c, o * params.chunks + c, mv, lin, base, m, vol, scen, mark, expo, pnl, prev, nxt)


def option_parts(state: ModelStateFx, prices, params: ModelParamsFx) -> tuple[OptionPartFx, ...]:
    """Every part in chain order ``j = o C + c``, each from the previous part's sponge state."""
    out, h = [], 0
    for o in range(params.n_options):
        for c in range(params.chunks):
            part = option_part(state, prices, params, o, c, h)
            out.append(part)
            h = part.next
    return tuple(out)


@dataclass(frozen=True)
class UpdateFx:
    """A model version: the linear revaluation, the option parts, and the margin model they give.

    ``opt`` (S, n_opt), ``opt_mark`` / ``opt_expo`` (n_opt,); ``opt_commitment`` is
    the last part's ``next`` (0 without options).
    """

    linear: LinearFx
    parts: tuple[OptionPartFx, ...]
    opt: tuple[tuple[int, ...], ...]
    opt_mark: tuple[int, ...]
    opt_expo: tuple[int, ...]
    opt_commitment: int
    model: MarginModelFx

    @property
    def state(self) -> ModelStateFx:
        return self.linear.state

    @property
    def lin(self) -> tuple[tuple[int, ...], ...]:
        return self.linear.lin

    @property
    def lin_commitment(self) -> int:
        return self.linear.lin_commitment

    @property
    def assets(self) -> tuple:
        return self.linear.assets

    @property
    def base(self) -> tuple[OptionValueFx, ...]:
        """Base valuation per option series (from its first part)."""
        return tuple(p.base for p in self.parts if p.c == 0)

    @property
    def scen(self) -> tuple[tuple[OptionValueFx, ...], ...]:
        """(S, n_opt) scenario valuations, reassembled from the parts."""
        n_opt, S = len(self.opt_mark), len(self.opt)
        out = [[None] * n_opt for _ in range(S)]
        for p in self.parts:
            for i, v in enumerate(p.scen):
                out[p.c * len(p.scen) + i][p.o] = v
        return tuple(tuple(r) for r in out)


def update(state: ModelStateFx, prices, params: ModelParamsFx, *, daily: bool = True) -> UpdateFx:
    """A daily step (``daily``) or an intraday revaluation, then every option part at its result."""
    lin_fx = (step if daily else reval)(state, prices, params)
    parts = option_parts(lin_fx.state, lin_fx.prices, params)
    n_opt, S, C = params.n_options, params.n_scenarios, params.chunks
    L = params.chunk_size
    opt = [[0] * n_opt for _ in range(S)]
    mark, expo = [0] * n_opt, [0] * n_opt
    for part in parts:
        mark[part.o], expo[part.o] = part.mark, part.expo
        for i, v in enumerate(part.pnl):
            opt[part.c * L + i][part.o] = v
    opt_commitment = parts[-1].next if parts else 0
    opt_t = tuple(tuple(r) for r in opt)
    model = margin_model(params, lin_fx.prices, lin_fx.lin, opt_t, tuple(mark), tuple(expo))
    assert C * L == S
    return UpdateFx(lin_fx, parts, opt_t, tuple(mark), tuple(expo), opt_commitment, model)


def margin_model(params: ModelParamsFx, prices, lin, opt, opt_mark, opt_expo) -> MarginModelFx:
    """The :class:`MarginModelFx` of one model version (docs/PROVING.md §2)."""
    return MarginModelFx(
        price=tuple(prices), lin=lin, opt=opt, opt_mark=opt_mark, opt_expo=opt_expo,
        haircut_bps=tuple(c.haircut_bps for c in params.collateral), adv=params.adv,
        liquidity_weight_bps=params.liquidity_weight_bps, k_tail=params.k_tail,
        im_buffer_bps=params.im_buffer_bps, warn_buffer_bps=params.warn_buffer_bps,
        kinds=tuple(i.code for i in params.instruments), under=tuple(i.underlying for i in params.instruments),
        coll=tuple(c.underlying for c in params.collateral), chunks=params.chunks,
        perp_move=perp_moves(params, prices))
