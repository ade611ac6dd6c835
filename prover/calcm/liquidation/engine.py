"""Partial liquidation: the least liquidation that restores an account's margin ratio.

An account is *liquidatable* when its equity ``E`` is below its maintenance
margin ``MM`` (:mod:`calcm.risk.margin`). The engine looks for trades that make
``E >= target_ratio * MM`` again (default 1.1: a 10% buffer over MM), using
only the account's own positions and collateral:

- close part of a position (``q[i] -> (1 - f) * q[i]``, ``0 < f <= 1``): the
  account receives ``f * |q[i]| * mark[i]`` in cash for spot and options (0 for
  perps, whose P&L is already settled into cash) and pays the execution cost;
- sell part of a non-cash collateral asset for the cash asset (the first
  stablecoin of the model), which releases its haircut.

Every trade pays an execution cost from the impact law
(:class:`~calcm.liquidation.impact.ImpactModel`: ``w_u x_u^2 / ADV_u`` on the
trade's delta notional ``x_u`` per underlying, the margin add-on's law and
weights) and a liquidation penalty ``penalty_rate * notional``; both are paid in
cash, so they lower equity. A full liquidation executes the account's positions
as one net trade per underlying, so its position cost is exactly the add-on
``sum_u w_u X_u^2 / ADV_u`` (allocated to the position trades in proportion to
their flows); collateral sales pay the law on their own notional.

Algorithm (greedy, deterministic)
---------------------------------
Let the *deficit* be ``D = target_ratio * MM - E`` (restored iff ``D <= 0``).

1. Healthy (``D <= 0``): no trade. Insolvent (``E <= 0``): full liquidation.
2. For every candidate (each open position, each non-cash collateral holding)
   evaluate closing it in full: risk reduction ``D_now - D_after`` (for a position
   mostly ``target * (ES + add-on)`` released; for collateral the haircut released)
   and cost ``impact cost + penalty``. Pick the largest reduction per unit of cost
   (ties: lowest index, positions before collateral); only candidates that reduce
   ``D`` qualify, so a hedge leg is never closed before the risk it hedges.
3. If closing the chosen candidate in full restores the account, find by
   bisection the smallest fraction ``f`` that does, and stop. Otherwise close it
   in full, recompute every margin with the requirement function and repeat.
4. If no candidate reduces ``D`` any more while ``D > 0``, the account cannot be
   restored: full liquidation (close every position, sell every collateral
   holding) with the reason.

Why bisection is exact here: along one candidate, ``MM(f)`` is convex in ``f``
(ES is subadditive and positively homogeneous; the add-on is quadratic) and the
cost is convex (quadratic) in ``f``, so ``D(f)`` is convex; with
``D(0) > 0 >= D(1)`` the set ``{f : D(f) <= 0}`` is an interval ending at 1 and
bisection converges to its left end: any smaller fraction of the last trade
leaves ``D > 0``. The plan is the least liquidation *along the greedy order*;
the greedy order is a heuristic, not a global optimum over all trade sets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..risk.book import STABLECOINS, default_liquidity_weight
from ..risk.margin import MarginModel, PortfolioMargin
from .impact import ImpactModel

#: ``requirement(q, c) -> MM``: maintenance margin (A,) of positions (A, n) and collateral (A, m).
Requirement = Callable[[np.ndarray, np.ndarray], np.ndarray]

HEALTHY, PARTIAL, FULL = "healthy", "partial", "full"


@dataclass(frozen=True)
class LiquidationParams:
    """Liquidation rules (data, not code).

    target_ratio:  a partial liquidation stops once ``E >= target_ratio * MM`` (default 1.1).
    penalty_rate:  liquidation penalty as a fraction of the liquidated notional (default 1%).
    tolerance:     bisection stops when the fraction bracket is narrower than this.
    """

    target_ratio: float = 1.10
    penalty_rate: float = 0.01
    tolerance: float = 1e-9

    def __post_init__(self):
        if not (1.0 <= self.target_ratio < 10):
            raise ValueError(f"target_ratio must be in [1, 10), got {self.target_ratio}")
        if not (0 <= self.penalty_rate < 0.5):
            raise ValueError(f"penalty_rate must be in [0, 0.5), got {self.penalty_rate}")
        if not (0 < self.tolerance < 1e-3):
            raise ValueError(f"tolerance must be in (0, 1e-3), got {self.tolerance}")


@dataclass(frozen=True)
class Trade:
    """One liquidation trade.

    kind:      ``"position"`` (close part of a position) or ``"collateral"`` (sell collateral).
    asset:     instrument id or collateral asset.
    quantity:  signed change of the holding in units (opposite sign to the holding).
    fraction:  fraction of the holding at the time of the trade, in (0, 1].
    notional:  USD size (delta notional for positions, market value for collateral).
    cost:      USD execution cost (impact), paid by the account.
    penalty:   USD liquidation penalty due.
    flows:     signed USD delta traded per underlying (sale < 0), for price feedback.
    """

    kind: str
    asset: str
    quantity: float
    fraction: float
    notional: float
    cost: float
    penalty: float
    flows: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountState:
    """Margin snapshot of one account (USD): equity after haircuts, MM, ratio, net value.

    ``net_value`` is the account's value without haircuts (what creditors are owed
    or owe): negative net value after a full liquidation is bad debt.
    """

    equity: float
    mm: float
    ratio: float
    net_value: float


@dataclass(frozen=True)
class LiquidationPlan:
    """What the engine decided for one account, and why.

    status:         ``healthy`` (no trade), ``partial`` or ``full``.
    reason:         one sentence.
    trades:         in execution order.
    before/after:   margin snapshots.
    notional, cost: sums over trades (USD).
    penalty_due:    ``penalty_rate * notional``.
    penalty_paid:   what the account can pay (a full liquidation of an insolvent
                    account pays only up to its remaining net value).
    bad_debt:       USD the account owes after a full liquidation (>= 0).
    q_after, c_after: positions (n,) and collateral (m,) after the plan; the
                    penalty and cost are already taken from the cash asset.
    """

    account: str
    status: str
    reason: str
    trades: tuple[Trade, ...]
    before: AccountState
    after: AccountState
    notional: float
    cost: float
    penalty_due: float
    penalty_paid: float
    bad_debt: float
    q_after: np.ndarray
    c_after: np.ndarray

    @property
    def flows(self) -> dict[str, float]:
        """Signed USD traded per underlying over all trades (sales < 0)."""
        out: dict[str, float] = {}
        for t in self.trades:
            for u, v in t.flows.items():
                out[u] = out.get(u, 0.0) + v
        return out

    def to_json(self) -> dict:
        """JSON-ready dict (an infinite ratio, MM = 0, becomes the string ``"inf"``)."""
        snap = lambda s: {k: (v if np.isfinite(v) else ("inf" if v > 0 else "-inf"))  # noqa: E731
                          for k, v in s.__dict__.items()}
        return {
            "account": self.account, "status": self.status, "reason": self.reason,
            "trades": [t.__dict__ for t in self.trades],
            "before": snap(self.before), "after": snap(self.after),
            "notional": self.notional, "cost": self.cost, "penalty_due": self.penalty_due,
            "penalty_paid": self.penalty_paid, "bad_debt": self.bad_debt,
        }


class LiquidationEngine:
    """Plans liquidations against one margin model (see the module docstring).

    model:           the float margin model: marks, exposures, collateral prices,
                     haircuts and ADVs come from it.
    requirement:     ``q, c -> MM``; defaults to the portfolio ES margin
                     (:class:`~calcm.risk.margin.PortfolioMargin`). Any convex
                     requirement (siloed, static) can be plugged in.
    collateral_adv:  USD ADV of collateral assets that are not underlyings of the model.
    """

    def __init__(self, model: MarginModel, params: LiquidationParams | None = None,
                 impact: ImpactModel | None = None, requirement: Requirement | None = None,
                 collateral_adv: dict[str, float] | None = None):
        self.model = model
        self.params = params or LiquidationParams()
        self.impact = impact or ImpactModel()
        if requirement is None:
            pm = PortfolioMargin(model)
            requirement = lambda q, c: pm.compute(q, c).mm  # noqa: E731
        self.requirement = requirement
        stable = [j for j, a in enumerate(model.collateral_assets) if a in STABLECOINS]
        if not stable:
            raise ValueError("the model has no stablecoin collateral asset to settle liquidations in")
        self.cash = stable[0]
        self._credit = model.collateral_price * (1.0 - model.haircut)
        # Collateral that can be sold: everything but stablecoins, with its ADV.
        u_index = {u: k for k, u in enumerate(model.underlyings)}
        extra = collateral_adv or {}
        self._sellable, self._cadv = [], np.zeros(len(model.collateral_assets))
        self._cweight = np.array([model.liquidity_weight[u_index[a]] if a in u_index
                                  else default_liquidity_weight(a) for a in model.collateral_assets])
        for j, a in enumerate(model.collateral_assets):
            if a in STABLECOINS:
                continue
            if a in u_index:
                self._cadv[j] = model.adv[u_index[a]]
            elif a in extra and extra[a] > 0:
                self._cadv[j] = extra[a]
            else:
                raise ValueError(f"collateral asset {a} has no ADV (not an underlying; pass collateral_adv)")
            self._sellable.append(j)

    # -- margins ------------------------------------------------------------------------
    def equity(self, q: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Equity after haircuts (A,) in USD."""
        return np.atleast_2d(c) @ self._credit + np.atleast_2d(q) @ self.model.mark

    def net_value(self, q: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Value without haircuts (A,) in USD."""
        return np.atleast_2d(c) @ self.model.collateral_price + np.atleast_2d(q) @ self.model.mark

    def deficit(self, q: np.ndarray, c: np.ndarray) -> np.ndarray:
        """``target_ratio * MM - E`` (A,); the account is restored iff this is <= 0."""
        q, c = np.atleast_2d(q), np.atleast_2d(c)
        return self.params.target_ratio * self.requirement(q, c) - self.equity(q, c)

    def state(self, q: np.ndarray, c: np.ndarray) -> AccountState:
        mm = float(self.requirement(np.atleast_2d(q), np.atleast_2d(c))[0])
        e = float(self.equity(q, c)[0])
        return AccountState(e, mm, e / mm if mm > 0 else float("inf"), float(self.net_value(q, c)[0]))

    # -- trades -------------------------------------------------------------------------
    def _trade(self, q: np.ndarray, c: np.ndarray, kind: str, idx: int, f: float,
               cost: float | None = None):
        """Apply closing fraction ``f`` of one holding; returns ``(q', c', Trade)``.

        ``cost`` overrides the trade's own execution cost (a full liquidation's netted share).
        """
        m = self.model
        q, c = q.copy(), c.copy()
        if kind == "position":
            dq = -f * q[idx]
            flows_u = dq * m.exposure[:, idx]                      # signed USD per underlying
            notional = float(np.abs(flows_u).sum())
            own = float(np.sum(self.impact.cost(flows_u, m.adv, m.liquidity_weight)))
            proceeds = -dq * m.mark[idx]
            q[idx] += dq
            flows = {u: float(v) for u, v in zip(m.underlyings, flows_u) if v != 0}
            asset, qty = m.instrument_ids[idx], dq
        else:
            dc = -f * c[idx]
            notional = float(-dc * m.collateral_price[idx])
            own = self.impact.cost(notional, self._cadv[idx], self._cweight[idx])
            proceeds = notional
            c[idx] += dc
            flows = {m.collateral_assets[idx]: -notional} if notional else {}
            asset, qty = m.collateral_assets[idx], dc
        cost = own if cost is None else cost
        penalty = self.params.penalty_rate * notional
        c[self.cash] += (proceeds - cost - penalty) / m.collateral_price[self.cash]
        return q, c, Trade(kind, asset, float(qty), float(f), notional, float(cost), penalty, flows)

    def execute(self, q, c, trades) -> tuple[np.ndarray, np.ndarray]:
        """Replay trades (by kind, asset and fraction) on ``q`` (n,), ``c`` (m,); returns the new pair.

        What a liquidator does with a plan; tests use it to check that a smaller
        last fraction would not restore the account.
        """
        q, c = np.asarray(q, float).copy(), np.asarray(c, float).copy()
        for t in trades:
            names = self.model.instrument_ids if t.kind == "position" else self.model.collateral_assets
            q, c, _ = self._trade(q, c, t.kind, names.index(t.asset), t.fraction)
        return q, c

    def _candidates(self, q: np.ndarray, c: np.ndarray) -> list[tuple[str, int]]:
        out = [("position", i) for i in range(len(q)) if q[i] != 0]
        return out + [("collateral", j) for j in self._sellable if c[j] > 0]

    def _bisect(self, q, c, kind, idx) -> float:
        """Smallest fraction restoring the account (``D(1) <= 0 < D(0)`` assumed)."""
        lo, hi = 0.0, 1.0
        while hi - lo > self.params.tolerance:
            mid = 0.5 * (lo + hi)
            q2, c2, _ = self._trade(q, c, kind, idx, mid)
            if self.deficit(q2, c2)[0] <= 0:
                hi = mid
            else:
                lo = mid
        return hi

    # -- plans --------------------------------------------------------------------------
    def plan(self, q, c, account: str = "") -> LiquidationPlan:
        """The liquidation plan of one account with positions ``q`` (n,) and collateral ``c`` (m,)."""
        q0, c0 = np.asarray(q, float).copy(), np.asarray(c, float).copy()
        before = self.state(q0, c0)
        if before.equity >= before.mm:
            return self._plan(account, HEALTHY, "not liquidatable: equity >= MM", (), before, q0, c0)
        if before.equity <= 0:
            return self.full(q0, c0, account, f"insolvent: equity {before.equity:,.2f} USD <= 0")
        q, c, trades = q0, c0, []
        d_now = float(self.deficit(q, c)[0])
        while True:
            cands = self._candidates(q, c)
            if not cands:
                break
            after = [self._trade(q, c, k, i, 1.0) for k, i in cands]
            d_after = self.deficit(np.array([a[0] for a in after]), np.array([a[1] for a in after]))
            gain = d_now - d_after
            cost = np.array([a[2].cost + a[2].penalty for a in after])
            ok = gain > 1e-12 * max(1.0, abs(d_now))
            if not ok.any():
                break
            score = np.where(ok, gain / np.maximum(cost, 1e-300), -np.inf)
            best = int(np.argmax(score))
            kind, idx = cands[best]
            if d_after[best] <= 0:
                f = self._bisect(q, c, kind, idx)
                q, c, t = self._trade(q, c, kind, idx, f)
                trades.append(t)
                return self._plan(account, PARTIAL,
                                  f"partial: {len(trades)} trade(s) restore equity >= "
                                  f"{self.params.target_ratio:g} x MM", tuple(trades), before, q, c)
            q, c, t = after[best]
            trades.append(t)
            d_now = float(d_after[best])
        return self.full(q0, c0, account,
                         f"cannot restore equity >= {self.params.target_ratio:g} x MM by partial "
                         f"liquidation (deficit {d_now:,.2f} USD left after every risk-reducing trade)")

    def full(self, q, c, account: str = "", reason: str = "full liquidation") -> LiquidationPlan:
        """Close every position and sell every non-cash collateral holding."""
        q0, c0 = np.asarray(q, float).copy(), np.asarray(c, float).copy()
        before = self.state(q0, c0)
        q, c, trades = q0, c0, []
        cands = self._candidates(q0, c0)
        for (kind, idx), cost in zip(cands, self._netted_costs(q0, cands)):
            q, c, t = self._trade(q, c, kind, idx, 1.0, cost)
            trades.append(t)
        return self._plan(account, FULL, reason, tuple(trades), before, q, c)

    def _netted_costs(self, q: np.ndarray, cands) -> list[float | None]:
        """Execution cost of each candidate when all positions close as one net trade per underlying.

        The net flow is ``-X_u``, so the position costs sum to the add-on
        ``sum_u w_u X_u^2 / ADV_u``; underlying ``u``'s cost goes to the position
        trades in proportion to ``|flow_u|``. Collateral sales: ``None`` (own cost).
        """
        m = self.model
        pos = [i for k, i in cands if k == "position"]
        flows = -q[pos][:, None] * m.exposure[:, pos].T                     # (P, U) signed USD
        total = self.impact.cost(flows.sum(axis=0), m.adv, m.liquidity_weight)
        gross = np.abs(flows).sum(axis=0)
        share = np.divide(np.abs(flows), gross, out=np.zeros_like(flows), where=gross > 0)
        it = iter((share @ np.atleast_1d(total)).tolist())
        return [next(it) if k == "position" else None for k, _ in cands]

    def _plan(self, account, status, reason, trades, before, q, c) -> LiquidationPlan:
        """Assemble a plan; a full liquidation pays its penalty only out of what is left."""
        notional = sum(t.notional for t in trades)
        cost = sum(t.cost for t in trades)
        due = sum(t.penalty for t in trades)
        paid, bad_debt = due, 0.0
        if status == FULL:
            cash_price = self.model.collateral_price[self.cash]
            nv_before_penalty = float(self.net_value(q, c)[0]) + due
            paid = min(due, max(nv_before_penalty, 0.0))
            c = c.copy()
            c[self.cash] += (due - paid) / cash_price      # refund what could not be paid
            bad_debt = max(0.0, -float(self.net_value(q, c)[0]))
        return LiquidationPlan(account, status, reason, tuple(trades), before, self.state(q, c),
                               notional, cost, due, paid, bad_debt, q, c)
