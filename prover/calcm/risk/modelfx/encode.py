"""From the float risk model to the fixed-point one: prices, instruments, parameters, genesis.

The float model (:mod:`calcm.risk.model`) fits GARCH per asset and builds the
scenario set; :func:`params_from_risk_model` encodes its parameters at the
scales of :mod:`calcm.fixedpoint` (the full scenario set, docs/PROVING.md §1),
:func:`genesis` the state the day before the model date so that the first daily
step reproduces the float model.
"""
from __future__ import annotations

import numpy as np

from ...fixedpoint import (BPS, GARCH_FRAC, IV_FRAC, PRICE, PRICE_SCALE, RATE, SHOCK_FRAC, T_FRAC, VAR_FRAC,
                           Z_FRAC, encode, round_half_away)
from ..fixed_margin import ADV
from .constants import EXPIRY, GAMMA, IV, OMEGA, PRICE_POS, SHOCK, SKEW, UNIT, VAR_FLOOR, VARIANCE, Z
from .params import ModelParamsFx
from .state import ModelStateFx
from .terms import CollateralFx, InstrumentFx


def encode_prices(params: ModelParamsFx, prices: dict, what: str = "prices") -> tuple[int, ...]:
    """USD prices by asset name -> PRICE integers in asset order (missing asset: error)."""
    out = []
    for a in params.assets:
        if a not in prices:
            raise KeyError(a)
        out.append(PRICE_POS.check(encode(prices[a], PRICE_SCALE, PRICE), f"{what} {a}"))
    return tuple(out)


def encode_instrument(ins, underlyings: tuple[str, ...]) -> InstrumentFx:
    """A :class:`~calcm.risk.book.Instrument` in fixed point (options: strike, expiry, iv)."""
    u = underlyings.index(ins.underlying)
    if not ins.is_option:
        return InstrumentFx(ins.id, ins.kind, u)
    what = f"instrument '{ins.id}'"
    return InstrumentFx(ins.id, ins.option_type, u,
                        encode(ins.strike, PRICE_SCALE, PRICE, f"{what} strike"),
                        encode(ins.expiry_days, 2**T_FRAC, EXPIRY, f"{what} expiry"),
                        encode(ins.implied_vol, 2**IV_FRAC, IV, f"{what} implied vol"))


#: Scenarios per option part at most (docs/CIRCUITS.md §2): 89 for the bundled
#: 534 (C = 6, 154k constraints a part); total proving hardly depends on C, while smaller
#: parts compile and set up faster and fewer parts cost fewer per-proof overheads.
MAX_PART_SCENARIOS = 90


def default_chunks(n_scenarios: int) -> int:
    """The published chunk count C: the smallest divisor of ``S`` whose parts hold at most
    :data:`MAX_PART_SCENARIOS` scenarios (534 -> 6, 54 -> 1).

    C is part of the model's structure (and so of every commitment): the option parts, the
    margin circuit and ``calcm margin`` all take it from here.
    """
    return min(c for c in range(1, n_scenarios + 1)
               if n_scenarios % c == 0 and n_scenarios // c <= MAX_PART_SCENARIOS)


def params_from_risk_model(rm, book, chunks: int | None = None, k_tail: int | None = None) -> ModelParamsFx:
    """Fixed-point parameters from a float :class:`~calcm.risk.model.RiskModel` built on ``book``.

    The same GARCH fits and the FULL scenario set (docs/PROVING.md §1: no subset),
    the APC ``var_floor`` and ``var_stress`` (2**48, rounded half away) and, under
    ``apc == "stress"``, ``apc_stress_weight_bps`` (the float weight, a whole number of bps),
    ``k = ceil((1 - es_level) S)`` from the margin parameters unless ``k_tail`` is
    given, and ``chunks`` scenario chunks for the option parts (must divide S; default
    :func:`default_chunks`).
    """
    from ..scenarios import MIN_RETURN

    und = tuple(rm.underlyings)
    scen = rm.scenarios
    idx = range(scen.n_scenarios)
    col = []
    # The publication's haircut integers (calcm.risk.haircuts), the very bps the float model uses.
    published_bps = dict(zip(rm.haircuts.assets, rm.haircuts.bps)) if rm.haircuts is not None else {}
    for c in book.collateral:
        hc = published_bps.get(c.asset)
        hc = encode(c.haircut, BPS, RATE, f"collateral {c.asset} haircut") if hc is None else hc
        if c.is_stable:
            col.append(CollateralFx(c.asset, -1, hc))
        elif c.asset in und:
            col.append(CollateralFx(c.asset, und.index(c.asset), hc))
        else:
            raise ValueError(f"collateral '{c.asset}' is neither a stablecoin nor an underlying")
    fits = [rm.fits[a].params for a in und]
    k = k_tail if k_tail is not None else rm.params.margin_params.k_tail(len(idx))
    return ModelParamsFx(
        assets=und, instruments=tuple(encode_instrument(i, und) for i in book.instruments),
        collateral=tuple(col),
        omega=tuple(encode(f.omega, 2**VAR_FRAC, OMEGA, f"asset {a} omega") for a, f in zip(und, fits)),
        alpha=tuple(encode(f.alpha, 2**GARCH_FRAC, UNIT, f"asset {a} alpha") for a, f in zip(und, fits)),
        gamma=tuple(encode(f.gamma, 2**GARCH_FRAC, GAMMA, f"asset {a} gamma") for a, f in zip(und, fits)),
        beta=tuple(encode(f.beta, 2**GARCH_FRAC, UNIT, f"asset {a} beta") for a, f in zip(und, fits)),
        # The scenario set may order its assets differently from the book: map by name.
        z=tuple(tuple(encode(scen.z[s][scen.assets.index(a)], 2**Z_FRAC, Z, f"scenario {s} z[{a}]")
                      for a in und) for s in idx),
        vol_shock=tuple(tuple(encode(scen.vol_shock[s][scen.assets.index(a)], 2**SHOCK_FRAC, SHOCK,
                                     f"scenario {s} vol shock[{a}]") for a in und) for s in idx),
        skew_shock=tuple(tuple(encode(scen.skew_shock[s][scen.assets.index(a)], 2**SHOCK_FRAC, SKEW,
                                      f"scenario {s} skew shock[{a}]") for a in und) for s in idx),
        horizon_days=int(rm.params.mpor_days), k_tail=k,
        im_buffer_bps=encode(rm.params.im_buffer, BPS, RATE, "im_buffer"),
        warn_buffer_bps=encode(rm.params.warn_buffer, BPS, RATE, "warn_buffer"),
        min_return_bps=round_half_away(MIN_RETURN * BPS),
        adv=tuple(encode(v, 1, ADV, "adv") for v in rm.adv),
        liquidity_weight_bps=tuple(encode(w, BPS, RATE, "liquidity weight")
                                   for w in rm.margin_model.liquidity_weight),
        chunks=chunks if chunks is not None else default_chunks(len(idx)),
        var_floor=tuple(encode(float(v), 2**VAR_FRAC, VAR_FLOOR, f"{a} var_floor")
                        for a, v in zip(und, rm.var_floor if rm.var_floor is not None else [0.0] * len(und))),
        perp_shock_bps=tuple(RATE.check(int(b), f"{a} perp shock") for a, b in zip(und, rm.perp_shock_bps)),
        apc_stress_weight_bps=round_half_away(rm.params.apc_stress_weight * BPS) if rm.params.apc == "stress" else 0,
        var_stress=tuple(encode(float(v), 2**VAR_FRAC, VAR_FLOOR, f"{a} var_stress")
                         for a, v in zip(und, rm.var_stress if rm.var_stress is not None else [0.0] * len(und))))


def genesis(rm, market) -> tuple[ModelStateFx, tuple[int, ...]]:
    """The genesis state and the first block's prices, from the float model at its date ``T``.

    The state is the day before (``sigma2`` = each fit's variance of day T's return,
    ``price`` = the close of T-1), so that the first update, with the closes of T,
    reproduces the float model at T (a daily step: day T-1 -> T): the new variance is the fit's ``sigma2_next``
    (up to the fixed-point rounding) and the margin model is the float one on the
    same scenarios.
    """
    md = market.upto(rm.asof)
    if md.n_days < 2:
        raise ValueError("genesis needs two closes")
    prev, last = md.closes[-2], md.closes[-1]
    sig, p0, p1 = [], [], []
    for a in rm.underlyings:
        k = md.index(a)
        if not (np.isfinite(prev[k]) and np.isfinite(last[k])):
            raise ValueError(f"{a}: no close on both of the last two dates")
        sig.append(encode(rm.fits[a].sigma2[-2], 2**VAR_FRAC, VARIANCE, f"{a} sigma2"))
        p0.append(encode(prev[k], PRICE_SCALE, PRICE_POS, f"{a} price"))
        p1.append(encode(last[k], PRICE_SCALE, PRICE_POS, f"{a} price"))
    day = int(md.dates[-2].astype("datetime64[D]").astype(np.int64))   # UTC day number of close T-1
    return ModelStateFx(day, tuple(sig), tuple(p0)), tuple(p1)
