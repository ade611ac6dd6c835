"""The fixed-point margin of many accounts at once: :func:`margin_fx`, vectorised, bit for bit.

:func:`margins_fx_batch` returns exactly the integers of :func:`~calcm.risk.fixed_margin.margin_fx`
(the numbers the margin circuit proves and ``calcm margin`` publishes) for every
account, as int64 arrays. Python ints are used only where a screen below cannot
prove that the int64 / float64 arithmetic is exact; such an account goes through
the scalar :func:`margin_fx` (which also raises the same
:class:`~calcm.fixedpoint.FixedPointRangeError` for an account out of range).

Exactness argument (ranges from :mod:`calcm.fixedpoint`)
---------------------------------------------------------
Inputs: ``|q| < 2**40`` (QTY), ``0 <= c < 2**40`` (COLLATERAL), model values
``|v| < 2**48`` (PRICE), rates ``< 2**16``; every checked intermediate is MONEY,
``|x| < 2**63``. Two facts carry everything:

1. *Wrapping arithmetic is exact modulo 2**64.* Sums and products are formed on
   uint64 views (well-defined wrap-around); the int64 read-back equals the true
   integer whenever the true value lies in ``[-2**63, 2**63)``. A float64 *bound*
   per account (sums of absolute values, times ``1 + 2**-40``: a float sum of K
   non-negative terms errs by at most ``K 2**-53 < 2**-40`` relatively for K < 2**13)
   proves that: every wrapped quantity below is used only if its bound is
   ``< SAFE = 2**62``; otherwise the account is a fallback account. Since MONEY
   is ``|x| < 2**63``, a screened value also passes its MONEY check.
2. *A float64 matrix product of integers is exact when every partial sum is
   below 2**53.* The scenario losses ``L = -(Z @ W)`` with ``Z = [nq | q_opt]``
   (A, K) (``|nq| < n 2**40 <= 2**50``) and ``W = [lin | opt]^T`` (K, S) are
   formed from limbs: ``Z = sum_i Z_i 2**(i a)``, ``W = sum_j W_j 2**(j c)`` with
   ``|Z_i| <= 2**a``, ``|W_j| <= 2**c`` (low limbs in ``[0, 2**a)``, the top one
   signed) and ``K 2**(a + c) <= 2**53``, so each
   ``Z_i @ W_j`` is exact in float64 whatever the BLAS summation order or FMA use
   (every partial sum is an integer below 2**53 in magnitude; assumes a classical
   GEMM, not Strassen, which OpenBLAS is). The limb products are then combined
   by fact 1. The limb widths are chosen per batch from the actual bit lengths
   (:func:`limb_plan`): the bench book needs two products, 40-bit quantities
   against 48-bit values at K <= 72 need 2 x 2.

Per field:

- ``perp_charge = |pq| @ perp_move``: ``(A, U)`` against ``(U,)`` with ``|pq| < 2**50`` and
  ``perp_move < 2**48``, formed like the losses (limbs, exact) and added to every loss
  inside the same ``2**62`` screen.
- ``tail``: :func:`calcm.risk.margin.top_k` on the exact int64 losses (published
  tie rule: loss descending, index ascending). ``tail_sum`` is summed in two
  32-bit halves (exact for k < 2**31) and kept as Python ints (it may exceed
  int64); ``es_raw = ceil(tail_sum / k)`` on those ints.
- ``addon[u] = ceil(w X**2 / (adv BPS MONEY_SCALE))``: float64 quotient ``t`` with
  relative error below ``8 * 2**-53 < 2**-49`` (six correctly rounded operations,
  no underflow since a non-zero quotient is ``>= 2**-95``); the ceiling is
  decided when ``ceil(t (1 - 2**-49)) == ceil(t (1 + 2**-49))``, else that one
  term is recomputed with Python ints.
- ``im = mm + (mm // BPS) b + ceil((mm % BPS) b / BPS)``, ``b = im_buffer_bps``.
- ``cv``: with ``p_j (BPS - h_j) = a_j BPS + r_j``: ``cv = sum c_j a_j + floor(sum c_j r_j / BPS)``
  (``c_j r_j < 2**54``; m <= 256 collateral assets keeps the sum below 2**62).
- tier 1 test ``equity BPS < im (BPS + w)`` with ``equity >= im``:
  ``d = equity - im`` (exact int64) against ``ceil(im w / BPS)``, formed as for
  ``im``; when that bound exceeds SAFE the comparison is done with Python ints.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..fixedpoint import BPS, MONEY_SCALE
from .fixed_margin import CALL, PERP, AccountFx, MarginModelFx, MarginResultFx, margin_fx
from .blas import pinned_pool_map
from .margin import Tier, top_k

#: A wrapped int64 value is trusted only if its float bound is below this.
SAFE = 2.0**62
#: Relative slack on float bounds of integer sums (covers float64 rounding of the bound itself).
_SLACK = 1 + 2.0**-40
#: Relative error bound of the float add-on quotient (six rounded operations: < 8 * 2**-53).
_REL = 2.0**-49
_U64 = np.uint64


def _wrap_mul(a: np.ndarray, b) -> np.ndarray:
    """``a * b`` modulo 2**64 (int64 in, int64 out; uint64 arithmetic is well defined)."""
    return (a.view(_U64) * np.asarray(b, np.int64).view(_U64)).view(np.int64)


def _wrap_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` modulo 2**64 for int64 arrays (small products only: numpy's integer GEMM is slow)."""
    return (np.ascontiguousarray(a).view(_U64) @ np.ascontiguousarray(b).view(_U64)).view(np.int64)


def _limbs(x: np.ndarray, bits: int, n: int) -> list[np.ndarray]:
    """``x = sum_i limb_i 2**(i bits)``: low limbs in ``[0, 2**bits)``, the top limb signed (floats)."""
    out, rest = [], x.copy()
    for _ in range(n - 1):
        lo = rest & ((1 << bits) - 1)
        out.append(lo.astype(np.float64))
        rest = (rest - lo) >> bits
    out.append(rest.astype(np.float64))
    return out


def _bitlen(x: np.ndarray) -> int:
    return int(np.abs(x).max(initial=0)).bit_length()


def limb_plan(zb: int, wb: int, K: int) -> tuple[int, int, int, int]:
    """``(nz, a, nw, c)``: the fewest limb products with ``K 2**(a + c) <= 2**53`` (fact 2 above).

    ``zb``, ``wb``: bit lengths of ``max |z|`` and ``max |w|``; ``nz`` limbs of ``a``
    bits for z, ``nw`` limbs of ``c`` bits for w.
    """
    budget = 53 - (K - 1).bit_length()                  # K <= 2**bit_length(K - 1)
    best = None
    for nz in range(1, 5):
        for nw in range(1, 5):
            a, c = -(-max(zb, 1) // nz), -(-max(wb, 1) // nw)
            if a + c <= budget and (best is None or nz * nw < best[0] * best[2]):
                best = (nz, a, nw, c)
    if best is None:
        raise ValueError(f"no limb split of {zb} x {wb} bits over K={K} fits float64")
    return best


def exact_int_matmul(z: np.ndarray, w: np.ndarray, w_limbs=None, out: np.ndarray | None = None) -> np.ndarray:
    """``z @ w`` modulo 2**64 (int64 (A, K) @ (K, S)) from float64 limb products (fact 2 above).

    Exact (not merely modulo 2**64) where the caller's bound shows ``|z @ w| < 2**63``.
    ``w_limbs``: optional cache ``{(nw, c): (K, nw*S) float64 stacked limbs of w}``.
    One BLAS call per limb of z (the limbs of w are stacked side by side). ``out``:
    an int64 (A, S) array to write into.
    """
    A, K = z.shape
    S = w.shape[1]
    nz, a, nw, c = limb_plan(_bitlen(z), _bitlen(w), K)
    key = (nw, c)
    if w_limbs is not None and key in w_limbs:
        w_stack = w_limbs[key]
    else:
        w_stack = np.concatenate(_limbs(w, c, nw), axis=1)         # (K, nw S)
        if w_limbs is not None:
            w_limbs[key] = w_stack
    acc = (np.empty((A, S), np.int64) if out is None else out).view(_U64)
    first = True
    for i, zi in enumerate(_limbs(z, a, nz)):
        prod = (zi @ w_stack).astype(np.int64).view(_U64)         # exact integers, |.| <= 2**53
        for j in range(nw):
            part, shift = prod[:, j * S:(j + 1) * S], i * a + j * c
            if shift >= 64:
                continue                          # 2**shift = 0 modulo 2**64 (never i = j = 0)
            if shift:
                np.multiply(part, _U64(1 << shift), out=part)
            if first:
                acc[...] = part
                first = False
            else:
                acc += part
    return acc.view(np.int64)


@dataclass(frozen=True, eq=False)
class MarginBatchFx:
    """:class:`~calcm.risk.fixed_margin.MarginResultFx` of A accounts as arrays (accounts on axis 0).

    int64 unless stated: ``losses`` (A, S), ``tail_bits`` (A, S) uint8, ``threshold``,
    ``tail_last``, ``perp_charge``, ``es_raw``, ``es`` (A,), ``exposure`` / ``addon_terms`` (A, U),
    ``addon``, ``mm``, ``im``, ``collateral_value``, ``equity`` (A,), ``tier`` (A,)
    int8; ``tail_sum`` (A,) object (Python ints: ``k`` losses may exceed int64).
    ``fallback`` (A,) bool: the accounts computed by the scalar :func:`margin_fx`.
    """

    losses: np.ndarray
    tail_bits: np.ndarray
    threshold: np.ndarray
    tail_last: np.ndarray
    tail_sum: np.ndarray
    perp_charge: np.ndarray
    es_raw: np.ndarray
    es: np.ndarray
    exposure: np.ndarray
    addon_terms: np.ndarray
    addon: np.ndarray
    mm: np.ndarray
    im: np.ndarray
    collateral_value: np.ndarray
    equity: np.ndarray
    tier: np.ndarray
    fallback: np.ndarray

    def __len__(self) -> int:
        return len(self.tier)

    def result(self, a: int) -> MarginResultFx:
        """Account ``a`` as the scalar result type (Python ints; equal to ``margin_fx``'s)."""
        row = lambda x: tuple(int(v) for v in x[a])  # noqa: E731
        one = lambda x: int(x[a])  # noqa: E731
        return MarginResultFx(row(self.losses), row(self.tail_bits), one(self.threshold),
                              one(self.tail_last), one(self.tail_sum), one(self.perp_charge),
                              one(self.es_raw), one(self.es),
                              row(self.exposure), row(self.addon_terms), one(self.addon), one(self.mm),
                              one(self.im), one(self.collateral_value), one(self.equity), one(self.tier))

    def results(self) -> list[MarginResultFx]:
        return [self.result(a) for a in range(len(self))]


class BatchModelFx:
    """A :class:`MarginModelFx` as int64 arrays, built once per model (see the module docstring).

    ``w`` (K, S): rows ``lin[:, u]`` then ``opt[:, o]``; ``w_absmax`` (K,) float;
    ``lin_map`` (n, U) 0/1; ``opt_idx`` (n_opt,); ``expo_map`` (n_opt, U);
    ``mark`` (n,); ``coll_a``, ``coll_r`` (m,): ``cprice (BPS - h) = a BPS + r``;
    ``perp_map`` (n, U) 0/1 and ``perp_move`` (U, 1) (None without a perp move).
    """

    def __init__(self, model: MarginModelFx):
        self.model = m = model
        U, n = m.n_underlyings, m.n_instruments
        if m.n_collateral > 256:
            raise ValueError("the batch twin assumes at most 256 collateral assets")
        lin = np.array(m.lin, dtype=np.int64).reshape(m.n_scenarios, U)
        opt = np.array(m.opt, dtype=np.int64).reshape(m.n_scenarios, m.n_options)
        # Negated, so the product is the losses: L = z @ w.
        self.w = -np.ascontiguousarray(np.concatenate([lin, opt], axis=1).T)          # (K, S)
        self.w_limbs: dict = {}
        self.w_absmax = np.abs(self.w).max(axis=1).astype(np.float64)
        self.lin_map = np.zeros((n, U), dtype=np.int64)
        for i, (kd, u) in enumerate(zip(m.kinds, m.under)):
            if kd < CALL:
                self.lin_map[i, u] = 1
        self.perp_map = np.zeros((n, U), dtype=np.int64)
        for i, (kd, u) in enumerate(zip(m.kinds, m.under)):
            if kd == PERP:
                self.perp_map[i, u] = 1
        move = np.array(m.perp_move, dtype=np.int64).reshape(U, 1)
        self.perp_move = move if move.any() and self.perp_map.any() else None
        self.perp_limbs: dict = {}
        self.opt_idx = np.array(m.options, dtype=np.intp)
        self.expo_map = np.zeros((m.n_options, U), dtype=np.int64)
        for o, i in enumerate(m.options):
            self.expo_map[o, m.under[i]] = m.opt_expo[o]
        self.abs_expo = np.abs(self.expo_map).astype(np.float64)
        self.price = np.array(m.price, dtype=np.int64)
        self.mark = np.array(m.mark, dtype=np.int64)
        credit = [p * (BPS - h) for p, h in zip(m.collateral_price, m.haircut_bps)]   # < 2**62
        self.coll_a = np.array([v // BPS for v in credit], dtype=np.int64)
        self.coll_r = np.array([v % BPS for v in credit], dtype=np.int64)
        self.coll_price = np.array(m.collateral_price, dtype=np.float64)
        self.w_liq = np.array(m.liquidity_weight_bps, dtype=np.float64)
        self.den = np.array(m.adv, dtype=np.float64) * float(BPS * MONEY_SCALE)     # one rounding


_ROW_FIELDS = {"losses": np.int64, "tail_bits": np.uint8, "exposure": np.int64, "addon_terms": np.int64}
_ONE_FIELDS = {"threshold": np.int64, "tail_last": np.int64, "tail_sum": object, "perp_charge": np.int64,
               "es_raw": np.int64,
               "es": np.int64, "addon": np.int64, "mm": np.int64, "im": np.int64,
               "collateral_value": np.int64, "equity": np.int64, "tier": np.int8, "fallback": bool}


def margins_fx_batch(model: MarginModelFx | BatchModelFx, accounts: list[AccountFx],
                     chunk: int = 512, threads: int | None = None) -> MarginBatchFx:
    """:func:`~calcm.risk.fixed_margin.margin_fx` of every account, vectorised (bit-identical).

    ``model``: a :class:`MarginModelFx`, or a :class:`BatchModelFx` built from it once
    to amortise the array conversion. Raises what :func:`margin_fx` raises, for the
    first account (in order) that :func:`margin_fx` raises for (a shape mismatch is
    checked for all accounts first).
    """
    bm = model if isinstance(model, BatchModelFx) else BatchModelFx(model)
    m = bm.model
    for a in accounts:
        if len(a.qty) != m.n_instruments or len(a.collateral) != m.n_collateral:
            raise ValueError("account shape does not match the model")
    q = np.array([a.qty for a in accounts], dtype=np.int64).reshape(len(accounts), m.n_instruments)
    c = np.array([a.collateral for a in accounts], dtype=np.int64).reshape(len(accounts), m.n_collateral)
    return margins_fx_arrays(bm, q, c, chunk, threads)


def margins_fx_arrays(model: MarginModelFx | BatchModelFx, q: np.ndarray, c: np.ndarray,
                      chunk: int = 512, threads: int | None = None) -> MarginBatchFx:
    """As :func:`margins_fx_batch` for int64 arrays ``q`` (A, n) QTY and ``c`` (A, m) COLLATERAL.

    The ranges are checked (as :class:`AccountFx` does) only for the fallback
    accounts; pass arrays already in range. ``chunk`` accounts at a time bound the
    float temporaries (``chunk x S x`` limbs of w).
    """
    bm = model if isinstance(model, BatchModelFx) else BatchModelFx(model)
    m = bm.model
    q, c = np.asarray(q, np.int64), np.asarray(c, np.int64)
    A, S, U = len(q), m.n_scenarios, m.n_underlyings
    width = {"losses": S, "tail_bits": S, "exposure": U, "addon_terms": U}
    out = MarginBatchFx(**{f: np.empty((A, width[f]), dt) for f, dt in _ROW_FIELDS.items()},
                        **{f: np.empty(A, dt) for f, dt in _ONE_FIELDS.items()})
    run = lambda i: _batch(bm, q[i:i + chunk], c[i:i + chunk], out, slice(i, min(i + chunk, A)))  # noqa: E731
    cuts = range(0, A, chunk)
    threads = max(1, min(os.cpu_count() or 1, 4) if threads is None else int(threads))
    if threads > 1 and len(cuts) > 1:
        pinned_pool_map(run, cuts, threads)
    else:
        for i in cuts:
            run(i)
    for a in np.flatnonzero(out.fallback):
        acc = AccountFx(tuple(int(v) for v in q[a]), tuple(int(v) for v in c[a]), 0)
        _store(out, int(a), margin_fx(m, acc))
    return out


def _store(out: MarginBatchFx, a: int, r: MarginResultFx) -> None:
    """Write one scalar result into row ``a`` (MONEY fields fit int64 by their checks)."""
    for f in list(_ROW_FIELDS) + [f for f in _ONE_FIELDS if f != "fallback"]:
        getattr(out, f)[a] = getattr(r, f)


def _batch(bm: BatchModelFx, q: np.ndarray, c: np.ndarray, out: MarginBatchFx, rows: slice) -> None:
    """One chunk of accounts into ``out[rows]``; rows failing a screen get ``fallback`` (filled later)."""
    m = bm.model
    k = m.k_tail
    qf = np.abs(q).astype(np.float64)
    nq = q @ bm.lin_map                                         # (A, U), |nq| < 2**50: exact int64
    qo = q[:, bm.opt_idx]
    z = np.concatenate([nq, qo], axis=1)                        # (A, K)
    zf = np.abs(z).astype(np.float64)
    charge = np.zeros(len(q), dtype=np.int64)
    bound = zf @ bm.w_absmax
    if bm.perp_move is not None:
        pq = np.abs(q @ bm.perp_map)                            # (A, U), < 2**50: exact int64
        bound = bound + pq.astype(np.float64) @ bm.perp_move[:, 0].astype(np.float64)
        charge[:] = exact_int_matmul(pq, bm.perp_move, bm.perp_limbs)[:, 0]
    ok = bound * _SLACK < SAFE                                  # every |loss| < 2**62
    losses = exact_int_matmul(z, bm.w, bm.w_limbs, out=out.losses[rows])
    losses += charge[:, None]
    idx = top_k(losses, k)
    tail = np.take_along_axis(losses, idx, axis=1)              # (A, k), tail order
    bits = out.tail_bits[rows]
    bits[...] = 0
    np.put_along_axis(bits, idx, 1, axis=1)
    hi, lo = tail >> 32, tail & 0xFFFFFFFF                     # exact halves, k < 2**31 terms each
    tail_sum = hi.sum(axis=1).astype(object) * (1 << 32) + lo.sum(axis=1).astype(object)
    out.tail_sum[rows] = tail_sum
    es_raw = np.array([-((-v) // k) if okk else 0 for v, okk in zip(tail_sum, ok)], dtype=np.int64)
    es = np.maximum(es_raw, 0)

    # Exposure X = nq price + q_opt expo_map (wrapped) and its bound.
    x = _wrap_mul(nq, bm.price) + _wrap_matmul(qo, bm.expo_map)
    x_bound = np.abs(nq).astype(np.float64) * bm.price + np.abs(qo).astype(np.float64) @ bm.abs_expo
    ok &= (x_bound * _SLACK < SAFE).all(axis=1)
    xf = x.astype(np.float64)
    t = bm.w_liq * xf * xf / bm.den                             # (A, U) float quotient
    lo_t, hi_t = np.ceil(t * (1 - _REL)), np.ceil(t * (1 + _REL))
    ok &= hi_t.sum(axis=1) < 2.0**61                            # addon < 2**61, so mm < 2**63
    terms = np.where(ok[:, None], lo_t, 0).astype(np.int64)
    for a, u in np.argwhere((lo_t != hi_t) & ok[:, None]):      # exact ceiling for the few ties
        num = int(m.liquidity_weight_bps[u]) * int(x[a, u]) ** 2
        terms[a, u] = -((-num) // (m.adv[u] * BPS * MONEY_SCALE))
    addon = terms.sum(axis=1)
    mm = es + addon                                             # < 2**62 + 2**61

    # IM = ceil(mm (BPS + b) / BPS) = mm + (mm // BPS) b + ceil((mm % BPS) b / BPS)   (mm >= 0)
    b = m.im_buffer_bps
    ok &= mm.astype(np.float64) * (1 + b / BPS) * _SLACK < SAFE
    mm_s = np.where(ok, mm, 0)
    im = mm_s + (mm_s // BPS) * b + (-((-(mm_s % BPS) * b) // BPS))

    # CV = sum c a + floor(sum c r / BPS); equity = cv + q . mark
    cv_bound = c.astype(np.float64) @ bm.coll_price
    mk_bound = qf @ np.abs(bm.mark).astype(np.float64)
    ok &= (cv_bound + mk_bound) * _SLACK < SAFE
    cv = _wrap_matmul(c, bm.coll_a) + (c @ bm.coll_r) // BPS
    equity = cv + _wrap_matmul(q, bm.mark)

    # Tier 1 iff equity BPS < im (BPS + w) iff d = equity - im < ceil(im w / BPS)  (im >= 0).
    w = m.warn_buffer_bps
    big = im.astype(np.float64) * (w / BPS) * _SLACK >= SAFE
    im_s = np.where(big, 0, im)
    warn = (equity - im) < (im_s // BPS) * w + (-((-(im_s % BPS) * w) // BPS))
    for a in np.flatnonzero(big & ok):                          # Python ints for the rare giants
        warn[a] = int(equity[a]) * BPS < int(im[a]) * (BPS + w)
    tier = np.where(warn, int(Tier.WARNING), int(Tier.HEALTHY)).astype(np.int8)
    tier[equity < im] = Tier.NO_NEW_RISK
    tier[equity < mm] = Tier.LIQUIDATABLE
    for f, v in (("threshold", tail[:, -1]), ("tail_last", idx[:, -1]), ("perp_charge", charge),
                 ("es_raw", es_raw), ("es", es),
                 ("exposure", x), ("addon_terms", terms), ("addon", addon), ("mm", mm), ("im", im),
                 ("collateral_value", cv), ("equity", equity), ("tier", tier), ("fallback", ~ok)):
        getattr(out, f)[rows] = v
