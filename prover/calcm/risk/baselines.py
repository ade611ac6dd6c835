"""Baselines for comparison with the portfolio margin, in the same result shape.

- **Siloed** (no cross-asset offsets): the ES of each underlying's positions on
  their own, summed over underlyings::

      ES_silo = sum_u max(0, ES(L_u)),   L_u[s] = -sum_{i on u} q[i] * pnl[s, i]

  then ``MM = ES_silo + A`` (same liquidity add-on), ``IM``, ratio and tiers as in
  :mod:`calcm.risk.margin`. ``var`` is the sum of per-silo VaRs. Because the tail
  mean is subadditive, ``ES_portfolio <= ES_silo`` always.
- **Static** fixed ratio (the pre-portfolio-margin venue rule)::

      MM = mm_rate * sum_i |q[i]| * notional[i],   IM = im_multiple * MM

  with ``notional[i]`` the underlying price per unit (options count their full
  underlying notional); defaults 10% and IM = 110% of MM. ``var = es = MM``,
  add-on 0, contributions ``mm_rate * |q| * notional``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .margin import MarginModel, MarginResult, PortfolioMargin, tiers


def _tail(loss: np.ndarray, k: int):
    """(var, tail mean, tail indices) of each row of ``loss`` (A, S)."""
    S = loss.shape[1]
    idx = np.argpartition(loss, S - k, axis=1)[:, S - k:]
    tail = np.take_along_axis(loss, idx, axis=1)
    return tail.min(axis=1), tail.mean(axis=1), idx


def _finish(model: MarginModel, var, es, addon, contributions, cv, equity, im_factor) -> MarginResult:
    mm = es + addon
    im = mm * im_factor
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(mm > 0, equity / np.where(mm > 0, mm, 1), np.inf)
    return MarginResult(var, es, addon, mm, im, cv, equity, ratio,
                        tiers(equity, mm, im, model.params.warn_buffer), contributions)


def siloed_margin(model: MarginModel, q: np.ndarray, c: np.ndarray,
                  underlying_index: np.ndarray | None = None) -> MarginResult:
    """Per-underlying ES summed (no cross-asset offsets); q (A, n), c (A, m).

    ``underlying_index`` (n,): each instrument's row in ``model.underlyings``; by
    default read from the exposure matrix (one non-zero row per instrument).
    """
    q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
    pm = PortfolioMargin(model)
    k = model.k_tail
    if underlying_index is None:
        if np.any((model.exposure != 0).sum(axis=0) != 1):
            raise ValueError("exposure does not identify each instrument's underlying; pass underlying_index")
        underlying_index = np.argmax(model.exposure != 0, axis=0)
    owner = np.asarray(underlying_index)
    A = len(q)
    var, es = np.zeros(A), np.zeros(A)
    contrib = np.zeros_like(q)
    for u in range(len(model.underlyings)):
        cols = np.flatnonzero(owner == u)
        if cols.size == 0:
            continue
        loss = -(q[:, cols] @ model.pnl[:, cols].T)
        v, m, idx = _tail(loss, k)
        var += v
        es += np.maximum(m, 0.0)
        contrib[:, cols] = -q[:, cols] * model.pnl[:, cols][idx].mean(axis=1)
    full = pm.compute(q, c)  # same add-on, collateral value and equity
    return _finish(model, var, es, full.addon, contrib, full.collateral_value, full.equity,
                   1 + model.params.im_buffer)


@dataclass(frozen=True)
class StaticParams:
    """mm_rate: MM as a fraction of gross notional (0.10); im_multiple: IM / MM (1.10)."""

    mm_rate: float = 0.10
    im_multiple: float = 1.10


def static_margin(model: MarginModel, q: np.ndarray, c: np.ndarray, notional: np.ndarray,
                  params: StaticParams | None = None) -> MarginResult:
    """Fixed-ratio margin on gross notional; ``notional`` (n,) USD per unit."""
    p = params or StaticParams()
    q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
    contrib = p.mm_rate * np.abs(q) * np.asarray(notional, float)
    mm = contrib.sum(axis=1)
    cv = c @ (model.collateral_price * (1 - model.haircut))
    equity = cv + q @ model.mark
    return _finish(model, mm, mm, np.zeros(len(q)), contrib, cv, equity, p.im_multiple)
