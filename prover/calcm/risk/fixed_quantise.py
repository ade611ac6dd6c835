"""A float :class:`~calcm.risk.margin.MarginModel` quantised to a :class:`~calcm.risk.fixed_margin.MarginModelFx`.

Not a route to a proven number (docs/PROVING.md §1): the published model is
:func:`calcm.risk.published.published_model`. Used by the float-vs-fixed bound tests and
``bench risk``.
"""
from __future__ import annotations

from ..fixedpoint import BPS, PRICE, PRICE_SCALE, RATE, encode
from .fixed_margin import ADV, CALL, PERP, PERP_MOVE, PRICE_POS, MarginModelFx
from .margin import MarginModel


def quantise(model: MarginModel, kinds, under, coll, price=None) -> MarginModelFx:
    """Quantise ``model`` with the given structure (round half away from zero).

    The linear P&L of ``u`` is taken from its first linear instrument (every linear
    instrument on ``u`` carries the same column), ``price[u]`` (USD) from ``price`` if
    given, else from that instrument's exposure, and ``perp_move[u]`` from the float
    ``perp_charge`` of the first perp on ``u``.
    """
    def q(x, scale, rng, name):
        return encode(float(x), scale, rng, name)

    U, S = len(model.adv), len(model.pnl)
    opts = [i for i, kd in enumerate(kinds) if kd >= CALL]
    first, perp = {}, {}
    for i, (kd, u) in enumerate(zip(kinds, under)):
        if kd < CALL:
            first.setdefault(u, i)
        if kd == PERP:
            perp.setdefault(u, i)
    if len(first) != U and price is None:
        raise ValueError("from_float needs a linear instrument or a price on every underlying")
    p = model.params
    px = price if price is not None else [model.exposure[u][first[u]] for u in range(U)]
    charge = getattr(model, "perp_charge", None)
    move = tuple(q(charge[u][perp[u]] if charge is not None and u in perp else 0.0, PRICE_SCALE, PERP_MOVE,
                   f"perp_move[{u}]") for u in range(U))
    return MarginModelFx(
        price=tuple(q(px[u], PRICE_SCALE, PRICE_POS, f"price[{u}]") for u in range(U)),
        lin=tuple(tuple(q(model.pnl[s][first[u]], PRICE_SCALE, PRICE, f"lin[{s}][{u}]") if u in first
                        else 0 for u in range(U)) for s in range(S)),
        opt=tuple(tuple(q(model.pnl[s][i], PRICE_SCALE, PRICE, f"opt[{s}]") for i in opts) for s in range(S)),
        opt_mark=tuple(q(model.mark[i], PRICE_SCALE, PRICE, "opt_mark") for i in opts),
        opt_expo=tuple(q(model.exposure[under[i]][i], PRICE_SCALE, PRICE, "opt_expo") for i in opts),
        haircut_bps=tuple(q(h, BPS, RATE, "haircut") for h in model.haircut),
        adv=tuple(q(a, 1, ADV, "adv") for a in model.adv),
        liquidity_weight_bps=tuple(q(w, BPS, RATE, "liquidity_weight") for w in model.liquidity_weight),
        k_tail=model.k_tail,
        im_buffer_bps=q(p.im_buffer, BPS, RATE, "im_buffer"),
        warn_buffer_bps=q(p.warn_buffer, BPS, RATE, "warn_buffer"),
        kinds=tuple(kinds), under=tuple(under), coll=tuple(coll), perp_move=move)
