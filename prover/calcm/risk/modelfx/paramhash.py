"""The parameter tree hash (docs/PROVING.md §4): each proof opens only the leaves it uses.

::

    paramHash = sponge([PARAM_DOMAIN, structure_id, h_common]
                       ++ [hz[u][c] for u in 0..U for c in 0..C]
                       ++ [hs[u][c] for u in 0..U for c in 0..C]   (only if n_opt > 0)
                       ++ [ht[o] for o in 0..n_opt])
    h_common = sponge([horizon_days, sqrt_h, im_buffer_bps, warn_buffer_bps, min_return_bps]
                      ++ per asset (omega, alpha, gamma, beta, adv, weight_bps, perp_shock_bps)
                      ++ haircut_bps[m])
    hz[u][c] = sponge([A_u, B_u, F_u] ++ [z[s][u] for s in chunk c])   (horizon coefficients of asset u)
    hs[u][c] = sponge([vol_shock[s][u], skew_shock[s][u] for s in chunk c])   (pairs interleaved)
    ht[o]    = sponge([strike, expiry, iv, ln_k, v, inv_v, v_after, inv_v_after])

Signed values enter the field as ``x mod p``. The daily step and the
revaluation recompute ``h_common`` and every ``hz`` and take ``hs``/``ht`` as
private inputs; an option part on underlying ``u`` recomputes ``h_common``, its
chunk's ``hz[u][c]`` and ``hs[u][c]`` and its ``ht[o]`` and takes the rest.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...fixedpoint import to_field
from ._sponge import poseidon_sponge
from .constants import PARAM_DOMAIN
from .params import ModelParamsFx


def common_elements(p: ModelParamsFx) -> list[int]:
    out = [p.horizon_days, p.sqrt_h, p.im_buffer_bps, p.warn_buffer_bps, p.min_return_bps]
    for u in range(p.n_assets):
        out += [p.omega[u], p.alpha[u], p.gamma[u], p.beta[u], p.adv[u], p.liquidity_weight_bps[u],
                p.perp_shock_bps[u]]
    out += [c.haircut_bps for c in p.collateral]
    return [to_field(v) for v in out]


def z_chunk(p: ModelParamsFx, u: int, c: int) -> list[int]:
    """``[A_u, B_u, F_u] ++ [z[s][u] for s in chunk c]`` (field elements): every proof that opens a
    z chunk of asset ``u`` gets its horizon coefficients bound by the parameter hash."""
    L = p.chunk_size
    head = [p.horizon_a[u], p.horizon_b[u], p.horizon_floor[u]]
    return head + [to_field(p.z[s][u]) for s in range(c * L, (c + 1) * L)]


def shock_chunk(p: ModelParamsFx, u: int, c: int) -> list[int]:
    """``[vol_shock[s][u], skew_shock[s][u] for s in chunk c]`` (field elements, 2 L of them):
    element ``2 i`` is the vol shock of the chunk's ``i``-th scenario on asset ``u``, the next its
    skew shock."""
    L = p.chunk_size
    out = []
    for s in range(c * L, (c + 1) * L):
        out += [to_field(p.vol_shock[s][u]), to_field(p.skew_shock[s][u])]
    return out


def terms_elements(p: ModelParamsFx, o: int) -> list[int]:
    """``[strike, expiry, iv, ln_k, v, inv_v, v_after, inv_v_after]`` of option series ``o``."""
    ins = p.instruments[p.options[o]]
    return [to_field(v) for v in [ins.strike, ins.expiry, ins.iv] + p.option_terms[o].field_elements()]


@dataclass(frozen=True)
class ParamTree:
    """The leaves and root of the parameter tree: hz (U, C), hs (U, C; () without options), ht (n_opt)."""

    common: int
    hz: tuple[tuple[int, ...], ...]
    hs: tuple[tuple[int, ...], ...]
    ht: tuple[int, ...]
    root: int


def param_tree(p: ModelParamsFx) -> ParamTree:
    common = poseidon_sponge(common_elements(p))
    hz = tuple(tuple(poseidon_sponge(z_chunk(p, u, c)) for c in range(p.chunks)) for u in range(p.n_assets))
    hs = tuple(tuple(poseidon_sponge(shock_chunk(p, u, c)) for c in range(p.chunks))
               for u in range(p.n_assets)) if p.options else ()
    ht = tuple(poseidon_sponge(terms_elements(p, o)) for o in range(p.n_options))
    top = ([PARAM_DOMAIN, p.structure_id(), common] + [h for row in hz for h in row]
           + [h for row in hs for h in row] + list(ht))
    return ParamTree(common, hz, hs, ht, poseidon_sponge(top))
