"""Cascade simulator: replay a real price path day by day under one margin regime.

Each simulated day ``d`` (see docs/LIQUIDATION.md for the full description):

1. **Model** (causal): the regime's margin model is the risk model built at the
   close of ``d - 1`` (:class:`~calcm.liquidation.causal.CausalRiskModel`: GARCH
   refit monthly, variance recursion daily, EWMA correlation, scenarios).
2. **Intraday path**: every asset goes from the previous close to its high and
   low and then to its close, high first on a down day (close < previous close)
   and low first otherwise (the usual OHLC path convention); each leg is cut into
   ``steps_per_leg`` checkpoints, log-linearly. Without high/low data the path is
   previous close -> close. The simulated price is the historical price times an
   *impact factor* per asset (1 at the start).
3. At each checkpoint: perps settle their P&L into cash; the P&L matrix, marks and
   exposures are revalued at the checkpoint prices (full revaluation, same
   scenarios); every account with equity < MM under the regime is liquidated
   (the regime's policy: partial plan or full; :mod:`.regimes`), in account order.
   Penalties are split between the liquidator and the insurance fund; bad debt
   runs the waterfall (fund, ADL, socialised loss).
4. **Feedback**: the round's net liquidation flow per asset moves its impact factor
   by ``price_factor`` (:class:`~calcm.liquidation.impact.ImpactModel`) and the
   checkpoint is re-run at the new prices (a cascade round) until no account is
   liquidatable or ``max_rounds`` is reached. Units closed by ADL are matched
   against the bankrupt position and are netted out of the market flow.
5. Overnight the impact factor decays toward 1 by ``impact_decay``.

Conservation (checked by the tests): at every point
``sum(net value) + fund + liquidator income + impact costs + unrecovered
= initial net value + initial fund + cumulative mark-to-market P&L``, and each
account's positions change only by its recorded trades and ADL fills.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import InputError
from ..market import MarketData
from ..risk.book import STABLECOINS, Book
from ..risk.instruments import InstrumentTable, value_instruments
from ..risk.margin import MarginModel
from ..risk.haircuts import haircuts_for
from ..risk.model import ModelParams, RiskModel
from ..risk.perp_shocks import perp_charge_matrix
from .adl import AdlPosition, deleverage_account
from .causal import CausalRiskModel
from .engine import FULL, LiquidationEngine
from .impact import ImpactModel
from .insurance import cover_bad_debt, socialise
from .regimes import Regime, regime as get_regime
from .results import DayStats, LiquidationEvent, SimParams, SimulationResult

__all__ = ["DayStats", "LiquidationEvent", "SimParams", "SimulationResult", "intraday_path", "simulate"]


def intraday_path(prev: np.ndarray, close: np.ndarray, high: np.ndarray | None,
                  low: np.ndarray | None, steps: int, wick_cap: float = 0.5) -> np.ndarray:
    """(K, U) checkpoint prices from the previous close to the close (see the module docstring).

    Missing or inconsistent high/low (NaN, or not bracketing the closes) fall back to
    the closes themselves for that asset. Venues mark positions to an index price
    (a median over exchanges), not to one exchange's bad print, so a wick more than
    ``wick_cap`` beyond the day's body is clipped: ``low >= (1 - wick_cap) * min(prev, close)``
    and ``high <= max(prev, close) / (1 - wick_cap)``. (Binance LINK/USDT printed a
    low of 0.0001 on 2020-03-12 against a close of 1.99; the largest genuine wick of
    the 2020-2022 episodes is about 36% below the body.)
    """
    prev, close = np.asarray(prev, float), np.asarray(close, float)
    top, bottom = np.maximum(prev, close), np.minimum(prev, close)
    if high is None or low is None:
        hi, lo = top, bottom
    else:
        hi = np.where(np.isfinite(high), np.clip(high, top, top / (1 - wick_cap)), top)
        lo = np.where(np.isfinite(low), np.clip(low, bottom * (1 - wick_cap), bottom), bottom)
    down = close < prev
    first, second = np.where(down, hi, lo), np.where(down, lo, hi)
    legs = [(prev, first), (first, second), (second, close)]
    out = []
    frac = np.arange(1, steps + 1) / steps
    for a, b in legs:
        la, lb = np.log(a), np.log(b)
        out.extend(np.exp(la + f * (lb - la)) for f in frac)
    return np.array(out)


class _Venue:
    """Mutable state of one simulation: positions, collateral, fund, ledgers."""

    def __init__(self, book: Book, table: InstrumentTable):
        self.book, self.table = book, table
        self.ids = tuple(a.id for a in book.accounts)
        self.q = book.quantities()
        self.c = book.collateral_amounts()
        self.q0 = self.q.copy()
        self.dq = np.zeros_like(self.q)           # recorded trade and ADL changes
        stable = [j for j, c in enumerate(book.collateral) if c.asset in STABLECOINS]
        if not stable:
            raise InputError(book.source, "-", "collateral", "the simulator needs a stablecoin collateral asset")
        self.cash = stable[0]
        self.is_perp = table.kind == 1
        self.entry = None                         # (A, n) entry price of the underlying per unit
        self.closed = np.zeros(len(self.ids), bool)
        self.fund = 0.0
        self.liquidator = 0.0
        self.costs = 0.0
        self.unrecovered = 0.0
        self.mtm = 0.0

    def net_value(self, model: MarginModel) -> np.ndarray:
        return self.c @ model.collateral_price + self.q @ model.mark


def _checkpoint_model(rm: RiskModel, table: InstrumentTable, book: Book, price: np.ndarray,
                      haircut: np.ndarray | None = None) -> MarginModel:
    """The day's margin model revalued at checkpoint prices (U,) (same scenarios).

    ``haircut`` (m,) replaces the model's haircuts (the regime's choice) when given.
    """
    val = value_instruments(table, price, rm.returns, rm.vol_shock, rm.skew_shock, rm.params.mpor_days)
    px = dict(zip(rm.underlyings, price))
    cprice = np.array([1.0 if c.is_stable else px.get(c.asset, np.nan) for c in book.collateral])
    if np.any(~np.isfinite(cprice)):
        # A collateral asset that is not an underlying keeps the model's price.
        cprice = np.where(np.isfinite(cprice), cprice, rm.margin_model.collateral_price)
    # The perp basis + funding charge is a fraction of the index price: revalue it too.
    perp = perp_charge_matrix(table.kind, table.underlying_index, price, rm.perp_shock_bps)
    return replace(rm.margin_model, pnl=val.pnl, mark=val.mark, exposure=val.exposure,
                   collateral_price=cprice, perp_charge=perp,
                   haircut=rm.margin_model.haircut if haircut is None else haircut)


def _haircuts(reg: Regime, rm: RiskModel, book: Book) -> np.ndarray:
    """The regime's haircuts for the day: the publication rule on the day's model
    (:mod:`calcm.risk.haircuts`, the table as the floor) for a regime with risk haircuts,
    else the book's table (whatever the day's model publishes)."""
    return haircuts_for(rm, book, reg.risk_haircuts)


def _group(aid: str) -> str:
    return aid.split("-", 1)[0] if "-" in aid else "other"


def simulate(market: MarketData, book: Book, regime_name: str, start, end,
             params: SimParams | None = None, model_params: ModelParams | None = None,
             causal: CausalRiskModel | None = None) -> SimulationResult:
    """Replay ``market`` from ``start`` to ``end`` (inclusive) for ``book`` under a regime.

    The book's positions are held from the close of the day before ``start``.
    ``causal`` may be shared between regimes (same model, built once per day).
    """
    p = params or SimParams()
    reg = get_regime(regime_name)
    d0, d1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    days = np.flatnonzero((market.dates >= d0) & (market.dates <= d1))
    if len(days) == 0 or days[0] == 0:
        raise InputError(market.source, f"{start}..{end}", "date",
                         "the replay window needs at least one day after the first row of the data")
    causal = causal or CausalRiskModel(market, book, model_params)
    und = book.underlyings
    table = InstrumentTable.from_instruments(book.instruments, und)
    cols = [market.index(u) for u in und]
    impact = ImpactModel(p.impact)
    v = _Venue(book, table)

    rm0 = causal.at(market.dates[days[0] - 1])
    price = rm0.price.copy()
    v.entry = np.tile(price[table.underlying_index], (len(v.ids), 1))
    model = _checkpoint_model(rm0, table, book, price, _haircuts(reg, rm0, book))
    nv0 = float(v.net_value(model).sum())
    v.fund = fund0 = p.fund_share * max(nv0, 0.0)
    factor = np.ones(len(und))
    stats, events = [], []
    margin_groups: dict[str, list[tuple[float, float]]] = {}
    res0 = reg.margin(model, _unit_notional(model, table), table.underlying_index, v.q, v.c)
    initial_groups: dict[str, float] = {}
    book_groups: dict[str, dict[str, float]] = {}
    for a, aid in enumerate(v.ids):
        initial_groups[_group(aid)] = initial_groups.get(_group(aid), 0.0) + float(res0.mm[a])

    for t in days:
        date = str(market.dates[t])
        rm = causal.at(market.dates[t - 1])
        haircut = _haircuts(reg, rm, book)
        factor = 1.0 + (factor - 1.0) * p.impact_decay
        hist = intraday_path(market.closes[t - 1, cols], market.closes[t, cols],
                             None if market.high is None else market.high[t, cols],
                             None if market.low is None else market.low[t, cols], p.steps_per_leg,
                             p.wick_cap)
        if np.any(~np.isfinite(hist)):
            raise InputError(market.source, date, ",".join(und), "missing close inside the replay window")
        day = {"liq": 0, "full": 0, "notional": 0.0, "bad": 0.0, "fund": 0.0, "adl": 0.0, "soc": 0.0,
               "adl_n": 0, "rounds": 0, "fund_low": v.fund}
        for k, hp in enumerate(hist):
            for rnd in range(p.max_rounds):
                new_price = hp * factor
                model = _mark_to_market(v, rm, table, book, price, new_price, haircut)
                price = new_price
                flows = _liquidate_round(v, model, reg, impact, p, date, k, rnd, day, events)
                day["fund_low"] = min(day["fund_low"], v.fund)
                if flows is None:
                    break
                day["rounds"] += 1
                adv, w = model.adv, model.liquidity_weight
                factor = factor * np.array([impact.price_factor(flows.get(u, 0.0), adv[i], w[i])
                                            for i, u in enumerate(und)])
        stats.append(_close_day(v, reg, model, date, day, price, factor, und, margin_groups, book_groups))
    nv1 = float(v.net_value(model).sum())
    by_group = {g: {"avg_margin_held": float(np.mean([m for m, _ in x])),
                    "avg_margin_to_notional": float(np.mean([m / n for m, n in x if n > 0] or [0.0])),
                    "initial_margin_held": initial_groups.get(g, 0.0),
                    "avg_book_margin": float(np.mean(list(book_groups.get(g, {0: 0.0}).values())))}
                for g, x in sorted(margin_groups.items())}
    for g in book_groups:
        by_group.setdefault(g, {"avg_margin_held": 0.0, "avg_margin_to_notional": 0.0,
                                "initial_margin_held": initial_groups.get(g, 0.0),
                                "avg_book_margin": float(np.mean(list(book_groups[g].values())))})
    return SimulationResult(reg.name, str(market.dates[days[0]]), str(market.dates[days[-1]]), book.source,
                            v.ids, tuple(stats), tuple(events), by_group, nv0, nv1, fund0, v.fund,
                            v.liquidator, v.costs, v.unrecovered, v.mtm, v.q0, v.q.copy(), v.c.copy(),
                            v.dq.copy())


def _close_day(v: _Venue, reg: Regime, model: MarginModel, date: str, day: dict, price, factor, und,
               margin_groups: dict, book_groups: dict) -> DayStats:
    """The day's figures at the close; appends the per-group margin samples."""
    table = v.table
    unit = _unit_notional(model, table)
    res = reg.margin(model, unit, table.underlying_index, v.q, v.c)
    live = ~v.closed & np.any(v.q != 0, axis=1)
    gross_acc = (np.abs(v.q) * unit).sum(axis=1)
    today: dict[str, list[float]] = {}
    for a in np.flatnonzero(live):
        g = today.setdefault(_group(v.ids[a]), [0.0, 0.0])
        g[0] += float(res.mm[a])
        g[1] += float(gross_acc[a])
    for g, (mm_g, gross_g) in today.items():
        margin_groups.setdefault(g, []).append((mm_g, gross_g))
    # Capital needed to carry the *initial* book today: the same positions under every
    # regime, so regimes compare without the survivorship of their own liquidations.
    book_mm = reg.margin(model, unit, table.underlying_index, v.q0, np.zeros_like(v.c)).mm
    for a, aid in enumerate(v.ids):
        grp = book_groups.setdefault(_group(aid), {})
        grp[date] = grp.get(date, 0.0) + float(book_mm[a])
    return DayStats(date, day["liq"], day["full"], day["notional"], day["bad"], day["fund"],
                    day["adl"], day["soc"], day["adl_n"], v.fund, day["fund_low"],
                    float(res.mm[live].sum()), float(res.equity[~v.closed].sum()),
                    float(gross_acc[~v.closed].sum()), day["rounds"],
                    dict(zip(und, map(float, price))), dict(zip(und, map(float, factor))))


def _mark_to_market(v: _Venue, rm: RiskModel, table: InstrumentTable, book: Book,
                    old: np.ndarray, new: np.ndarray, haircut: np.ndarray) -> MarginModel:
    """Move prices from ``old`` to ``new`` (U,): settle perps into cash, book the MTM P&L."""
    before = _checkpoint_model(rm, table, book, old, haircut)
    after = _checkpoint_model(rm, table, book, new, haircut)
    move = (new - old)[table.underlying_index]                      # (n,) per unit
    perp_pnl = (v.q[:, v.is_perp] * move[v.is_perp]).sum(axis=1)   # (A,)
    cash_px = after.collateral_price[v.cash]
    v.c[:, v.cash] += perp_pnl / cash_px
    # Mark-to-market P&L of everything held: perps (settled), spot/options and collateral (marks).
    v.mtm += float(perp_pnl.sum() + (v.q @ (after.mark - before.mark)).sum()
                   + (v.c @ (after.collateral_price - before.collateral_price)).sum())
    return after


def _liquidate_round(v: _Venue, model: MarginModel, reg: Regime, impact: ImpactModel, p: SimParams,
                     date: str, k: int, rnd: int, day: dict, events: list) -> dict | None:
    """Liquidate every liquidatable account once; returns the round's market flows or None."""
    table = v.table
    unit_notional = _unit_notional(model, table)
    res = reg.margin(model, unit_notional, table.underlying_index, v.q, v.c)
    liq = ~v.closed & (res.equity < res.mm)
    if not liq.any():
        return None
    engine = LiquidationEngine(model, p.liquidation, impact,
                               requirement=reg.requirement(model, unit_notional, table.underlying_index))
    flows: dict[str, float] = {}
    for a in np.flatnonzero(liq):
        aid = v.ids[a]
        if reg.partial:
            plan = engine.plan(v.q[a], v.c[a], aid)
        else:
            plan = engine.full(v.q[a], v.c[a], aid, f"{reg.name}: equity below MM, full liquidation")
        if not plan.trades and plan.bad_debt == 0:
            continue
        for tr in plan.trades:
            if tr.kind == "position":
                v.dq[a, model.instrument_ids.index(tr.asset)] += tr.quantity
        v.q[a], v.c[a] = plan.q_after, plan.c_after
        for u, x in plan.flows.items():
            flows[u] = flows.get(u, 0.0) + x
        to_liq, to_fund = p.penalty.split(plan.penalty_paid)
        v.liquidator += to_liq
        v.fund += to_fund
        v.costs += plan.cost
        day["liq"] += 1
        day["notional"] += plan.notional
        if plan.status == FULL:
            day["full"] += 1
            v.closed[a] = not np.any(v.q[a] != 0)
        if plan.bad_debt > 0:
            _cover(v, model, a, plan, day, flows)
        events.append(LiquidationEvent(date, k, rnd, aid, plan.status, plan.notional, plan.cost,
                                       plan.penalty_paid, plan.bad_debt, plan.before.equity,
                                       plan.before.mm))
    return flows


def _unit_notional(model: MarginModel, table: InstrumentTable) -> np.ndarray:
    """(n,) USD underlying price per unit of each instrument (options: full underlying notional).

    Read from the linear instruments' exposures (delta 1); an underlying with only
    options falls back to its option's delta-notional divided by the delta sign.
    """
    n = len(table.ids)
    px = np.full(len(model.underlyings), np.nan)
    for i in np.flatnonzero(table.kind != 2):
        px[table.underlying_index[i]] = model.exposure[table.underlying_index[i], i]
    out = px[table.underlying_index]
    own = np.abs(model.exposure[table.underlying_index, np.arange(n)])
    return np.where(np.isfinite(out), out, own)


def _cover(v: _Venue, model: MarginModel, a: int, plan, day: dict, flows: dict) -> None:
    """Run the bad-debt waterfall for account ``a`` after its full liquidation."""
    cash_px = model.collateral_price[v.cash]
    t = v.table
    mark_px = _unit_notional(model, t)                                     # underlying price per unit
    equity = v.c @ (model.collateral_price * (1 - model.haircut)) + v.q @ model.mark
    positions = [AdlPosition(v.ids[k], t.ids[i], float(v.q[k, i]), float(v.entry[k, i]),
                             float(mark_px[i]), float(equity[k]))
                 for k in range(len(v.ids)) if k != a and not v.closed[k]
                 for i in np.flatnonzero(v.is_perp & (v.q[k] != 0))]
    closed = {tr.asset: -tr.quantity for tr in plan.trades
              if tr.kind == "position" and v.is_perp[t.ids.index(tr.asset)]}
    notional = {tr.asset: tr.notional for tr in plan.trades if tr.asset in closed}
    w = cover_bad_debt(plan.bad_debt, v.fund,
                       lambda s: deleverage_account(s, closed, notional, positions))
    v.fund = w.fund_after
    v.c[a, v.cash] += (w.from_fund + w.from_adl) / cash_px
    index = {aid: k for k, aid in enumerate(v.ids)}
    for f in w.adl_fills:
        k, i = index[f.account], t.ids.index(f.instrument)
        v.q[k, i] += f.quantity
        v.dq[k, i] += f.quantity
        v.c[k, v.cash] -= f.loss / cash_px
        # Matched against the bankrupt position: these units never reach the market.
        u = model.underlyings[t.underlying_index[i]]
        flows[u] = flows.get(u, 0.0) + f.quantity * mark_px[i]
    rest = w.socialised
    if rest > 0:
        eq = np.where(v.closed, 0.0, equity)
        eq[a] = 0.0
        charge = socialise(rest, eq)
        v.c[:, v.cash] -= charge / cash_px
        v.c[a, v.cash] += charge.sum() / cash_px
        v.unrecovered += rest - charge.sum()
    day["bad"] += plan.bad_debt
    day["fund"] += w.from_fund
    day["adl"] += w.from_adl
    day["soc"] += w.socialised
    day["adl_n"] += len(w.adl_fills)
