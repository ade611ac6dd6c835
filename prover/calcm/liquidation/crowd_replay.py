"""Vectorised cascade replay of a :class:`~calcm.liquidation.crowd.Crowd` under several regimes.

Same day loop as :mod:`calcm.liquidation.simulate` (causal model of the previous
close, intraday path through high and low, impact feedback, overnight decay), but
every account is processed at once with numpy, so 10,000 accounts replay in seconds:

1. **USD model.** Crowd accounts hold one linear perp per underlying, so a margin
   model at unit prices (:func:`usd_model`: ``pnl = r``, exposure 1, mark 0) applied
   to the USD exposures ``X`` gives the same requirement as the model in units at
   any price (every regime's requirement depends on ``q * P`` only). It is built once
   per day; at each checkpoint ``X`` is revalued, ``X <- X * P_new / P_old``, and the
   P&L ``sum_u X_u (P_new / P_old - 1)`` settles into cash.
2. **Screen.** Every regime's requirement of a linear book is bounded by
   ``UB(X) = sum_u |X_u| b_u^{sign X_u} + sum_u a_u X_u^2``, with ``b_u^{+-}`` the
   requirement (less add-on) of a 1 USD long / short position on ``u`` alone and
   ``a_u`` the add-on per USD^2 (ES is subadditive and positively homogeneous; the
   siloed, static and Deribit-style sums are exact; SPAN credits only lower it).
   Only accounts with ``cash < UB`` get the regime's exact margin.
3. **Liquidation.** An account with ``E < MM`` is liquidated. ``full``: every position
   closed. ``partial``: every position cut by the same fraction ``f``, the least ``f``
   with ``E(f) >= target * MM(f)``, where ``MM(f) = (1-f)(MM - A) + (1-f)^2 A``
   (homogeneous requirement plus quadratic add-on ``A``) and ``E(f) = E - cost(f X) -
   penalty * f * gross``: found by vectorised bisection (``D(f)`` is convex, as in
   :mod:`.engine`); if no ``f < 1`` restores the account, ``f = 1``. The engine's
   greedy order is not used here: a crowd account's legs are cut pro rata.
   Execution cost ``w trade^2 / ADV`` (the add-on's law) and the penalty are paid from cash
   (the penalty only out of what is left); negative cash after a full close is
   **bad debt**, covered by the insurance fund, the rest is ``uncovered``.
4. **Feedback.** The round's net flow per underlying moves the regime's impact factor
   (``ImpactModel.price_factor``) and the checkpoint is re-run until no account is
   liquidatable (``max_rounds``). A round after the first exists only because the
   previous round's liquidations moved prices: these are the *cascade rounds*.

Conservation (tested): ``sum(cash) + fund + liquidator + costs - uncovered =
sum(cash_0) + fund_0 + cumulative MTM P&L``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from ..market import MarketData
from ..risk.book import Book
from ..risk.instruments import InstrumentTable
from ..risk.margin import MarginModel
from .causal import CausalRiskModel
from .crowd import Crowd
from .engine import LiquidationParams
from .impact import ImpactModel, ImpactParams
from .insurance import PenaltySplit
from .regimes import Regime
from .simulate import _checkpoint_model, intraday_path


@dataclass(frozen=True)
class CrowdSimParams:
    """Crowd replay settings (data, not code); the meaning is :class:`~.results.SimParams`'s.
    swing_accounts: how many accounts (the first ones) form the fixed book whose requirement
    swing is reported."""

    steps_per_leg: int = 8
    max_rounds: int = 20
    impact_decay: float = 0.5
    fund_share: float = 0.005
    wick_cap: float = 0.5
    bisection_steps: int = 40
    swing_accounts: int = 2000
    liquidation: LiquidationParams = field(default_factory=LiquidationParams)
    impact: ImpactParams = field(default_factory=ImpactParams)
    penalty: PenaltySplit = field(default_factory=PenaltySplit)


def usd_model(causal: CausalRiskModel, shell: Book, asof) -> MarginModel:
    """The margin model at the close of ``asof`` at unit prices (see the module docstring)."""
    rm = causal.at(asof)
    table = InstrumentTable.from_instruments(shell.instruments, shell.underlyings)
    return _checkpoint_model(rm, table, shell, np.ones(len(rm.underlyings)))


def perp_shell(assets: tuple[str, ...]) -> Book:
    """A book with one USD-margined perp per asset and USDC (haircut 0) as collateral."""
    from ..risk.book import parse_book
    return parse_book({"instruments": [{"id": f"{a}-PERP", "kind": "perp", "underlying": a} for a in assets],
                       "collateral": [{"asset": "USDC", "haircut": 0.0}], "accounts": []},
                      source="<crowd>")


class _State:
    """One regime's replay state: exposures, cash, ledgers, impact factor and counters."""

    def __init__(self, crowd: Crowd, cash: np.ndarray, price: np.ndarray, fund_share: float):
        self.x, self.cash, self.cash0 = crowd.x.copy(), cash.copy(), cash.copy()
        fund0 = fund_share * float(cash.sum())
        self.closed = np.zeros(len(crowd.ids), bool)
        self.price, self.factor = price.copy(), np.ones(len(price))
        self.fund = self.fund0 = fund0
        self.liquidator = self.costs = self.uncovered = self.mtm = 0.0
        self.n = {"liquidations": 0, "full": 0, "accounts": set(), "notional": 0.0, "bad_debt": 0.0,
                  "from_fund": 0.0, "rounds": 0, "cascade_rounds": 0, "cascade_notional": 0.0,
                  "max_rounds": 0, "checkpoints_cascading": 0}
        self.requirement: list[float] = []
        self.seconds = 0.0


def _bounds(reg: Regime, model: MarginModel):
    """(b_plus, b_minus, a): per-USD requirement of a lone long / short position, add-on per USD^2."""
    U = len(model.underlyings)
    unit = np.vstack([np.eye(U), -np.eye(U)])
    res = reg.margin(model, np.ones(U), np.arange(U), unit, np.zeros((2 * U, len(model.collateral_assets))))
    lin = res.mm - res.addon
    return lin[:U], lin[U:], res.addon[:U]


def _fractions(reg: Regime, p: CrowdSimParams, impact: ImpactModel, model: MarginModel, e0, x, mm,
               addon) -> np.ndarray:
    """(B,) fraction of every position to close for each liquidated account (1 = full)."""
    if not reg.partial:
        return np.ones(len(e0))
    gross, lin = np.abs(x).sum(axis=1), mm - addon
    lp = p.liquidation

    def deficit(f):
        trade = f[:, None] * np.abs(x)
        eq = e0 - impact.cost(trade, model.adv, model.liquidity_weight).sum(axis=1) - lp.penalty_rate * f * gross
        return lp.target_ratio * ((1 - f) * lin + (1 - f) ** 2 * addon) - eq

    lo, hi = np.zeros(len(e0)), np.ones(len(e0))
    restorable = (e0 > 0) & (deficit(np.full(len(e0), 1 - 1e-12)) <= 0)
    for _ in range(p.bisection_steps):
        mid = (lo + hi) / 2
        ok = deficit(mid) <= 0
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    return np.where(restorable, hi, 1.0)


def _round(s: _State, reg: Regime, model: MarginModel, bounds, p: CrowdSimParams, impact: ImpactModel,
           rnd: int) -> np.ndarray | None:
    """Liquidate every liquidatable account once; returns the signed USD flow per underlying."""
    bp, bm, a = bounds
    live = ~s.closed & np.any(s.x != 0, axis=1)
    ub = (np.abs(s.x) * np.where(s.x > 0, bp, bm)).sum(axis=1) + (s.x * s.x * a).sum(axis=1)
    cand = np.flatnonzero(live & (s.cash < ub * (1 + 1e-9)))
    if cand.size == 0:
        return None
    U = len(model.underlyings)
    res = reg.margin(model, np.ones(U), np.arange(U), s.x[cand], np.zeros((cand.size, len(model.collateral_assets))))
    hit = s.cash[cand] < res.mm
    if not hit.any():
        return None
    idx = cand[hit]
    x, e0 = s.x[idx], s.cash[idx]
    f = _fractions(reg, p, impact, model, e0, x, res.mm[hit], res.addon[hit])
    trade = f[:, None] * x                                          # USD exposure removed
    cost = impact.cost(trade, model.adv, model.liquidity_weight).sum(axis=1)
    penalty = p.liquidation.penalty_rate * np.abs(trade).sum(axis=1)
    paid = np.minimum(penalty, np.maximum(e0 - cost, 0.0))
    after = e0 - cost - paid
    bad = np.maximum(-after, 0.0)
    s.cash[idx] = after + bad
    s.x[idx] = np.where(f[:, None] >= 1.0, 0.0, x - trade)
    s.closed[idx] |= f >= 1.0
    to_liq, to_fund = p.penalty.split(float(paid.sum()))
    s.liquidator += to_liq
    s.costs += float(cost.sum())
    s.fund += to_fund
    from_fund = min(max(s.fund, 0.0), float(bad.sum()))
    s.fund -= from_fund
    s.uncovered += float(bad.sum()) - from_fund
    n, notional = s.n, float(np.abs(trade).sum())
    n["liquidations"] += idx.size
    n["full"] += int((f >= 1.0).sum())
    n["accounts"].update(idx.tolist())
    n["notional"] += notional
    n["bad_debt"] += float(bad.sum())
    n["from_fund"] += from_fund
    if rnd > 0:
        n["cascade_rounds"] += 1
        n["cascade_notional"] += notional
    return -trade.sum(axis=0)


def _move(s: _State, new: np.ndarray) -> None:
    """Revalue exposures from ``s.price`` to ``new`` (U,) and settle the P&L into cash."""
    ratio = new / s.price
    pnl = (s.x * (ratio - 1)).sum(axis=1)
    s.cash += pnl
    s.x *= ratio
    s.mtm += float(pnl.sum())
    s.price = new.copy()


def replay_crowd(market: MarketData, crowd: Crowd, regimes: list[Regime], start, end,
                 causal: CausalRiskModel, shell: Book, params: CrowdSimParams | None = None,
                 cash: dict[str, np.ndarray] | None = None, frozen: bool = False) -> dict[str, dict]:
    """Replay ``crowd`` from ``start`` to ``end`` (inclusive) under every regime; name -> summary.

    The crowd is held from the close of the day before ``start``; all regimes share
    the causal model (built once per day). ``cash`` (regime name -> (A,)) gives a
    regime its own collateral (default: ``crowd.cash``); the insurance fund starts at
    ``fund_share`` of it. ``frozen``: every day uses the model of the day before ``start``
    (requirements move with prices only), the counterfactual that attributes liquidations
    to the requirement's rise during the window (:func:`calcm.liquidation.ablation.attribution`).
    """
    p = params or CrowdSimParams()
    d0, d1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    days = np.flatnonzero((market.dates >= d0) & (market.dates <= d1))
    if len(days) == 0 or days[0] == 0:
        raise InputError(market.source, f"{start}..{end}", "date",
                         "the replay window needs at least one day after the first row of the data")
    cols = [market.index(u) for u in crowd.underlyings]
    impact = ImpactModel(p.impact)
    price0 = market.closes[days[0] - 1, cols].astype(float)
    states = {r.name: _State(crowd, (cash or {}).get(r.name, crowd.cash), price0, p.fund_share) for r in regimes}
    book = crowd.x[:p.swing_accounts]
    for t in days:
        model = usd_model(causal, shell, market.dates[(days[0] if frozen else t) - 1])
        hist = intraday_path(market.closes[t - 1, cols], market.closes[t, cols],
                             None if market.high is None else market.high[t, cols],
                             None if market.low is None else market.low[t, cols], p.steps_per_leg, p.wick_cap)
        if np.any(~np.isfinite(hist)):
            raise InputError(market.source, str(market.dates[t]), ",".join(crowd.underlyings),
                             "missing close inside the replay window")
        book_mm: dict = {}
        for reg in regimes:
            s, t0 = states[reg.name], time.perf_counter()
            bounds = _bounds(reg, model)
            s.factor = 1.0 + (s.factor - 1.0) * p.impact_decay
            for hp in hist:
                rounds = 0
                for rnd in range(p.max_rounds):
                    _move(s, hp * s.factor)
                    flow = _round(s, reg, model, bounds, p, impact, rnd)
                    if flow is None:
                        break
                    rounds += 1
                    s.factor = s.factor * impact.price_factor(flow, model.adv, model.liquidity_weight)
                s.n["rounds"] += rounds
                s.n["max_rounds"] = max(s.n["max_rounds"], rounds)
                s.n["checkpoints_cascading"] += rounds > 1
            # The fixed book's requirement at the close (historical prices, no impact): once
            # per margin model and day (the policy does not change it; the scale multiplies it).
            key = (reg.model, reg.static)
            if key not in book_mm:
                held = book * (market.closes[t, cols] / price0)
                plain = replace(reg, scale=1.0)
                book_mm[key] = float(plain.margin(model, np.ones(len(cols)), np.arange(len(cols)), held,
                                                  np.zeros((len(held), 1))).mm.sum())
            s.requirement.append(reg.scale * book_mm[key])
            s.seconds += time.perf_counter() - t0
    return {name: _summary(s) for name, s in states.items()}


def swing(series, horizon: int) -> float:
    """Largest relative rise of ``series`` within ``horizon`` steps: ``max_{t, 0<j<=h} R[t+j]/R[t] - 1``."""
    r = np.asarray(series, float)
    best = 0.0
    for j in range(1, min(horizon, len(r) - 1) + 1):
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(r[:-j] > 0, r[j:] / r[:-j] - 1, 0.0)
        best = max(best, float(v.max()))
    return best


def _summary(s: _State) -> dict:
    n = dict(s.n)
    n["accounts"] = len(s.n["accounts"])
    lhs = float(s.cash.sum()) + s.fund + s.liquidator + s.costs - s.uncovered
    rhs = float(s.cash0.sum()) + s.fund0 + s.mtm
    return {**n, "initial_cash": float(s.cash0.sum()), "fund_start": s.fund0, "fund_end": s.fund, "uncovered": s.uncovered,
            "impact_costs": s.costs, "mean_requirement": float(np.mean(s.requirement)),
            "swing_1d": swing(s.requirement, 1), "swing_5d": swing(s.requirement, 5),
            "conservation_error": lhs - rhs, "conservation_scale": rhs, "seconds": s.seconds}
