"""A priori bound on |fixed-point margin - float margin|, derived from the rounding.

Quantisation steps (round half away from zero, :mod:`calcm.fixedpoint`):

- quantity / collateral amount:  ``dq = 0.5 / QTY_SCALE = 5e-5`` units
- per-unit value (pnl, mark, exposure, collateral price): ``dp = 0.5 / PRICE_SCALE = 5e-7`` USD
- rates (haircut, liquidity weight, buffers): ``dr = 0.5 / BPS = 5e-5``
- ADV (whole USD): ``0.5`` USD
- one money unit (each ceil / floor): ``u = 1 / MONEY_SCALE = 1e-10`` USD

Bounds for one account with float positions ``q`` (n,), collateral ``c`` (m,):

- loss:    ``e_L = max_s sum_i (dq |pnl[s,i]| + dp |q_i| + dq dp) + e_P``, with ``e_P`` the perp
  charge's ``sum_u sum_{perp i on u} (dq |P[u,i]| + dp |q_i| + dq dp)`` (``P = perp_charge``; the
  charge ``sum_u |sum_i q_i P[u,i]|`` is 1-Lipschitz in each ``q_i P[u,i]``, and exact in fixed point)
- ES:      ``e_ES = e_L + u`` (the mean of the k largest is 1-Lipschitz in the max norm;
  ``max(0, .)`` too; ``+ u`` for the ceil)
- X[u]:    ``e_X = sum_i (dq |exposure[u,i]| + dp |q_i| + dq dp)``
- add-on:  ``sum_u [dr (|X|+e_X)^2 + w e_X (2|X|+e_X) + w X^2 * 0.5 / ADV] / (ADV - 0.5) + u``
- MM:      ``e_MM = e_ES + e_A``
- IM:      ``(1 + b + dr) e_MM + dr MM + u``
- CV:      ``sum_j [(c+dq)(p+dp)(1-h+dr) - c p (1-h)] + u``
- equity:  ``e_CV + sum_i (dq |mark_i| + dp |q_i| + dq dp) + u``

The model is public and quantised once per epoch, so the implementation uses the
*actual* rounding error of each model value in place of ``dp`` / ``dr`` / 0.5
(each at most the step above; a value already on the grid, like a 5% haircut,
contributes nothing). Account quantities keep the worst case ``dq``.

The published model (:mod:`calcm.risk.published`) is not a quantisation of the float
one: its values come from the exact fixed-point model update, whose own rounding
(GARCH, scenario moves, Black-76 via piecewise transcendentals) adds to the step.
With ``fixed=`` the actual difference of every model value, fixed minus float, is
used in place of the quantisation error (the derivation above only needs a bound
on each value's error, whatever its cause).

Each bound also gets a float64 round-off slack ``FLOAT_SLACK`` times the size of
the sums involved (the float model is not exact either).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fixedpoint import BPS, MONEY_SCALE, PRICE_SCALE, QTY_SCALE
from .liquidity import execution_cost
from .fixed_margin import PERP
from .margin import MarginModel

DQ = 0.5 / QTY_SCALE
DP = 0.5 / PRICE_SCALE
DR = 0.5 / BPS
UNIT = 1.0 / MONEY_SCALE
#: Relative float64 round-off allowance on each sum (n * eps is ~1e-13 for n = 1024).
FLOAT_SLACK = 1e-12


@dataclass(frozen=True)
class FxBounds:
    """Per-account bounds (A,) in USD on |fixed - float| of each output."""

    loss: np.ndarray
    es: np.ndarray
    addon: np.ndarray
    mm: np.ndarray
    im: np.ndarray
    collateral_value: np.ndarray
    equity: np.ndarray


def quantisation_error(x: np.ndarray, scale: float) -> np.ndarray:
    """``|round_half_away(x * scale) / scale - x|`` elementwise (the error of encoding ``x``)."""
    x = np.asarray(x, float)
    enc = np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale
    # The float evaluation itself may be off by an ulp of x; never report less than that.
    return np.abs(enc - x) + 4 * np.spacing(np.abs(x) + 1)


def value_error(fixed, scale: float, x) -> np.ndarray:
    """``|fixed / scale - x|`` elementwise, plus the float evaluation's ulps."""
    x = np.asarray(x, float)
    return np.abs(np.asarray(fixed, float) / scale - x) + 4 * np.spacing(np.abs(x) + 1)


def fx_error_bounds(model: MarginModel, q: np.ndarray, c: np.ndarray, fixed=None) -> FxBounds:
    """Bounds for accounts ``q`` (A, n), ``c`` (A, m) on ``model`` (see the module docstring).

    ``fixed``: the :class:`~calcm.risk.fixed_margin.MarginModelFx` the fixed-point
    margins use (same instrument, underlying and collateral order); default: the
    quantisation of ``model``.
    """
    q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
    aq = np.abs(q)
    perp = np.zeros(model.exposure.shape) if model.perp_charge is None else model.perp_charge   # (U, n)
    if fixed is None:
        d_pnl = quantisation_error(model.pnl, PRICE_SCALE)                   # (S, n)
        d_expo = quantisation_error(model.exposure, PRICE_SCALE)             # (U, n)
        d_mark = quantisation_error(model.mark, PRICE_SCALE)                 # (n,)
        d_price = quantisation_error(model.collateral_price, PRICE_SCALE)    # (m,)
        d_hair = quantisation_error(model.haircut, BPS)
        d_w = quantisation_error(model.liquidity_weight, BPS)
        d_adv = quantisation_error(model.adv, 1)
        d_buf = float(quantisation_error(model.params.im_buffer, BPS))
        d_perp = quantisation_error(perp, PRICE_SCALE) * (perp != 0)            # (U, n)
    else:
        d_pnl = value_error(fixed.pnl, PRICE_SCALE, model.pnl)
        d_expo = value_error(fixed.exposure, PRICE_SCALE, model.exposure)
        d_mark = value_error(fixed.mark, PRICE_SCALE, model.mark)
        d_price = value_error(fixed.collateral_price, PRICE_SCALE, model.collateral_price)
        d_hair = value_error(fixed.haircut_bps, BPS, model.haircut)
        d_w = value_error(fixed.liquidity_weight_bps, BPS, model.liquidity_weight)
        d_adv = value_error(fixed.adv, 1, model.adv)
        d_buf = float(value_error(fixed.im_buffer_bps, BPS, model.params.im_buffer))
        on = np.array([[kd == PERP and v == u for kd, v in zip(fixed.kinds, fixed.under)]
                       for u in range(len(perp))])
        d_perp = value_error(np.array(fixed.perp_move)[:, None] * on, PRICE_SCALE, perp) * on

    # loss[s] = sum_i q_i pnl[s,i]: |dq| |pnl| + |q| |dpnl| + |dq| |dpnl|, worst scenario.
    e_loss = (DQ * (np.abs(model.pnl) + d_pnl).sum(axis=1)[None, :] + aq @ d_pnl.T).max(axis=1)
    size_loss = (aq @ np.abs(model.pnl).T).max(axis=1) + aq @ perp.sum(axis=0)   # >= |any loss|
    e_perp = DQ * (perp + d_perp).sum() + aq @ d_perp.sum(axis=0)
    e_loss = e_loss + e_perp + FLOAT_SLACK * (size_loss + 1)
    e_es = e_loss + UNIT

    x = q @ model.exposure.T                                               # (A, U)
    ax = np.abs(x)
    e_x = DQ * (np.abs(model.exposure) + d_expo).sum(axis=1) + aq @ d_expo.T
    e_x = e_x + FLOAT_SLACK * (aq @ np.abs(model.exposure).T + 1)
    w, adv = model.liquidity_weight, model.adv
    adv_lo = adv - d_adv
    e_terms = (d_w * (ax + e_x) ** 2 + w * e_x * (2 * ax + e_x) + w * x * x * d_adv / adv) / adv_lo
    addon = execution_cost(x, adv, w).sum(axis=1)
    e_addon = e_terms.sum(axis=1) + UNIT + FLOAT_SLACK * (addon + 1)

    e_mm = e_es + e_addon
    b = model.params.im_buffer
    e_im = (1 + b + d_buf) * e_mm + d_buf * (size_loss + addon) + UNIT

    p, d = model.collateral_price, 1 - model.haircut
    # (c + dc)(p + dp)(d + dd) - c p d, expanded (every term non-negative).
    e_cv = (DQ * p * d + c * d_price * d + c * p * d_hair + DQ * d_price * d + DQ * p * d_hair
            + c * d_price * d_hair + DQ * d_price * d_hair).sum(axis=1) + UNIT
    e_cv = e_cv + FLOAT_SLACK * (c @ (p * d) + 1)
    e_eq = e_cv + DQ * (np.abs(model.mark) + d_mark).sum() + aq @ d_mark + UNIT
    e_eq = e_eq + FLOAT_SLACK * (aq @ np.abs(model.mark) + 1)
    return FxBounds(e_loss, e_es, e_addon, e_mm, e_im, e_cv, e_eq)
