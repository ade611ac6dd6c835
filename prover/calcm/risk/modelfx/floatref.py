"""The float twin of one daily step, and the documented fixed-vs-float error bounds.

:func:`float_update` runs the risk stage's own float functions on the decoded
fixed-point parameters and state; :func:`pnl_error_bound` bounds, entry by
entry, how far the exact integer model (:func:`calcm.risk.modelfx.update.update`)
may be from it (docs/MODEL.md §8, "Error bounds").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...fixedpoint import (BPS, D_FRAC, GARCH_FRAC, IV_FRAC, LN_FRAC, PRICE_SCALE, SHOCK_FRAC, T_FRAC, VAR_FRAC,
                           VOL_FRAC, Z_FRAC)
from .constants import DAYS_PER_YEAR
from .options import OptionValueFx
from .params import ModelParamsFx
from .state import ModelStateFx
from .update import UpdateFx


@dataclass(frozen=True)
class FloatUpdate:
    """The float model on the same inputs: sigma2 (U,), returns (S, U), pnl (S, n), mark, exposure."""

    sigma2: np.ndarray
    returns: np.ndarray
    pnl: np.ndarray
    mark: np.ndarray
    exposure: np.ndarray


def float_horizon_variance(params: ModelParamsFx, sigma2: np.ndarray) -> np.ndarray:
    """(U,) ``max((1 - w) V_h + w h var_stress, h var_floor)`` in float from the decoded parameters
    (``w = apc_stress_weight_bps / 10**4``; one of the two APC tools is 0): ``V_h`` by
    :func:`calcm.risk.volatility.mpor_variance` (arch's analytic h-step forecast, summed)."""
    from ..volatility import GarchParams, mpor_variance

    h = params.horizon_days
    out = np.empty(params.n_assets)
    for u in range(params.n_assets):
        gp = GarchParams(params.omega[u] / 2**VAR_FRAC, params.alpha[u] / 2**GARCH_FRAC,
                         params.gamma[u] / 2**GARCH_FRAC, params.beta[u] / 2**GARCH_FRAC, 5.0)
        w = params.apc_stress_weight_bps / 1e4
        v = (1 - w) * mpor_variance(gp, float(sigma2[u]), h) + w * h * params.var_stress[u] / 2**VAR_FRAC
        out[u] = max(v, h * params.var_floor[u] / 2**VAR_FRAC)
    return out


def float_revaluation(params: ModelParamsFx, sigma2: np.ndarray, prices_usd: np.ndarray):
    """The float revaluation at ``prices_usd`` (U,) with one-day variances ``sigma2`` (U,):
    scenario returns (S, U) by :meth:`calcm.risk.scenarios.ScenarioSet.returns` at
    :func:`float_horizon_variance` and the full Black-76 valuation
    (:func:`calcm.risk.instruments.value_instruments`) of the parameters'
    instruments. Returns ``(returns, valuation)``."""
    from ..instruments import InstrumentTable, value_instruments
    from ..scenarios import ScenarioSet

    shock = np.array(params.vol_shock, float) / 2**SHOCK_FRAC
    skew = np.array(params.skew_shock, float) / 2**SHOCK_FRAC
    S = params.n_scenarios
    scen = ScenarioSet(params.assets, tuple(f"s{s}" for s in range(S)), ("fhs",) * S,
                       np.array(params.z, float) / 2**Z_FRAC, shock, skew)
    r = scen.returns(np.sqrt(float_horizon_variance(params, sigma2)))
    ins = params.instruments
    table = InstrumentTable(
        tuple(i.id for i in ins), np.array([i.underlying for i in ins]),
        np.array([0 if i.kind == "spot" else 1 if i.kind == "perp" else 2 for i in ins]),
        np.array([i.strike / PRICE_SCALE if i.is_option else 1.0 for i in ins]),
        np.array([i.expiry / 2**T_FRAC / DAYS_PER_YEAR if i.is_option else 0.0 for i in ins]),
        np.array([i.iv / 2**IV_FRAC if i.is_option else 0.0 for i in ins]),
        np.array([i.kind == "call" for i in ins]))
    return r, value_instruments(table, prices_usd, r, shock, skew, params.horizon_days)


def float_update(state: ModelStateFx, prices, params: ModelParamsFx) -> FloatUpdate:
    """The float risk stage's update on the decoded parameters (the error tests' reference).

    GARCH by :func:`calcm.risk.volatility.garch_update`, scenario returns by
    :meth:`calcm.risk.scenarios.ScenarioSet.returns`, full Black-76 revaluation
    by :func:`calcm.risk.instruments.value_instruments`.
    """
    from ..volatility import GarchParams, garch_update

    U = params.n_assets
    p0 = np.array(state.price, float) / PRICE_SCALE
    p1 = np.array(prices, float) / PRICE_SCALE
    s2 = np.empty(U)
    for u in range(U):
        gp = GarchParams(params.omega[u] / 2**VAR_FRAC, params.alpha[u] / 2**GARCH_FRAC,
                         params.gamma[u] / 2**GARCH_FRAC, params.beta[u] / 2**GARCH_FRAC, 5.0)
        s2[u] = garch_update(gp, state.sigma2[u] / 2**VAR_FRAC, p1[u] / p0[u] - 1.0)
    r, val = float_revaluation(params, s2, p1)
    return FloatUpdate(s2, r, val.pnl, val.mark, val.exposure)


def horizon_rel_error(params: ModelParamsFx, u: int, vf: float) -> float:
    """Bound on the relative error of ``sigma_h = sqrt(Vf)`` from the integer horizon variance
    (:func:`calcm.risk.modelfx.step.horizon_variance`) at ``Vf`` (return**2) vs the float one.

    With ``M = max(1, phi)``: ``phi``'s rounding of ``gamma / 2`` (2**-33) and each ``rdiv`` of
    ``A_u`` (2**-33 a step) perturb ``A_u`` by at most ``h**2 M**h 2**-33`` (relative: A_u >= 1),
    likewise ``B_u`` relative to ``omega (h - 1)`` plus ``h**2 M**h 2**-49`` absolute, and the
    ``rdiv`` of ``A_u sigma2`` adds 2**-49: ``|dV| <= h**2 M**h (2**-33 V + 2**-48)``. The
    floor ``F_u`` is exact on both sides and ``max`` is 1-Lipschitz; ``|d sqrt(V)| / sqrt(V) <=
    |dV| / V``, doubled for using the fixed ``Vf`` in place of the float one:
    ``h**2 M**h (2**-32 + 2**-47 / Vf)``. APC tool (b) (weight ``w`` > 0) scales that part by
    ``1 - w`` and adds its fold's roundings, ``sigma2 2**-33 + 3 2**-49`` with ``sigma2 <= V / (1 - w)``
    (:attr:`ModelParamsFx.horizon_b`), doubled: ``2**-32 / (1 - w) + 3 2**-48 / Vf``.
    """
    h = params.horizon_days
    m = max(1.0, params.phi[u] / 2**GARCH_FRAC) ** h
    out = h * h * m * (2**-32 + 2**-47 / max(vf, 2**-64))
    w = params.apc_stress_weight_bps
    return out + (2**-32 * BPS / (BPS - w) + 3 * 2**-48 / max(vf, 2**-64) if w else 0.0)


def pnl_error_bound(up: UpdateFx, params: ModelParamsFx, prices) -> np.ndarray:
    """(S, n) bound, in PRICE units (micro-USD), on ``|pnl_fx - pnl_float|`` (docs/MODEL.md §8).

    Against :func:`float_update` on the same decoded parameters and state:

    - spot / perp: ``4 + |lin| (2**-32 / sigma_h + 2**-30 + horizon_rel_error)``: the two
      roundings of ``a_u`` and ``lin`` (0.5 each), ``|z| 2**-5 <= 2`` from ``a_u``'s rounding,
      the ``-95%`` floor's integer rounding (1), the relative error of ``sigma_h`` (isqrt
      floors by at most 2**-32; 2**-30 is slack for the float side), and that of the
      horizon variance (:func:`horizon_rel_error`);
    - options: ``(F_s + K) eps_s + (F + K) eps_0 + 4`` (+ the linear bound for puts),
      with ``eps = NORM_CDF_ERROR + phi_max (2**-21 + 2 LN_ERROR / v + 2**-24 (|d| + 1))``:
      the normal-CDF approximation, the rounding of d, the ln errors divided
      by ``v = iv sqrt(T) u_s / 2**16``, the relative rounding of 1/v and w; in a scenario
      also the vol multiplier's error ``du <= 2**-17 + 2**-25`` (``rdiv(kappa m, 32)``, and
      ``|kappa| <= 1`` times m's two ln errors): sigma = v' u moves by ``v' du``, and
      ``dV/dsigma = F phi(d1)`` (the d1 and d2 terms cancel: ``F phi(d1) = K phi(d2)``), so
      ``eps += phi_max v' du`` (first order; the second order is below 2**-30 of it).
    """
    from ..fixed_transcendental import LN_ERROR, NORM_CDF_ERROR

    phi_max = 0.3989422804014327
    S, n = params.n_scenarios, params.n_instruments
    out = np.zeros((S, n))
    lin_bound = np.zeros((S, params.n_assets))
    for u, a in enumerate(up.assets):
        sigma = max(a.sigma / 2**VOL_FRAC, 2**-32)
        rel = 2**-32 / sigma + 2**-30 + horizon_rel_error(params, u, sigma * sigma)
        for s in range(S):
            lin_bound[s, u] = 4 + abs(up.lin[s][u]) * rel

    def eps(val: OptionValueFx, v_real: float, dsigma: float = 0.0) -> float:
        d = max(abs(val.d1), abs(val.d2)) / 2**D_FRAC
        return NORM_CDF_ERROR + phi_max * (2**-21 + 2 * LN_ERROR / v_real + 2**-24 * (d + 1) + dsigma)

    opt_pos = {i: k for k, i in enumerate(params.options)}
    for i, ins in enumerate(params.instruments):
        u = ins.underlying
        if not ins.is_option:
            out[:, i] = lin_bound[:, u]
            continue
        k = opt_pos[i]
        t = params.option_terms[k]
        f, strike = prices[u], ins.strike
        e0 = (f + strike) * eps(up.base[k], t.v / 2**LN_FRAC)
        for s, (us, _) in zip(range(S), (v for p in up.parts if p.o == k for v in p.vol)):
            vs = t.v_after / 2**LN_FRAC * us / 2**SHOCK_FRAC
            es = (f + up.lin[s][u] + strike) * eps(up.scen[s][k], vs, t.v_after / 2**LN_FRAC * (2**-17 + 2**-25))
            out[s, i] = es + e0 + 4 + (lin_bound[s, u] if ins.kind == "put" else 0)
    return out
