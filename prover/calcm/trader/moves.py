"""Exact revaluation with one underlying moved, and the price moves that cross each tier boundary.

Public functions::

    moved_model(ctx: TraderContext, u: int, price: int, options=None) -> MarginModelFx
    tier_boundaries(ctx, account: AccountFx, u: int, max_move: float = 0.5,
                    grid: int = 10, iterations: int = 12) -> list[BoundaryMove]

:func:`moved_model` is the published model revalued with underlying ``u`` at ``price``
(PRICE ints) and every other price unchanged: ``lin[.][u]`` from
:func:`calcm.risk.modelfx.step.asset_move` at the state's variance (what the registry's
``ModelReval`` proves), and the options on ``u`` listed in ``options`` (default all)
revalued with the Black-76 of :mod:`calcm.risk.modelfx.options`. Options left out keep
their old values, so pass the options an account holds to price that account exactly
for a fraction of the cost (a zero position never reads its column). The perp basis +
funding move follows the prices (:func:`calcm.risk.modelfx.update.perp_moves`).

:func:`tier_boundaries`: for each direction (down, up) and each tier worse than the
account's, the smallest relative move ``x`` (``price * (1 + x)``) within ``max_move``
at which the published tier reaches it: a grid of ``grid`` steps, then ``iterations``
bisection steps inside the first grid interval that reaches it (resolution
``max_move / grid / 2**iterations``). ``None`` when no move within the range does.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InputError
from ..fixedpoint import FixedPointRangeError
from ..risk.fixed_margin import AccountFx, MarginModelFx, margin_fx
from ..risk.modelfx.options import (moneyness, option_base, option_exposure, option_mark, option_pnl, option_scenario,
                                   scenario_vol)
from ..risk.modelfx.step import asset_move, scenario_move
from ..risk.modelfx.update import perp_moves
from .numbers import tier_name

DIRECTIONS = ("down", "up")


def moved_model(ctx, u: int, price: int, options=None) -> MarginModelFx:
    """The published model with underlying ``u`` revalued at ``price`` (see the module docstring)."""
    params, state, model = ctx.params, ctx.state, ctx.model
    if params is None or state is None:
        raise InputError(ctx.source, "-", "params", "this model has no parameters/state to revalue with")
    mv = asset_move(params, u, state.sigma2[u], price)
    S = params.n_scenarios
    col = [scenario_move(params.z[s][u], mv.move, mv.floor, f"scenario {s} move of {params.assets[u]}")
           for s in range(S)]
    lin = tuple(row[:u] + (col[s],) + row[u + 1:] for s, row in enumerate(model.lin))
    opt = [list(r) for r in model.opt]
    mark, expo = list(model.opt_mark), list(model.opt_expo)
    for o, i in enumerate(model.options):
        if model.under[i] != u or (options is not None and o not in options):
            continue
        base = option_base(params, o, price)
        mark[o], expo[o] = option_mark(params, o, price, base), option_exposure(params, o, price, base)
        m = moneyness(params, o, base)
        for s in range(S):
            scen = option_scenario(params, o, s, price, col[s], scenario_vol(params, o, s, m))
            opt[s][o] = option_pnl(params, o, base, scen, col[s])
    prices = model.price[:u] + (price,) + model.price[u + 1:]
    return replace(model, price=prices, lin=lin, opt=tuple(tuple(r) for r in opt),
                   opt_mark=tuple(mark), opt_expo=tuple(expo), perp_move=perp_moves(params, prices))


def held_options(model: MarginModelFx, acc: AccountFx) -> set[int]:
    """Option indices (among the options) the account holds."""
    return {o for o, i in enumerate(model.options) if acc.qty[i] != 0}


def exposed_underlyings(model: MarginModelFx, acc: AccountFx) -> list[int]:
    """Underlyings whose price moves this account's margin (positions on them, or collateral in them)."""
    us = {model.under[i] for i, q in enumerate(acc.qty) if q != 0}
    us |= {c for c, amt in zip(model.coll, acc.collateral) if c >= 0 and amt != 0}
    return sorted(us)


@dataclass(frozen=True)
class BoundaryMove:
    underlying: str
    direction: str              # "down" | "up"
    tier: int                   # the tier reached
    move: float | None          # relative price move (e.g. -0.1234); None = none within max_move
    price: float | None         # USD price at that move
    max_move: float

    def to_json(self) -> dict:
        return {"underlying": self.underlying, "direction": self.direction, "tier": tier_name(self.tier),
                "tier_code": self.tier, "move": self.move, "price": self.price, "max_move": self.max_move,
                "text": (f"{self.move:+.2%}" if self.move is not None
                         else f"none within {'-' if self.direction == 'down' else '+'}{self.max_move:.0%}")}


def tier_boundaries(ctx, acc: AccountFx, u: int, max_move: float = 0.5, grid: int = 10,
                    iterations: int = 12) -> list[BoundaryMove]:
    """Smallest moves of underlying ``u`` reaching each worse tier, per direction (module docstring)."""
    from ..fixedpoint import PRICE_SCALE

    if not (max_move > 0):
        raise InputError("--max-move", repr(max_move), "-", "must be > 0")
    model = ctx.model
    p0 = model.price[u]
    opts = held_options(model, acc)
    cur = margin_fx(model, acc).tier
    name = ctx.params.assets[u] if ctx.params is not None else str(u)
    cache: dict[int, int] = {}

    def tier_at(x: float) -> int:
        p = max(1, round(p0 * (1 + x)))
        if p not in cache:
            try:
                cache[p] = margin_fx(moved_model(ctx, u, p, opts), acc).tier
            except FixedPointRangeError:
                cache[p] = 3     # a price the fixed-point model cannot hold: treated as the worst tier
        return cache[p]

    out = []
    for direction in DIRECTIONS:
        sign = -1.0 if direction == "down" else 1.0
        limit = min(max_move, 0.95) if direction == "down" else max_move
        xs = [sign * limit * j / grid for j in range(grid + 1)]
        tiers = [cur] + [tier_at(x) for x in xs[1:]]
        for target in range(cur + 1, 4):
            j = next((j for j, t in enumerate(tiers) if t >= target), None)
            if j is None:
                out.append(BoundaryMove(name, direction, target, None, None, limit))
                continue
            lo, hi = xs[j - 1], xs[j]        # tier(lo) < target <= tier(hi)
            for _ in range(iterations):
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if tier_at(mid) >= target else (mid, hi)
            out.append(BoundaryMove(name, direction, target, hi, max(1, round(p0 * (1 + hi))) / PRICE_SCALE,
                                    limit))
    return out
