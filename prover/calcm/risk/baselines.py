"""Baselines for comparison with the portfolio margin, in the same result shape.

- **Siloed** (no cross-asset offsets): the ES of each underlying's positions on
  their own, summed over underlyings::

      ES_silo = sum_u max(0, ES(L_u)),   L_u[s] = -sum_{i on u} q[i] * pnl[s, i] + P_u

  (``P_u`` the perp basis + funding charge of the perps on ``u``, :mod:`calcm.risk.perp_shocks`)

  then ``MM = ES_silo + A`` (same liquidity add-on), ``IM``, ratio and tiers as in
  :mod:`calcm.risk.margin`. ``var`` is the sum of per-silo VaRs. Because the tail
  mean is subadditive, ``ES_portfolio <= ES_silo`` always.
- **Static** fixed ratio (the pre-portfolio-margin venue rule)::

      MM = mm_rate * sum_i |q[i]| * notional[i],   IM = im_multiple * MM

  with ``notional[i]`` the underlying price per unit (options count their full
  underlying notional); defaults 10% and IM = 110% of MM. ``var = es = MM``,
  add-on 0, contributions ``mm_rate * |q| * notional``. ``StaticParams.class_rates``
  sets a flat rate per asset class instead (``majors`` for BTC/ETH, ``alts`` for the
  rest); :func:`calcm.liquidation.ablation.static_class_rates` calibrates it.
- **SPAN-style** scanning range (:func:`span_margin`, :class:`SpanParams`).
- **Deribit-style** portfolio margin (:func:`deribit_margin`, :class:`DeribitParams`).

The two scenario-grid baselines revalue each instrument on a grid of underlying
moves with its delta exposure, ``pnl_grid[g, i] = move[g, u(i)] * exposure[u(i), i]``:
exact for spot and perps, a delta approximation for options (their vol scans are
not modelled; the simulator's books hold no options).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .liquidity import execution_cost
from .margin import MarginModel, MarginResult, tiers
from .perp_shocks import perp_contributions, perp_loss


def _tail(loss: np.ndarray, k: int):
    """(var, tail mean, tail indices) of each row of ``loss`` (A, S)."""
    S = loss.shape[1]
    idx = np.argpartition(loss, S - k, axis=1)[:, S - k:]
    tail = np.take_along_axis(loss, idx, axis=1)
    return tail.min(axis=1), tail.mean(axis=1), idx


def _owner(model: MarginModel, underlying_index: np.ndarray | None) -> np.ndarray:
    """(n,) each instrument's row in ``model.underlyings`` (read from the exposures by default)."""
    if underlying_index is not None:
        return np.asarray(underlying_index)
    if np.any((model.exposure != 0).sum(axis=0) != 1):
        raise ValueError("exposure does not identify each instrument's underlying; pass underlying_index")
    return np.argmax(model.exposure != 0, axis=0)


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
    k = model.k_tail
    owner = _owner(model, underlying_index)
    A = len(q)
    var, es = np.zeros(A), np.zeros(A)
    contrib = np.zeros_like(q)
    for u in range(len(model.underlyings)):
        cols = np.flatnonzero(owner == u)
        if cols.size == 0:
            continue
        pc = None if model.perp_charge is None else model.perp_charge[:, cols]
        loss = -(q[:, cols] @ model.pnl[:, cols].T) + perp_loss(pc, q[:, cols])[:, None]
        v, m, idx = _tail(loss, k)
        var += v
        es += np.maximum(m, 0.0)
        contrib[:, cols] = -q[:, cols] * model.pnl[:, cols][idx].mean(axis=1) + perp_contributions(pc, q[:, cols])
    x = q @ model.exposure.T                                   # (A, U) delta exposure
    addon = execution_cost(x, model.adv, model.liquidity_weight).sum(axis=1)   # the portfolio add-on
    cv, equity = _equity(model, q, c)
    return _finish(model, var, es, addon, contrib, cv, equity, 1 + model.params.im_buffer)


#: Underlyings of the ``majors`` asset class (every other underlying is an ``alt``).
MAJORS = ("BTC", "ETH")


@dataclass(frozen=True)
class StaticParams:
    """mm_rate: MM as a fraction of gross notional (0.10); im_multiple: IM / MM (1.10);
    class_rates: optional ``(majors_rate, alts_rate)``, replacing ``mm_rate`` per asset class."""

    mm_rate: float = 0.10
    im_multiple: float = 1.10
    class_rates: tuple[float, float] | None = None

    def rates(self, underlyings: tuple[str, ...]) -> np.ndarray:
        """(U,) MM rate of each underlying."""
        if self.class_rates is None:
            return np.full(len(underlyings), self.mm_rate)
        return np.array([self.class_rates[0] if u in MAJORS else self.class_rates[1] for u in underlyings])


def static_margin(model: MarginModel, q: np.ndarray, c: np.ndarray, notional: np.ndarray,
                  params: StaticParams | None = None) -> MarginResult:
    """Fixed-ratio margin on gross notional; ``notional`` (n,) USD per unit."""
    p = params or StaticParams()
    q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
    rate = p.mm_rate if p.class_rates is None else p.rates(model.underlyings)[_owner(model, None)]
    contrib = rate * np.abs(q) * np.asarray(notional, float)
    mm = contrib.sum(axis=1)
    cv = c @ (model.collateral_price * (1 - model.haircut))
    equity = cv + q @ model.mark
    return _finish(model, mm, mm, np.zeros(len(q)), contrib, cv, equity, p.im_multiple)


def _equity(model: MarginModel, q: np.ndarray, c: np.ndarray):
    cv = c @ (model.collateral_price * (1 - model.haircut))
    return cv, cv + q @ model.mark


def _grid_loss(model: MarginModel, q: np.ndarray, owner: np.ndarray, u: int, moves: np.ndarray) -> np.ndarray:
    """(A, G) loss of the positions on underlying ``u`` when it moves by ``moves`` (G,) (fractions).

    Delta revaluation: ``-sum_{i on u} q[i] * exposure[u, i] * move``.
    """
    cols = np.flatnonzero(owner == u)
    x = q[:, cols] @ model.exposure[u, cols]                  # (A,) USD delta on u
    return -x[:, None] * np.asarray(moves, float)[None, :]


def underlying_returns(model: MarginModel, owner: np.ndarray) -> np.ndarray:
    """(S, U) scenario return of each underlying, read from one instrument on it.

    ``pnl[s, i] / exposure[u, i]``: exact for a linear instrument (preferred), the
    delta-normalised P&L of an option when an underlying has only options.
    """
    S, U = model.pnl.shape[0], len(model.underlyings)
    out = np.zeros((S, U))
    for u in range(U):
        cols = np.flatnonzero(owner == u)
        if cols.size == 0:
            continue
        e = model.exposure[u, cols]
        i = cols[int(np.argmax(np.abs(e)))]
        out[:, u] = model.pnl[:, i] / model.exposure[u, i] if model.exposure[u, i] != 0 else 0.0
    return out


@dataclass(frozen=True)
class SpanParams:
    """SPAN-style scanning-range margin (data, not code).

    Methodology followed: CME SPAN ("CME SPAN Methodology Overview",
    cmegroup.com/clearing/risk-management/span-overview.html; CME risk-array reports):
    each *combined commodity* (here: an underlying) is scanned on 16 risk scenarios,
    the price moving by 0, +-1/3, +-2/3, +-3/3 of its *price scan range* (PSR), each
    with the volatility up and down (14 scenarios; the vol scan only moves options,
    which are delta-revalued here, so the pairs coincide), and two extreme moves of
    ``extreme_multiple`` x PSR of which only ``extreme_cover`` (35%) of the loss counts.
    Scanning risk = the worst scenario loss (>= 0). Inter-commodity spread credits
    then reduce it for opposite-delta positions on correlated underlyings.

    coverage:              the PSR of an underlying is this quantile of its absolute
                           MPOR scenario return in the day's risk model (CME sets its
                           scan ranges to cover a target share of historical MPOR
                           moves; here, the same scenarios the portfolio ES reads).
    extreme_multiple:      extreme scenarios move 2 x PSR (SPAN default).
    extreme_cover:         share of the extreme loss that counts (SPAN default 35%).
    credit_rate:           inter-commodity spread credit rate (share of each leg's
                           scanning risk released by a matched spread; CME publishes
                           per-pair rates, typically 30-80%).
    credit_min_correlation: pairs whose scenario correlation is below this get no credit.
    """

    coverage: float = 0.99
    extreme_multiple: float = 2.0
    extreme_cover: float = 0.35
    credit_rate: float = 0.5
    credit_min_correlation: float = 0.7

    def __post_init__(self):
        if not (0.5 < self.coverage < 1) or not (0 <= self.credit_rate <= 1):
            raise ValueError("coverage must be in (0.5, 1) and credit_rate in [0, 1]")


def span_margin(model: MarginModel, q: np.ndarray, c: np.ndarray,
                underlying_index: np.ndarray | None = None, params: SpanParams | None = None) -> MarginResult:
    """SPAN-style margin of positions q (A, n) and collateral c (A, m) (see :class:`SpanParams`).

    ``MM = sum_u scan_u - credits``; ``var = es = MM``, add-on 0, IM = MM * (1 + im_buffer);
    contributions: each instrument's share of its underlying's scanning risk.
    """
    p = params or SpanParams()
    q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
    owner = _owner(model, underlying_index)
    r = underlying_returns(model, owner)
    psr = np.quantile(np.abs(r), p.coverage, axis=0)                     # (U,)
    steps = np.array([0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0])
    A, U = len(q), len(model.underlyings)
    scan = np.zeros((A, U))
    delta = np.zeros((A, U))
    for u in range(U):
        if not np.any(owner == u):
            continue
        regular = _grid_loss(model, q, owner, u, steps * psr[u]).max(axis=1)
        extreme = p.extreme_cover * _grid_loss(model, q, owner, u,
                                               np.array([1, -1]) * p.extreme_multiple * psr[u]).max(axis=1)
        scan[:, u] = np.maximum(np.maximum(regular, extreme), 0.0)
        cols = np.flatnonzero(owner == u)
        delta[:, u] = q[:, cols] @ model.exposure[u, cols]
    credit = np.zeros(A)
    rem = scan.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(r.T)) if U > 1 else np.ones((1, 1))
    pairs = sorted(((corr[u, v], u, v) for u in range(U) for v in range(u + 1, U)
                    if corr[u, v] >= p.credit_min_correlation), reverse=True)
    for _, u, v in pairs:                     # highest correlation first (SPAN's priority order)
        opposite = np.sign(delta[:, u]) * np.sign(delta[:, v]) < 0
        matched = np.where(opposite, np.minimum(rem[:, u], rem[:, v]), 0.0)
        credit += 2 * p.credit_rate * matched
        rem[:, u] -= matched
        rem[:, v] -= matched
    mm = np.maximum(scan.sum(axis=1) - credit, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(scan.sum(axis=1, keepdims=True) > 0, scan / scan.sum(axis=1, keepdims=True), 0.0)
    contrib = np.zeros_like(q)
    for u in range(U):
        cols = np.flatnonzero(owner == u)
        g = np.abs(q[:, cols] * model.exposure[u, cols])
        tot = g.sum(axis=1, keepdims=True)
        contrib[:, cols] = (mm * share[:, u])[:, None] * np.where(tot > 0, g / np.where(tot > 0, tot, 1), 0)
    cv, equity = _equity(model, q, c)
    return _finish(model, mm, mm, np.zeros(A), contrib, cv, equity, 1 + model.params.im_buffer)


@dataclass(frozen=True)
class DeribitParams:
    """Deribit-style segregated portfolio margin (data, not code).

    Methodology followed: Deribit "Portfolio Margin" (support.deribit.com, article
    25944756247837, Segregated Portfolio Margin S:PM) and its earlier published
    parameters (deribit.com/pages/docs/portfoliomargin): each settlement currency
    (here: each underlying) is stress-tested on its own, with no offsets across
    currencies; the underlying moves over ``buckets`` (9) evenly spaced prices in
    ``[-range, +range]`` (the article's example: +-16%), an *extended table* of
    large moves counts a fraction of its P&L, and a *contingency* of 1% of the
    underlying value of offsetting futures is added. MM = worst scenario loss +
    contingency; the ranges are fixed, not volatility-scaled.

    major_range / alt_range: price range of BTC/ETH (16%, Deribit's example) and of
                      every other underlying (24%: 1.5x, our choice; Deribit sets
                      ranges per currency and does not publish one for each alt).
    extended_moves / extended_weight: the extended table (-66%, -33%, +50%, +100%,
                      as in the article) and the share of its P&L counted (our
                      choice, 0.15: Deribit applies an unpublished dampener).
    futures_contingency: share of the offsetting linear notional ``(gross - |net|) / 2``
                      on one underlying (1%, Deribit's published value).
    """

    major_range: float = 0.16
    alt_range: float = 0.24
    buckets: int = 9
    extended_moves: tuple[float, ...] = (-0.66, -0.33, 0.5, 1.0)
    extended_weight: float = 0.15
    futures_contingency: float = 0.01

    def __post_init__(self):
        if self.buckets < 3 or self.buckets % 2 == 0:
            raise ValueError("buckets must be odd and >= 3 (a zero-move bucket)")
        if not (0 < self.major_range < 1 and 0 < self.alt_range < 1):
            raise ValueError("price ranges must be in (0, 1)")


def deribit_margin(model: MarginModel, q: np.ndarray, c: np.ndarray,
                   underlying_index: np.ndarray | None = None,
                   params: DeribitParams | None = None) -> MarginResult:
    """Deribit-style margin of positions q (A, n) and collateral c (A, m) (see :class:`DeribitParams`).

    ``MM = sum_u [max(0, worst grid loss_u, weight * worst extended loss_u) + contingency_u]``.
    """
    p = params or DeribitParams()
    q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
    owner = _owner(model, underlying_index)
    A, U = len(q), len(model.underlyings)
    mm = np.zeros(A)
    contrib = np.zeros_like(q)
    for u, name in enumerate(model.underlyings):
        cols = np.flatnonzero(owner == u)
        if cols.size == 0:
            continue
        rng = p.major_range if name in MAJORS else p.alt_range
        worst = _grid_loss(model, q, owner, u, np.linspace(-rng, rng, p.buckets)).max(axis=1)
        ext = p.extended_weight * _grid_loss(model, q, owner, u, np.array(p.extended_moves)).max(axis=1)
        x = q[:, cols] * model.exposure[u, cols]                     # (A, k) USD delta per instrument
        offset = (np.abs(x).sum(axis=1) - np.abs(x.sum(axis=1))) / 2
        mm_u = np.maximum(np.maximum(worst, ext), 0.0) + p.futures_contingency * offset
        mm += mm_u
        g = np.abs(x)
        tot = g.sum(axis=1, keepdims=True)
        contrib[:, cols] = mm_u[:, None] * np.where(tot > 0, g / np.where(tot > 0, tot, 1), 0)
    cv, equity = _equity(model, q, c)
    return _finish(model, mm, mm, np.zeros(A), contrib, cv, equity, 1 + model.params.im_buffer)
