"""Black-76 option values in exact fixed point (European, zero rates, full revaluation).

With ``F = P`` (base) or ``F_s = P + lin[s,u]`` (scenario), ``x = ln_fx(F) - ln K``::

    d1, d2  = rdiv(x * (1/v) * w  +/-  v * (1 + shock) * 2**39, 68)    (2**20)
    V       = rdiv(F * N(d1) - K * N(d2), 32)                          call value, PRICE

at the base ``v = iv sqrt(T/365)``, ``w = 1``, ``shock = 0``; in scenario ``s``
``v' = iv sqrt((T - h)/365)``, ``w_s = 1/(1 + shock_s)``. Puts by parity
(``put = call - F + K``). Per option series ``o``: P&L ``opt[s][o] = V_s - V_0``
(``- lin[s][u]`` for puts), mark ``V_0`` (``- F + K``), exposure ``N(d1_0) F``
(``- F``). ``ln_fx`` and ``N`` are :mod:`calcm.risk.fixed_transcendental`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...fixedpoint import SHOCK_FRAC, W_FRAC
from ..fixed_transcendental import ln_fx, norm_cdf_fx, rdiv
from .constants import D_RANGE, D_SHIFT, HALF_V_SHIFT, VALUE, VALUE_SHIFT
from .params import ModelParamsFx


@dataclass(frozen=True)
class OptionValueFx:
    """One Black-76 valuation: ln F (2**32), d1, d2 (2**20), N(d1), N(d2) (2**32), call value (PRICE)."""

    ln_f: int
    d1: int
    d2: int
    n1: int
    n2: int
    value: int


def black76_fx(f: int, strike: int, ln_k: int, inv_v: int, v: int, w: int, u: int,
               what: str) -> OptionValueFx:
    """Call value at (F, K) with ``1/v * w`` and ``v * u`` (u = 2**16 (1 + shock))."""
    ln_f = ln_fx(f)
    a = (ln_f - ln_k) * inv_v * w
    b = (v * u) << HALF_V_SHIFT
    d1 = D_RANGE.check(rdiv(a + b, D_SHIFT), f"{what} d1")
    d2 = D_RANGE.check(rdiv(a - b, D_SHIFT), f"{what} d2")
    n1, n2 = norm_cdf_fx(d1), norm_cdf_fx(d2)
    value = VALUE.check(rdiv(f * n1 - strike * n2, VALUE_SHIFT), f"{what} value")
    return OptionValueFx(ln_f, d1, d2, n1, n2, value)


def option_base(params: ModelParamsFx, o: int, price: int) -> OptionValueFx:
    """Series ``o`` at its underlying's price ``price``, time ``T``, vol ``iv``."""
    ins, t = params.instruments[params.options[o]], params.option_terms[o]
    return black76_fx(price, ins.strike, t.ln_k, t.inv_v, t.v, 2**W_FRAC, 2**SHOCK_FRAC,
                      f"instrument '{ins.id}' base")


def option_scenario(params: ModelParamsFx, o: int, s: int, price: int, lin: int) -> OptionValueFx:
    """Series ``o`` in scenario ``s``: price ``price + lin``, time ``T - h``, vol ``iv (1 + shock_s)``."""
    ins, t = params.instruments[params.options[o]], params.option_terms[o]
    return black76_fx(price + lin, ins.strike, t.ln_k, t.inv_v_after, t.v_after, params.shock_weights[s],
                      2**SHOCK_FRAC + params.vol_shock[s], f"instrument '{ins.id}' scenario {s}")


def option_mark(params: ModelParamsFx, o: int, price: int, base: OptionValueFx) -> int:
    """Premium of one unit: ``V_0`` (call), ``V_0 - F + K`` (put)."""
    ins = params.instruments[params.options[o]]
    return base.value - (price - ins.strike if ins.kind == "put" else 0)


def option_exposure(params: ModelParamsFx, o: int, price: int, base: OptionValueFx) -> int:
    """Delta notional: ``rdiv(N(d1) F, 32)`` (call), minus ``F`` (put)."""
    ins = params.instruments[params.options[o]]
    return rdiv(base.n1 * price, VALUE_SHIFT) - (price if ins.kind == "put" else 0)


def option_pnl(params: ModelParamsFx, o: int, base: OptionValueFx, scen: OptionValueFx, lin: int) -> int:
    """Per-unit P&L in one scenario: ``V_s - V_0`` (call), ``- lin`` more for a put."""
    ins = params.instruments[params.options[o]]
    return scen.value - base.value - (lin if ins.kind == "put" else 0)
