"""Black-76 option values in exact fixed point (European, zero rates, full revaluation).

With ``F = P`` (base) or ``F_s = P + lin[s,u]`` (scenario), ``x = ln_fx(F) - ln K``::

    d1, d2  = rdiv(x * (1/v) * w  +/-  v * (1 + shock) * 2**39, 68)    (2**20)
    V       = rdiv(F * N(d1) - K * N(d2), 32)                          call value, PRICE

at the base ``v = iv sqrt(T/365)``, ``w = 1``, ``shock = 0``; in scenario ``s`` of a series
on underlying ``u`` ``v' = iv sqrt((T - h)/365)`` and the vol multiplier (sticky moneyness
at the base price, docs/MODEL.md §4)::

    m   = clip(ln K - ln_fx(F), -MONEYNESS_CAP_FX, MONEYNESS_CAP_FX)          (2**32)
    u_s = 2**16 + vol_shock[s][u] + rdiv(skew_shock[s][u] m, 32)               (2**16, in [2**14, 2**18))
    w_s = round(2**40 / u_s)                                                   (2**24)

so ``1 + shock = u_s / 2**16`` and ``w = w_s``. Puts by parity
(``put = call - F + K``). Per option series ``o``: P&L ``opt[s][o] = V_s - V_0``
(``- lin[s][u]`` for puts), mark ``V_0`` (``- F + K``), exposure ``N(d1_0) F``
(``- F``). ``ln_fx`` and ``N`` are :mod:`calcm.risk.fixed_transcendental`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...fixedpoint import LN_FRAC, SHOCK_FRAC, W_FRAC
from ..fixed_transcendental import ln_fx, norm_cdf_fx, rdiv
from .constants import D_RANGE, D_SHIFT, HALF_V_SHIFT, MONEYNESS_CAP_FX, VALUE, VALUE_SHIFT, VOL_MULT
from .params import ModelParamsFx
from .terms import vol_weight


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


def moneyness(params: ModelParamsFx, o: int, base: OptionValueFx) -> int:
    """``m = clip(ln K - ln_fx(F), +/-MONEYNESS_CAP_FX)`` (2**32) of series ``o`` at the base price
    ``F``: ``base`` is :func:`option_base` there (its ``ln_f``, as OptionPart reuses OptionBase's)."""
    x = params.option_terms[o].ln_k - base.ln_f
    return max(-MONEYNESS_CAP_FX, min(MONEYNESS_CAP_FX, x))


def vol_multiplier(shock: int, skew: int, m: int, what: str = "vol multiplier") -> tuple[int, int]:
    """``(u, w)``: ``u = 2**16 + shock + rdiv(skew m, 32)`` (range-checked in [2**14, 2**18)) and
    ``w = round(2**40 / u)`` for a vol shock and skew shock at 2**16 and moneyness ``m`` at 2**32
    (what ScenarioVol proves)."""
    u = VOL_MULT.check(2**SHOCK_FRAC + shock + rdiv(skew * m, LN_FRAC), what)
    return u, vol_weight(u)


def scenario_vol(params: ModelParamsFx, o: int, s: int, m: int) -> tuple[int, int]:
    """``(u_s, w_s)`` of series ``o`` in scenario ``s`` at moneyness ``m`` (:func:`vol_multiplier`
    of its underlying's vol and skew shocks)."""
    ins = params.instruments[params.options[o]]
    return vol_multiplier(params.vol_shock[s][ins.underlying], params.skew_shock[s][ins.underlying], m,
                          f"instrument '{ins.id}' scenario {s} vol multiplier")


def option_scenario(params: ModelParamsFx, o: int, s: int, price: int, lin: int,
                    vol: tuple[int, int]) -> OptionValueFx:
    """Series ``o`` in scenario ``s``: price ``price + lin``, time ``T - h``, vol ``iv u_s / 2**16``
    with ``vol = (u_s, w_s)`` its :func:`scenario_vol`."""
    ins, t = params.instruments[params.options[o]], params.option_terms[o]
    u, w = vol
    return black76_fx(price + lin, ins.strike, t.ln_k, t.inv_v_after, t.v_after, w, u,
                      f"instrument '{ins.id}' scenario {s}")


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
