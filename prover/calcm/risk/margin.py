"""Portfolio margin: Expected Shortfall over a scenario P&L matrix (float model).

Inputs are the per-block *margin model* (public: the instrument-by-scenario
P&L matrix, marks, delta exposures, collateral prices, haircuts, liquidity data
and parameters) and the accounts' positions and collateral (private).

For an account with positions ``q`` (n,) and collateral ``c`` (m,):

- scenario loss         ``L[s] = -sum_i q[i] * pnl[s, i] + P``      (USD, S scenarios)
- perp basis/funding    ``P = sum_u |sum_i q[i] * perp_charge[u, i]|`` (the same in every
  scenario, :mod:`.perp_shocks`: ES and VaR rise by exactly ``P``, the tail set is unchanged)
- tail size             ``k = ceil((1 - alpha) * S)``
- Value at Risk         ``VaR = k-th largest L``
- Expected Shortfall    ``ES = max(0, mean of the k largest L)``
- delta exposure        ``X[u] = sum_i q[i] * exposure[u, i]``       (USD per underlying)
- liquidity add-on      ``A = sum_u w[u] * X[u]**2 / ADV[u]``        (cost of closing ``X[u]``
  under the one impact law, :mod:`.liquidity`; ``ADV[u]`` the average daily volume)
- maintenance margin    ``MM = ES + A``
- initial margin        ``IM = MM * (1 + im_buffer)``
- collateral value      ``CV = sum_j c[j] * price[j] * (1 - haircut[j])``
- equity                ``E = CV + sum_i q[i] * mark[i]``
- margin ratio          ``E / MM`` (inf when MM = 0)
- health tier           ``LIQUIDATABLE`` if E < MM, ``NO_NEW_RISK`` if E < IM,
  ``WARNING`` if E < IM * (1 + warn_buffer), else ``HEALTHY``
- Euler contribution    ``ES_i = -q[i] * mean_{s in tail} pnl[s, i]
  + q[i] * sum_u sign(pq_u) perp_charge[u, i]`` (``pq_u`` the net perp quantity on ``u``;
  sums to the unfloored ES: what drives the account's margin)

The exact integer twin of this model is :mod:`calcm.risk.fixed_margin`; the
circuits reproduce that twin bit for bit.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from scipy.sparse import csr_matrix

from .blas import pinned_pool_map, single_blas_thread
from .liquidity import execution_cost
from .perp_shocks import perp_contributions, perp_loss


class Tier(IntEnum):
    """Health tiers, in order of severity (the value is what the circuit outputs)."""

    HEALTHY = 0
    WARNING = 1
    NO_NEW_RISK = 2
    LIQUIDATABLE = 3


@dataclass(frozen=True)
class MarginParams:
    """Margin parameters (data, not code).

    es_level:     ES confidence level alpha (0.99 default; 0.975 is the Basel level).
    im_buffer:    IM = MM * (1 + im_buffer).
    warn_buffer:  WARNING while equity < IM * (1 + warn_buffer).
    """

    es_level: float = 0.99
    im_buffer: float = 0.25
    warn_buffer: float = 0.20

    def __post_init__(self):
        if not (0.5 <= self.es_level < 1):
            raise ValueError(f"es_level must be in [0.5, 1), got {self.es_level}")
        if not (0 <= self.im_buffer < 5) or not (0 <= self.warn_buffer < 5):
            raise ValueError("im_buffer and warn_buffer must be in [0, 5)")

    def k_tail(self, n_scenarios: int) -> int:
        """Number of scenarios in the ES tail: ``ceil((1 - alpha) * S)``, at least 1."""
        # The epsilon stops 0.01 * 1000 = 10.000000000000002 from becoming 11.
        return max(1, math.ceil((1 - self.es_level) * n_scenarios - 1e-9))


@dataclass(frozen=True)
class MarginModel:
    """The public per-block margin model (float).

    Shapes: ``S`` scenarios, ``n`` instruments, ``U`` underlyings, ``m`` collateral assets.

    pnl:              (S, n) USD P&L of one unit of each instrument in each scenario.
    mark:             (n,)   USD value of one unit now (spot: price; perp: 0; option: premium).
    exposure:         (U, n) USD delta notional of one unit on each underlying.
    collateral_price: (m,)   USD per collateral token.
    haircut:          (m,)   fraction of collateral value not credited, in [0, 1).
    adv:              (U,)   USD average daily volume per underlying (> 0).
    liquidity_weight: (U,)   add-on weight per underlying (>= 0).
    perp_charge:      (U, n) USD per unit: the adverse basis + funding of one unit of a perp
                      on ``u`` (``S_u * perp_shock_bps[u] / 1e4``), 0 for spot and options;
                      None means zeros (:mod:`.perp_shocks`). Finite, >= 0.
    """

    instrument_ids: tuple[str, ...]
    underlyings: tuple[str, ...]
    collateral_assets: tuple[str, ...]
    pnl: np.ndarray
    mark: np.ndarray
    exposure: np.ndarray
    collateral_price: np.ndarray
    haircut: np.ndarray
    adv: np.ndarray
    liquidity_weight: np.ndarray
    params: MarginParams = field(default_factory=MarginParams)
    perp_charge: np.ndarray | None = None

    def __post_init__(self):
        S, n = np.shape(self.pnl)
        U, m = len(self.underlyings), len(self.collateral_assets)
        expect = {"mark": (n,), "exposure": (U, n), "collateral_price": (m,),
                  "haircut": (m,), "adv": (U,), "liquidity_weight": (U,)}
        for name, shape in expect.items():
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} has shape {np.shape(getattr(self, name))}, expected {shape}")
        if len(self.instrument_ids) != n:
            raise ValueError("instrument_ids does not match pnl columns")
        for name in ("pnl", "mark", "exposure", "collateral_price", "haircut", "adv", "liquidity_weight"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} has non-finite values")
        if np.any(self.adv <= 0):
            raise ValueError("adv must be > 0")
        if np.any((self.haircut < 0) | (self.haircut >= 1)):
            raise ValueError("haircut must be in [0, 1)")
        if self.perp_charge is not None:
            pc = np.asarray(self.perp_charge, float)
            object.__setattr__(self, "perp_charge", pc)
            if np.shape(pc) != (U, n):
                raise ValueError(f"perp_charge has shape {np.shape(pc)}, expected {(U, n)}")
            if not np.all(np.isfinite(pc)) or np.any(pc < 0):
                raise ValueError("perp_charge must be finite and >= 0")

    def perp_loss(self, q: np.ndarray) -> np.ndarray:
        """(A,) USD >= 0: the perp basis + funding loss of ``q`` (A, n) (:func:`.perp_shocks.perp_loss`)."""
        return perp_loss(self.perp_charge, q)

    def perp_contributions(self, q: np.ndarray) -> np.ndarray:
        """(A, n) USD: each position's share of :meth:`perp_loss` (:func:`.perp_shocks.perp_contributions`)."""
        return perp_contributions(self.perp_charge, q)

    @property
    def n_scenarios(self) -> int:
        return self.pnl.shape[0]

    @property
    def k_tail(self) -> int:
        return self.params.k_tail(self.n_scenarios)


@dataclass(frozen=True)
class MarginResult:
    """Per-account margins; every array has the accounts on axis 0 (A accounts).

    All money in USD. ``contributions`` is (A, n): Euler ES contribution per position.
    """

    var: np.ndarray
    es: np.ndarray
    addon: np.ndarray
    mm: np.ndarray
    im: np.ndarray
    collateral_value: np.ndarray
    equity: np.ndarray
    ratio: np.ndarray
    tier: np.ndarray
    contributions: np.ndarray


def tiers(equity: np.ndarray, mm: np.ndarray, im: np.ndarray, warn_buffer: float) -> np.ndarray:
    """Health tiers from equity and requirements (see :class:`Tier`)."""
    t = np.full(np.shape(equity), int(Tier.HEALTHY), dtype=np.int8)
    t[equity < im * (1 + warn_buffer)] = Tier.WARNING
    t[equity < im] = Tier.NO_NEW_RISK
    t[equity < mm] = Tier.LIQUIDATABLE
    return t


def top_k_reference(loss: np.ndarray, k: int) -> np.ndarray:
    """(A, k) indices of the k largest entries of each row (unordered): plain argpartition.

    The reference twin of :func:`top_k`.
    """
    S = loss.shape[1]
    return np.argpartition(loss, S - k, axis=1)[:, S - k:]


def top_k(loss: np.ndarray, k: int) -> np.ndarray:
    """(A, k) indices of the k largest entries of each row of ``loss`` (A, S), in tail order.

    Tail order is the published tie rule (docs/PROVING.md §2): loss descending, then
    scenario index ascending, so ``idx[:, -1]`` is the threshold scenario. Exact for
    float and integer arrays (comparisons only); equal to
    ``np.argsort(-loss, kind="stable")[:, :k]`` (:func:`top_k_sorted_reference`).

    Method (a threshold prefilter, vectorised over rows; no per-row Python or C calls):

    1. the first ``b * nb`` columns are cut into ``nb >= k`` strided blocks
       ``{j, j + nb, j + 2 nb, ...}``; ``t0`` = the k-th largest block maximum. Those
       k blocks hold k distinct entries ``>= t0``, so the row's k-th largest value is
       ``>= t0`` and every tail entry (including ties) is a *candidate* ``loss >= t0``;
    2. the candidates (about k + k/4 per row on smooth data) are packed, in column
       order, into an (A, 2k) matrix padded with the lowest value, and each row is
       stable-sorted by loss descending; rows with more than 2k candidates (plateaus
       of equal losses) take a stable sort of all their candidates instead.
    """
    A, S = loss.shape
    if not 1 <= k <= S:
        raise ValueError(f"k={k} not in [1, {S}]")
    nb = min(S, max(40, 4 * k))
    b = S // nb
    block_max = loss[:, : b * nb].reshape(A, b, nb).max(axis=1)                 # (A, nb)
    t0 = np.partition(block_max, nb - k, axis=1)[:, nb - k]
    flat = np.flatnonzero(loss >= t0[:, None])                                    # row-major
    rows = flat // S
    counts = np.bincount(rows, minlength=A)                                       # >= k each
    first = np.cumsum(counts) - counts
    W = min(S, 2 * k)
    pos = np.arange(len(flat)) - first[rows]                                      # rank in its row
    fit = pos < W
    low = -np.inf if loss.dtype.kind == "f" else np.iinfo(loss.dtype).min
    packed = np.full((A, W), low, dtype=loss.dtype)
    cols = np.full((A, W), S, dtype=np.intp)
    r, p, f = rows[fit], pos[fit], flat[fit]
    packed[r, p] = loss.ravel()[f]
    cols[r, p] = f - r * S
    order = np.argsort(_descending_key(packed), axis=1, kind="stable")[:, :k]   # ties: column order
    idx = np.take_along_axis(cols, order, axis=1)
    wide = np.flatnonzero(counts > W)
    if wide.size:
        idx[wide] = _top_k_candidates(loss[wide], k, t0[wide])
    return idx


def _top_k_candidates(loss: np.ndarray, k: int, t0: np.ndarray) -> np.ndarray:
    """Tail-order top k of rows whose candidates ``loss >= t0`` are many: two stable sorts."""
    A, S = loss.shape
    flat = np.flatnonzero(loss >= t0[:, None])
    vals = loss.ravel()[flat]
    by_val = np.argsort(_descending_key(vals), kind="stable")                     # ties: index order
    rows = flat // S
    order = by_val[np.argsort(rows[by_val], kind="stable")]
    counts = np.bincount(rows, minlength=A)
    first = np.cumsum(counts) - counts
    return flat[order[first[:, None] + np.arange(k)]] - (np.arange(A) * S)[:, None]


def _descending_key(v: np.ndarray) -> np.ndarray:
    """A key whose ascending order is ``v`` descending (``~v`` for integers: no overflow)."""
    return np.invert(v) if np.issubdtype(v.dtype, np.integer) else np.negative(v)


def top_k_sorted_reference(loss: np.ndarray, k: int) -> np.ndarray:
    """(A, k) tail-order indices by a full stable sort: the reference twin of :func:`top_k`."""
    return np.argsort(_descending_key(loss), axis=1, kind="stable")[:, :k]


class PortfolioMargin:
    """Float ES portfolio margin over a :class:`MarginModel`, vectorised and chunked.

    Accounts are processed in row chunks of ``chunk`` (the loss matrix of one chunk,
    ``chunk x S`` floats, stays in cache between the product and the tail work).
    ``threads`` workers each take whole chunks (product, tail selection, ES, Euler
    contributions, add-on, tiers), with their BLAS calls pinned to one thread
    (:func:`single_blas_thread`) so workers and BLAS never oversubscribe the cores
    and no small product pays BLAS's thread hand-off. ``threads=1`` is fully serial (one
    core, BLAS included); results are identical for any ``chunk`` / ``threads``.
    """

    #: Fewer rows than this run serially (a thread pool would cost more than it saves).
    MIN_PARALLEL = 256

    def __init__(self, model: MarginModel, chunk: int = 512, threads: int | None = None):
        self.model = model
        self.chunk = int(chunk)
        self.threads = max(1, min(os.cpu_count() or 1, 4) if threads is None else int(threads))
        # Instruments with the same P&L column (spot and perps on one underlying) are netted
        # first, as the fixed-point model does: losses = (Q @ net) @ (-distinct.T).
        pnl, self._net = model.pnl, None
        # Columns grouped by a random projection, then checked for exact equality.
        probe = np.random.default_rng(0).standard_normal(pnl.shape[0]) @ pnl
        _, first, owner = np.unique(probe, return_index=True, return_inverse=True)
        if len(first) < pnl.shape[1] and np.array_equal(pnl[:, first[owner]], pnl):
            self._net = np.zeros((pnl.shape[1], len(first)))
            self._net[np.arange(pnl.shape[1]), owner] = 1.0
            pnl = pnl[:, first]
        self._neg_pnl_t = np.ascontiguousarray(-pnl.T)
        self._exposure_t = np.ascontiguousarray(model.exposure.T)  # (n, U)
        self._credit = model.collateral_price * (1.0 - model.haircut)

    def losses(self, q: np.ndarray) -> np.ndarray:
        """Scenario losses (A, S) for positions ``q`` (A, n); positive = loss (perp charge included)."""
        q = np.atleast_2d(q)
        base = (q if self._net is None else q @ self._net) @ self._neg_pnl_t
        if self.model.perp_charge is None:
            return base
        return base + self.model.perp_loss(q)[:, None]

    def compute(self, q: np.ndarray, c: np.ndarray) -> MarginResult:
        """Margins for positions ``q`` (A, n) and collateral ``c`` (A, m)."""
        q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
        cuts = list(range(0, len(q), self.chunk)) or [0]
        run = lambda i: self._compute_chunk(q[i:i + self.chunk], c[i:i + self.chunk])  # noqa: E731
        if self.threads > 1 and len(q) >= self.MIN_PARALLEL and len(cuts) > 1:
            parts = pinned_pool_map(run, cuts, self.threads)
        else:
            parts = [single_blas_thread(run, i) for i in cuts]
        return MarginResult(*(np.concatenate([getattr(p, f) for p in parts])
                              for f in MarginResult.__dataclass_fields__))

    def _tail(self, loss: np.ndarray, q: np.ndarray):
        """(VaR, unfloored ES, Euler contributions) of the rows of ``loss`` (A, S)."""
        pnl, k = self.model.pnl, self.model.k_tail
        tail_idx = top_k(loss, k)                               # (A, k), tail order
        tail = np.take_along_axis(loss, tail_idx, axis=1)
        # Euler allocation: ES = sum_i -q_i * E[pnl_i | tail], E[pnl | tail] = T @ pnl with
        # T (A, S) sparse, 1/k on each tail scenario (no (A, k, n) temporary).
        A = len(tail_idx)
        weights = csr_matrix((np.full(A * k, 1.0 / k), tail_idx.ravel(), np.arange(0, A * k + 1, k)),
                             shape=(A, pnl.shape[0]))
        return tail[:, -1], tail.mean(axis=1), -q * (weights @ pnl) + self.model.perp_contributions(q)

    def _compute_chunk(self, q: np.ndarray, c: np.ndarray) -> MarginResult:
        m = self.model
        var, es_raw, contributions = self._tail(self.losses(q), q)
        es = np.maximum(es_raw, 0.0)
        x = q @ self._exposure_t                                # (A, U)
        addon = execution_cost(x, m.adv, m.liquidity_weight).sum(axis=1)   # the impact law's cost of X
        mm = es + addon
        im = mm * (1 + m.params.im_buffer)
        cv = c @ self._credit
        equity = cv + q @ m.mark
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(mm > 0, equity / np.where(mm > 0, mm, 1), np.inf)
        return MarginResult(var, es, addon, mm, im, cv, equity, ratio,
                            tiers(equity, mm, im, m.params.warn_buffer), contributions)
