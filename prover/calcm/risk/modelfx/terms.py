"""Instruments, collateral and the derived constants of option series (exact integer routines).

An option series' published terms are ``strike`` (PRICE), ``expiry`` (days at
2**16, constant maturity) and ``iv`` (2**32). :func:`option_terms` derives
``ln K``, ``v = iv sqrt(T/365)``, ``v' = iv sqrt((T - h)/365)`` and their
reciprocals, hashed into the parameter tree (``ht[o]``), so the circuits take them
as inputs instead of recomputing them. :func:`vol_weight` is the reciprocal of a
scenario's vol multiplier, computed per (scenario, option) and proven (ScenarioVol).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...fixedpoint import LN_FRAC, SHOCK_FRAC, T_FRAC, W_FRAC, FixedPointRangeError
from ..fixed_transcendental import ln_fx
from .constants import DAYS_PER_YEAR, EXPIRY, KINDS, VSQRT


@dataclass(frozen=True)
class InstrumentFx:
    """One instrument: ``kind`` in spot/perp/call/put on asset index ``underlying``.

    Options: ``strike`` (PRICE), ``expiry`` (days at 2**16, constant maturity:
    the series keeps its time to expiry from day to day, as the float model
    does), ``iv`` (annualised implied vol at 2**32).
    """

    id: str
    kind: str
    underlying: int
    strike: int = 0
    expiry: int = 0
    iv: int = 0

    @property
    def code(self) -> int:
        return KINDS.index(self.kind)

    @property
    def is_option(self) -> bool:
        return self.kind in ("call", "put")


@dataclass(frozen=True)
class CollateralFx:
    """A collateral asset: ``underlying`` is its asset index, or -1 for a stablecoin (1 USD)."""

    asset: str
    underlying: int
    haircut_bps: int


@dataclass(frozen=True)
class OptionTermsFx:
    """Constants of one option series, derived from (strike, expiry, iv) by :func:`option_terms`.

    ln_k = ln_fx(strike); v = iv sqrt(T/365), v_after = iv sqrt((T-h)/365) (2**32);
    inv_v, inv_v_after = round(2**64 / v) (1/v at 2**32).
    """

    ln_k: int
    v: int
    inv_v: int
    v_after: int
    inv_v_after: int

    def field_elements(self) -> list[int]:
        return [self.ln_k, self.v, self.inv_v, self.v_after, self.inv_v_after]


def vol_sqrt_time(iv: int, expiry: int) -> int:
    """``floor(iv sqrt(expiry / 365))`` at 2**32: ``isqrt(iv^2 * expiry // (2**16 * 365))``."""
    return math.isqrt(iv * iv * expiry // (2**T_FRAC * DAYS_PER_YEAR))


def reciprocal(v: int, frac: int) -> int:
    """``round(2**(2 frac) / v)``: 1/v at scale 2**frac for v at 2**frac."""
    return (2 ** (2 * frac + 1) + v) // (2 * v)


def option_terms(ins: InstrumentFx, horizon_days: int) -> OptionTermsFx:
    """The derived constants of an option series (exact integer routines)."""
    what = f"instrument '{ins.id}'"
    if ins.expiry <= horizon_days * 2**T_FRAC:
        raise FixedPointRangeError(f"{what} expiry (must exceed the {horizon_days}-day MPOR)",
                                   ins.expiry / 2**T_FRAC, horizon_days, EXPIRY.high)
    v = VSQRT.check(vol_sqrt_time(ins.iv, ins.expiry), f"{what} iv*sqrt(T)")
    va = VSQRT.check(vol_sqrt_time(ins.iv, ins.expiry - horizon_days * 2**T_FRAC),
                     f"{what} iv*sqrt(T - MPOR)")
    return OptionTermsFx(ln_fx(ins.strike), v, reciprocal(v, LN_FRAC), va, reciprocal(va, LN_FRAC))


def vol_weight(u: int) -> int:
    """``w = round(2**40 / u) = (2**41 + u) // (2 u)``: 1/(1 + v + kappa m) at 2**24 for the
    scenario vol multiplier ``u`` at 2**16 (ScenarioVol pins ``0 <= 2**41 + u - 2 u w < 2 u``)."""
    return (2 ** (W_FRAC + SHOCK_FRAC + 1) + u) // (2 * u)
