"""The two scenario commitments of a model version (docs/PROVING.md §3).

::

    linCommitment = sponge([MODEL_DOMAIN, structure_id, S, U, n, m, k, im_buffer_bps, warn_buffer_bps]
                           ++ price[U] ++ adv[U] ++ weight_bps[U] ++ haircut_bps[m] ++ perp_move[U]
                           ++ [lin[s][u] for u in 0..U for s in 0..S])
    optCommitment = sponge(concat over o, c of pad15(seg(o, c)))     (0 when n_opt = 0)
    seg(o, c)     = [opt_mark[o], opt_expo[o]] ++ [opt[s][o] for s in chunk c]

Every segment is padded to whole sponge chunks, so option part ``j = o C + c``
proves ``next = absorb(prev, seg(o, c))`` from ``prev`` = the state after part
``j - 1`` (0 for the first). These are plain functions of the values so that the
margin side (:mod:`calcm.risk.fixed_margin`) and the model side share one encoding.
"""
from __future__ import annotations

from ...fixedpoint import to_field
from ._sponge import absorb, poseidon_sponge
from .constants import MODEL_DOMAIN


def lin_elements(structure_id: int, S: int, U: int, n: int, m: int, k: int, im_buffer_bps: int,
                 warn_buffer_bps: int, price, adv, weight_bps, haircut_bps, perp_move, lin) -> list[int]:
    """The preimage of ``linCommitment``; ``lin`` is (S, U), hashed column by column (asset-major)."""
    head = [MODEL_DOMAIN, structure_id, S, U, n, m, k, im_buffer_bps, warn_buffer_bps]
    body = list(price) + list(adv) + list(weight_bps) + list(haircut_bps) + list(perp_move)
    body += [lin[s][u] for u in range(U) for s in range(S)]
    return head + [to_field(v) for v in body]


def lin_commitment(*args) -> int:
    """``sponge(lin_elements(...))`` (same arguments as :func:`lin_elements`)."""
    return poseidon_sponge(lin_elements(*args))


def opt_segment(mark: int, expo: int, pnl_chunk) -> list[int]:
    """``seg(o, c) = [opt_mark[o], opt_expo[o]] ++ opt[chunk c][o]`` (field elements, unpadded)."""
    return [to_field(mark), to_field(expo)] + [to_field(v) for v in pnl_chunk]


def opt_sponge_step(prev: int, mark: int, expo: int, pnl_chunk) -> int:
    """The sponge state after one option part: ``absorb(prev, pad15(seg))``."""
    return absorb(prev, opt_segment(mark, expo, pnl_chunk))


def opt_commitment(C: int, opt_mark, opt_expo, opt) -> int:
    """``optCommitment`` of ``opt`` (S, n_opt) in C chunks; 0 without options."""
    n_opt = len(opt_mark)
    if n_opt == 0:
        return 0
    S = len(opt)
    L = S // C
    h = 0
    for o in range(n_opt):
        for c in range(C):
            h = opt_sponge_step(h, opt_mark[o], opt_expo[o], [opt[s][o] for s in range(c * L, (c + 1) * L)])
    return h
