"""One asset-day in exact fixed point: return, GJR-GARCH, volatility, scenario moves.

Per asset ``u`` (scales in :mod:`calcm.fixedpoint`; ``rdiv(x, k)`` is the
round-half-up shift ``floor((x + 2**(k-1)) / 2**k)``)::

    eps      = floor((P1 - P0) * 2**40 / P0)                       simple return, floor
    sigma2'  = rdiv(omega 2**64 + alpha eps^2 + gamma eps^2 [eps<0] + beta sigma2 2**32, 64)
    V        = rdiv(A_u * sigma2, 32) + B_u                        h-day variance (2**48), < 2**62
    Vf       = max(V, F_u)                                         APC floor F_u = h var_floor_u
    sigma_h  = isqrt(Vf * 2**16)                                   s^2 <= x < (s+1)^2 (2**32)
    a_u      = rdiv(P * sigma_h, 28)                               P sqrt(Vf), PRICE * 2**4
    floor_u  = -floor(P * (-min_return_bps) / 10**4)               the -95% return floor

per scenario ``s`` (``z`` at 2**16)::

    lin[s,u] = max(rdiv(z[s,u] * a_u, 20), floor_u)                P * r[s,u], PRICE

(``A_u``, ``B_u``, ``F_u``: :attr:`ModelParamsFx.horizon_a` / ``horizon_b`` /
``horizon_floor``, the exact integer forecast recursion of arch's analytic
h-step variance, with APC tool (b)'s stressed weight folded into ``A_u``, ``B_u``.) ``r = max(z sqrt(max(V_h, h var_floor)), MIN_RETURN)`` is the
float model's scenario return;
spot and perp P&L are ``lin`` exactly. The GARCH step (``sigma2'``) runs only in
the daily step; ``a_u`` and ``floor_u`` use the variance of the state being
revalued and the price ``P`` it is revalued at.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...fixedpoint import BPS, GARCH_FRAC, MOVE_BITS, RET_FRAC, Range
from ..fixed_transcendental import rdiv
from .constants import GARCH_SHIFT, HVAR, LIN_OFFSET, LIN_SHIFT, MOVE_SHIFT, RETURN, SQRT_PRESHIFT, VARIANCE
from .params import ModelParamsFx

MOVE = Range("move", 0, 2**MOVE_BITS)


@dataclass(frozen=True)
class AssetMoveFx:
    """Per-asset revaluation intermediates: sigma = sigma_h (the h-day vol, 2**32), move a_u
    (PRICE 2**4), floor (PRICE)."""

    sigma: int
    move: int
    floor: int


@dataclass(frozen=True)
class AssetStepFx:
    """Per-asset daily-step intermediates: return, new variance, and the move at the close."""

    eps: int
    sigma2: int
    sigma: int
    move: int
    floor: int


def simple_return(p0: int, p1: int, what: str = "return") -> int:
    """``floor((P1 - P0) * 2**40 / P0)``, range-checked (P1 < 16 P0)."""
    return RETURN.check(((p1 - p0) << RET_FRAC) // p0, what)


def garch_step(omega: int, alpha: int, gamma: int, beta: int, sigma2: int, eps: int,
               what: str = "sigma2") -> int:
    """``rdiv(omega 2**64 + alpha e^2 + gamma e^2 [e<0] + beta sigma2 2**32, 64)`` in [0, 2**58)."""
    e2 = eps * eps
    num = (omega << GARCH_SHIFT) + alpha * e2 + (gamma * e2 if eps < 0 else 0) + ((beta * sigma2) << 32)
    return VARIANCE.check(rdiv(num, GARCH_SHIFT), what)


def horizon_variance(params: ModelParamsFx, u: int, sigma2: int) -> int:
    """``Vf = max(rdiv(A_u sigma2, 32) + B_u, F_u)`` (2**48): asset ``u``'s floored h-day variance
    from the next-day variance ``sigma2`` (2**48); ``V`` outside ``[0, 2**62)`` is a range error."""
    v = HVAR.check(rdiv(params.horizon_a[u] * sigma2, GARCH_FRAC) + params.horizon_b[u],
                   f"asset {params.assets[u]} horizon variance")
    return max(v, params.horizon_floor[u])


def asset_move(params: ModelParamsFx, u: int, sigma2: int, price: int) -> AssetMoveFx:
    """``sigma_h``, ``a_u`` and the return floor of asset ``u`` at ``(sigma2, price)``."""
    sigma = math.isqrt(horizon_variance(params, u, sigma2) << SQRT_PRESHIFT)
    move = MOVE.check(rdiv(price * sigma, MOVE_SHIFT), f"asset {params.assets[u]} move")
    floor = -((price * -params.min_return_bps) // BPS)
    return AssetMoveFx(sigma, move, floor)


def asset_step(params: ModelParamsFx, u: int, sigma2: int, p0: int, p1: int) -> AssetStepFx:
    """The daily step of asset ``u``: GARCH from ``(sigma2, p0)`` to the close ``p1``, then its move."""
    a = params.assets[u]
    eps = simple_return(p0, p1, f"asset {a} return")
    s2 = garch_step(params.omega[u], params.alpha[u], params.gamma[u], params.beta[u], sigma2, eps,
                    f"asset {a} sigma2")
    mv = asset_move(params, u, s2, p1)
    return AssetStepFx(eps, s2, mv.sigma, mv.move, mv.floor)


def scenario_move(z: int, move: int, floor: int, what: str) -> int:
    """``max(rdiv(z * a_u, 20), floor)``, with ``rdiv(z a_u, 20) - floor`` in [-2**48, 2**48)."""
    off = LIN_OFFSET.check(rdiv(z * move, LIN_SHIFT) - floor, what)
    return floor + max(off, 0)


def lin_matrix(params: ModelParamsFx, moves, scenarios=None) -> tuple[tuple[int, ...], ...]:
    """``lin[s][u]`` (PRICE) for ``scenarios`` (default all), from per-asset moves (``.move``, ``.floor``)."""
    rows = range(params.n_scenarios) if scenarios is None else scenarios
    return tuple(tuple(scenario_move(params.z[s][u], moves[u].move, moves[u].floor,
                                     f"scenario {s} move of {params.assets[u]}")
                       for u in range(params.n_assets)) for s in rows)
