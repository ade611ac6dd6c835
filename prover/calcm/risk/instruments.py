"""Instrument valuation: Black-76 options and the instrument-by-scenario P&L matrix.

Rates are zero, so Black-76 on the spot/forward ``F`` with strike ``K``, time to
expiry ``T`` (years) and volatility ``sigma`` (annualised)::

    d1 = (ln(F / K) + sigma^2 T / 2) / (sigma sqrt(T)),   d2 = d1 - sigma sqrt(T)
    call = F N(d1) - K N(d2),        put = K N(-d2) - F N(-d1)
    delta_call = N(d1),              delta_put = N(d1) - 1

At ``T <= 0`` the value is intrinsic and the delta a step.

P&L of one unit of instrument ``i`` on underlying ``u`` at price ``S`` under a
scenario with return ``r[s, u]``, vol shock ``v[s, u]`` and skew shock ``kappa[s, u]``
over ``h`` days:

- spot, perp: ``S * r[s, u]``
- option: ``B76(S (1 + r), K, T - h/365, iv_s) - B76(S, K, T, iv)`` with
  ``iv_s = iv (1 + v[s, u] + kappa[s, u] m)``, ``m = clip(ln(K / S), -MONEYNESS_CAP, MONEYNESS_CAP)``
  (full revaluation; an option expiring inside the MPOR is worth its intrinsic value).
  The moneyness is taken at today's price ``S`` (sticky moneyness at the base price:
  one number per option per day), so a scenario moves the vol of every strike of an
  underlying by an affine function of its log-moneyness. The cap keeps far wings from
  extrapolating the slope; ScenarioParams validation keeps ``1 + v + kappa m >= 0.25``.

Marks (value of one unit now): spot ``S``, perp 0 (P&L is settled), option its
premium. Exposure (U, n): ``delta * S`` on the instrument's underlying row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .book import Instrument

DAYS_PER_YEAR = 365.0
#: |log-moneyness| cap of the skew shock (float; the fixed side derives MONEYNESS_CAP_FX from it).
MONEYNESS_CAP = 0.5


def black76(F, K, T, sigma, is_call) -> np.ndarray:
    """Black-76 price (zero rates), vectorised over broadcastable arrays; USD per unit."""
    F, K, T, sigma, is_call = np.broadcast_arrays(*(np.asarray(x, float) for x in (F, K, T, sigma)),
                                                  np.asarray(is_call, bool))
    intrinsic = np.where(is_call, np.maximum(F - K, 0.0), np.maximum(K - F, 0.0))
    live = (T > 0) & (sigma > 0)
    sd = np.sqrt(np.where(live, T, 1.0)) * np.where(live, sigma, 1.0)
    d1 = (np.log(F / K) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    call = F * ndtr(d1) - K * ndtr(d2)
    put = K * ndtr(-d2) - F * ndtr(-d1)
    return np.where(live, np.where(is_call, call, put), intrinsic)


def black76_delta(F, K, T, sigma, is_call) -> np.ndarray:
    """dPrice/dF (unitless), vectorised; at expiry a step at the strike."""
    F, K, T, sigma, is_call = np.broadcast_arrays(*(np.asarray(x, float) for x in (F, K, T, sigma)),
                                                  np.asarray(is_call, bool))
    live = (T > 0) & (sigma > 0)
    sd = np.sqrt(np.where(live, T, 1.0)) * np.where(live, sigma, 1.0)
    n1 = ndtr((np.log(F / K) + 0.5 * sd * sd) / sd)
    step = np.where(is_call, (F > K).astype(float), -(F < K).astype(float))
    return np.where(live, np.where(is_call, n1, n1 - 1.0), step)


@dataclass(frozen=True)
class InstrumentTable:
    """Column arrays of n instruments (what vectorised valuation needs).

    underlying_index: (n,) row of the underlying in the U-axis; kind codes 0 spot, 1 perp, 2 option.
    strike, expiry_years, iv, is_call: (n,) option terms (ignored for linear instruments).
    """

    ids: tuple[str, ...]
    underlying_index: np.ndarray
    kind: np.ndarray
    strike: np.ndarray
    expiry_years: np.ndarray
    iv: np.ndarray
    is_call: np.ndarray

    @classmethod
    def from_instruments(cls, instruments: tuple[Instrument, ...], underlyings: tuple[str, ...]):
        code = {"spot": 0, "perp": 1, "option": 2}
        opt = lambda i, a, d: getattr(i, a) if i.is_option else d  # noqa: E731
        return cls(tuple(i.id for i in instruments),
                   np.array([underlyings.index(i.underlying) for i in instruments], int),
                   np.array([code[i.kind] for i in instruments], int),
                   np.array([opt(i, "strike", 1.0) for i in instruments], float),
                   np.array([opt(i, "expiry_days", 0.0) / DAYS_PER_YEAR for i in instruments], float),
                   np.array([opt(i, "implied_vol", 0.0) for i in instruments], float),
                   np.array([i.option_type == "call" for i in instruments], bool))

    @property
    def is_option(self) -> np.ndarray:
        return self.kind == 2


@dataclass(frozen=True)
class Valuation:
    """pnl (S, n) USD per unit per scenario; mark (n,) USD per unit; exposure (U, n) USD delta notional."""

    pnl: np.ndarray
    mark: np.ndarray
    exposure: np.ndarray


def scenario_vols(table: InstrumentTable, price: np.ndarray, vol_shock: np.ndarray,
                  skew_shock: np.ndarray) -> np.ndarray:
    """(S, n_opt) scenario implied vols of the options (in table order): ``iv (1 + v + kappa m)``.

    price (U,); vol_shock, skew_shock (S, U) in the order of ``price``.
    """
    opt = np.flatnonzero(table.is_option)
    u = table.underlying_index[opt]
    m = np.clip(np.log(table.strike[opt] / np.asarray(price, float)[u]), -MONEYNESS_CAP, MONEYNESS_CAP)
    return table.iv[opt] * (1 + np.asarray(vol_shock, float)[:, u] + np.asarray(skew_shock, float)[:, u] * m)


def value_instruments(table: InstrumentTable, price: np.ndarray, returns: np.ndarray,
                      vol_shock: np.ndarray, skew_shock: np.ndarray, horizon_days: float) -> Valuation:
    """Full revaluation of every instrument under every scenario.

    price (U,) underlying prices now; returns, vol_shock, skew_shock (S, U) scenario simple
    returns, relative ATM vol shocks and skew shocks (columns in the order of ``price``);
    horizon_days: the MPOR in days.
    """
    price = np.asarray(price, float)
    returns = np.asarray(returns, float)
    if np.shape(vol_shock) != returns.shape or np.shape(skew_shock) != returns.shape:
        raise ValueError(f"vol_shock and skew_shock must be (S, U) = {returns.shape}")
    S_now = price[table.underlying_index]                      # (n,)
    r = returns[:, table.underlying_index]                      # (S, n)
    pnl = S_now * r                                             # linear instruments
    U, n = len(price), len(table.ids)
    mark = np.where(table.kind == 0, S_now, 0.0)
    delta = np.ones(n)
    opt = np.flatnonzero(table.is_option)
    if opt.size:
        K, T, iv, call = (table.strike[opt], table.expiry_years[opt], table.iv[opt], table.is_call[opt])
        v0 = black76(S_now[opt], K, T, iv, call)
        t_after = np.maximum(T - horizon_days / DAYS_PER_YEAR, 0.0)
        v1 = black76(S_now[opt] * (1 + r[:, opt]), K, t_after,
                     scenario_vols(table, price, vol_shock, skew_shock), call)
        pnl[:, opt] = v1 - v0
        mark[opt] = v0
        delta[opt] = black76_delta(S_now[opt], K, T, iv, call)
    exposure = np.zeros((U, n))
    exposure[table.underlying_index, np.arange(n)] = delta * S_now
    return Valuation(pnl, mark, exposure)
