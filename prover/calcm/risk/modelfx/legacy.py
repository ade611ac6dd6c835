"""The v1 ``MarginModelFx`` view (pnl[S][n], mark, exposure[U][n]) of a v2 model version.

Transition only: used while :mod:`calcm.risk.fixed_margin` still has the v1
layout; removed once the v2 layout (docs/PROVING.md §2) lands.
"""
from __future__ import annotations

import dataclasses

from ...fixedpoint import PRICE_SCALE


def is_v1(cls) -> bool:
    return "pnl" in {f.name for f in dataclasses.fields(cls)}


def margin_model_v1(params, prices, lin, opt, opt_mark, opt_expo):
    from ..fixed_margin import MarginModelFx
    S, n, U = params.n_scenarios, params.n_instruments, params.n_assets
    pos = {i: k for k, i in enumerate(params.options)}
    pnl = [[0] * n for _ in range(S)]
    mark, expo = [0] * n, [[0] * n for _ in range(U)]
    for i, ins in enumerate(params.instruments):
        u = ins.underlying
        if i in pos:
            for s in range(S):
                pnl[s][i] = opt[s][pos[i]]
            mark[i], expo[u][i] = opt_mark[pos[i]], opt_expo[pos[i]]
        else:
            for s in range(S):
                pnl[s][i] = lin[s][u]
            mark[i], expo[u][i] = (prices[u] if ins.kind == "spot" else 0), prices[u]
    return MarginModelFx(
        pnl=tuple(tuple(r) for r in pnl), mark=tuple(mark), exposure=tuple(tuple(r) for r in expo),
        collateral_price=tuple(PRICE_SCALE if c.underlying < 0 else prices[c.underlying]
                               for c in params.collateral),
        haircut_bps=tuple(c.haircut_bps for c in params.collateral), adv=params.adv,
        liquidity_weight_bps=params.liquidity_weight_bps, k_tail=params.k_tail,
        im_buffer_bps=params.im_buffer_bps, warn_buffer_bps=params.warn_buffer_bps)
