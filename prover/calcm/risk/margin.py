"""Portfolio margin: Expected Shortfall over a scenario P&L matrix (float model).

Inputs are the per-block *margin model* (public: the instrument-by-scenario
P&L matrix, marks, delta exposures, collateral prices, haircuts, liquidity data
and parameters) and the accounts' positions and collateral (private).

For an account with positions ``q`` (n,) and collateral ``c`` (m,):

- scenario loss         ``L[s] = -sum_i q[i] * pnl[s, i]``          (USD, S scenarios)
- tail size             ``k = ceil((1 - alpha) * S)``
- Value at Risk         ``VaR = k-th largest L``
- Expected Shortfall    ``ES = max(0, mean of the k largest L)``
- delta exposure        ``X[u] = sum_i q[i] * exposure[u, i]``       (USD per underlying)
- liquidity add-on      ``A = sum_u w[u] * X[u]**2 / ADV[u]``        (linear price impact
  of unwinding ``X[u]`` against an average daily volume ``ADV[u]``)
- maintenance margin    ``MM = ES + A``
- initial margin        ``IM = MM * (1 + im_buffer)``
- collateral value      ``CV = sum_j c[j] * price[j] * (1 - haircut[j])``
- equity                ``E = CV + sum_i q[i] * mark[i]``
- margin ratio          ``E / MM`` (inf when MM = 0)
- health tier           ``LIQUIDATABLE`` if E < MM, ``NO_NEW_RISK`` if E < IM,
  ``WARNING`` if E < IM * (1 + warn_buffer), else ``HEALTHY``
- Euler contribution    ``ES_i = -q[i] * mean_{s in tail} pnl[s, i]`` (sums to the
  unfloored ES: what drives the account's margin)

The exact integer twin of this model is :mod:`calcm.risk.fixed_margin`; the
circuits reproduce that twin bit for bit.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


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
    """(A, k) indices of the k largest entries of each row (unordered); fast twin of
    :func:`top_k_reference` (same multiset of values; ties may pick other indices).

    Per-row ``argpartition`` costs a C call per row, which dominates for S ~ 1000;
    both paths below work on whole columns of rows at a time instead.
    """
    A, S = loss.shape
    b = _block_size(S, k)
    if b:
        return _top_k_tournament(loss, k, b)
    return _top_k_prefilter(loss, k)


def _block_size(S: int, k: int) -> int:
    """A block size b ~ 25 dividing S with at least 2k blocks, or 0 if there is none."""
    for b in (25, 20, 40, 16, 32, 30, 24, 15, 12, 10, 8, 6, 5, 4):
        if S % b == 0 and S // b >= 2 * k:
            return b
    return 0


def _top_k_tournament(loss: np.ndarray, k: int, b: int) -> np.ndarray:
    """k rounds of "take the largest remaining value", vectorised over rows.

    Columns form ``nb = S / b`` contiguous blocks whose maxima are kept up to date:
    each round takes the best block, the best entry in it, masks that entry with
    -inf and refreshes that block's maximum, touching ``nb + 3b`` values per row
    instead of S. ``loss`` is masked in place during the call and restored before
    it returns.
    """
    A, S = loss.shape
    nb = S // b
    blocks = loss.reshape(A, nb, b)
    rows = np.arange(A)
    block_max = blocks.max(axis=2)                            # (A, nb)
    idx = np.empty((A, k), dtype=np.intp)
    val = np.empty((A, k))
    for t in range(k):
        j = block_max.argmax(axis=1)                          # best block of each row
        val[:, t] = block_max[rows, j]
        blk = blocks[rows, j, :]                              # (A, b) copy of it
        w = blk.argmax(axis=1)
        idx[:, t] = j * b + w
        blk[rows, w] = -np.inf
        blocks[rows, j, w] = -np.inf
        block_max[rows, j] = blk.max(axis=1)
    np.put_along_axis(loss, idx, val, axis=1)                 # undo the masking
    return idx


def _top_k_prefilter(loss: np.ndarray, k: int, block: int = 20) -> np.ndarray:
    """Block-maximum prefilter, then argpartition on the candidates only.

    Columns ``[0, b*nb)`` are split into ``nb = S // b`` interleaved blocks; the
    remaining ``S - b*nb`` columns are always candidates. If ``x`` is among the k
    largest of its row, fewer than k blocks hold an element larger than ``x``, so
    ``x``'s block is among the k blocks with the largest maxima: the k largest of
    those ``k*b`` candidates (plus the remainder) are the k largest of the row.
    """
    A, S = loss.shape
    b = min(block, S // (4 * k))
    if b < 2:
        return top_k_reference(loss, k)
    nb = S // b
    main = loss[:, : b * nb].reshape(A, b, nb)
    best = np.argpartition(main.max(axis=1), nb - k, axis=1)[:, nb - k:]          # (A, k) blocks
    cand = np.take_along_axis(main, best[:, None, :], axis=2).reshape(A, b * k)
    cand_col = (np.arange(b)[:, None] * nb + best[:, None, :]).reshape(A, b * k)
    if b * nb < S:  # remainder columns join every row's candidates
        rest = np.arange(b * nb, S)
        cand = np.concatenate([cand, loss[:, b * nb:]], axis=1)
        cand_col = np.concatenate([cand_col, np.broadcast_to(rest, (A, len(rest)))], axis=1)
    c = cand.shape[1]
    sel = np.argpartition(cand, c - k, axis=1)[:, c - k:]
    return np.take_along_axis(cand_col, sel, axis=1)


class PortfolioMargin:
    """Float ES portfolio margin over a :class:`MarginModel`, vectorised and chunked.

    ``chunk`` bounds memory: the loss matrix of one chunk is ``chunk x S`` floats.
    ``threads``: the per-row tail work (selection, ES, Euler contributions) of a
    chunk runs on this many row slices at once (numpy releases the GIL there);
    the loss product itself is left to BLAS's own threads so the two never
    oversubscribe the cores. ``threads=1`` is fully serial; results are identical.
    """

    #: Fewer rows than this run serially (a thread pool would cost more than it saves).
    MIN_PARALLEL = 256

    def __init__(self, model: MarginModel, chunk: int = 2048, threads: int | None = None):
        self.model = model
        self.chunk = int(chunk)
        self.threads = max(1, min(os.cpu_count() or 1, 4) if threads is None else int(threads))
        self._pnl_t = np.ascontiguousarray(model.pnl.T)  # (n, S): losses = -(Q @ pnl.T)
        self._credit = model.collateral_price * (1.0 - model.haircut)

    def losses(self, q: np.ndarray) -> np.ndarray:
        """Scenario losses (A, S) for positions ``q`` (A, n); positive = loss."""
        loss = np.atleast_2d(q) @ self._pnl_t
        return np.negative(loss, out=loss)

    def compute(self, q: np.ndarray, c: np.ndarray) -> MarginResult:
        """Margins for positions ``q`` (A, n) and collateral ``c`` (A, m)."""
        q, c = np.atleast_2d(np.asarray(q, float)), np.atleast_2d(np.asarray(c, float))
        pool = ThreadPoolExecutor(self.threads) if self.threads > 1 and len(q) >= self.MIN_PARALLEL else None
        try:
            parts = [self._compute_chunk(q[i:i + self.chunk], c[i:i + self.chunk], pool)
                     for i in range(0, len(q), self.chunk)] or [self._compute_chunk(q, c, None)]
        finally:
            if pool is not None:
                pool.shutdown()
        return MarginResult(*(np.concatenate([getattr(p, f) for p in parts])
                              for f in MarginResult.__dataclass_fields__))

    def _tail(self, loss: np.ndarray, q: np.ndarray):
        """(VaR, unfloored ES, Euler contributions) of the rows of ``loss`` (A, S)."""
        pnl, k = self.model.pnl, self.model.k_tail
        tail_idx = top_k(loss, k)                               # (A, k), unordered
        tail = np.take_along_axis(loss, tail_idx, axis=1)
        # Euler allocation: ES = sum_i -q_i * E[pnl_i | tail]. Summing k row gathers
        # avoids an (A, k, n) temporary.
        tail_pnl = pnl[tail_idx[:, 0]]
        for j in range(1, k):
            tail_pnl += pnl[tail_idx[:, j]]
        return tail.min(axis=1), tail.mean(axis=1), -q * (tail_pnl / k)

    def _tails(self, loss: np.ndarray, q: np.ndarray, pool: ThreadPoolExecutor | None):
        A = len(loss)
        if pool is None or A < self.MIN_PARALLEL:
            return self._tail(loss, q)
        cuts = np.linspace(0, A, self.threads + 1).astype(int)
        parts = list(pool.map(lambda ab: self._tail(loss[ab[0]:ab[1]], q[ab[0]:ab[1]]),
                              zip(cuts[:-1], cuts[1:])))
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))

    def _compute_chunk(self, q: np.ndarray, c: np.ndarray, pool: ThreadPoolExecutor | None) -> MarginResult:
        m = self.model
        var, es_raw, contributions = self._tails(self.losses(q), q, pool)
        es = np.maximum(es_raw, 0.0)
        x = q @ m.exposure.T                                    # (A, U)
        addon = (m.liquidity_weight * x * x / m.adv).sum(axis=1)
        mm = es + addon
        im = mm * (1 + m.params.im_buffer)
        cv = c @ self._credit
        equity = cv + q @ m.mark
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(mm > 0, equity / np.where(mm > 0, mm, 1), np.inf)
        return MarginResult(var, es, addon, mm, im, cv, equity, ratio,
                            tiers(equity, mm, im, m.params.warn_buffer), contributions)
