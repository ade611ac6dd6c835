"""Explain one account's published margin: tail scenarios, Euler contributions, add-ons, collateral, tier moves.

Public functions::

    explain(ctx: TraderContext, account_id: str, max_move: float = 0.5, moves: bool = True) -> Explanation

On the published fixed-point model (:func:`calcm.risk.fixed_margin.margin_fx`):

- ``tail``: the ``k`` scenarios that set the ES (published tie rule: loss descending, index
  ascending), each with its label: ``kind`` (fhs, worst, best, crash, rally, breakdown, vol),
  ``date`` for a historical one (fhs/worst/best), and for every scenario its ``shocks``: the
  simple return of each underlying (``lin[s][u] / price[u]``) and the implied-vol shock;
- ``contributions``: Euler ES contribution of each position,
  ``ES_i = -q_i * sum_{s in tail} pnl[s][i] / k + q_i * sign(pq_u) * perp_move[u]`` (USD; the
  second term for a perp on ``u`` only, ``pq_u`` the net perp quantity, so the perps' terms
  sum to the perp charge every scenario carries); they sum exactly to ``tail_sum / k``,
  and ``es = max(ceil(tail_sum / k), 0)`` (so to the ES within one money unit when the
  tail loses); ``raw`` numerators are exact money ints with ``sum(raw) == tail_sum``;
- ``addons``: per underlying, the net exposure ``X[u]`` and its add-on term;
- ``collateral``: per asset, amount, price, haircut and value after haircut
  (``c * price * (1 - h)``; the total is floored once, as the circuit does);
- ``moves``: per exposed underlying, the price move crossing each worse tier
  (:func:`calcm.trader.moves.tier_boundaries`), when the context can revalue.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..fixedpoint import BPS, MONEY_SCALE, PRICE_SCALE, QTY_SCALE
from ..risk.fixed_margin import PERP, net_perp, tail_selection
from .moves import BoundaryMove, exposed_underlyings, tier_boundaries
from .numbers import MarginNumbers, margin_numbers

HISTORICAL = ("fhs", "stress", "worst", "best")


@dataclass(frozen=True)
class TailScenario:
    index: int
    name: str
    kind: str
    date: str | None
    loss: float                      # USD
    shocks: dict                     # underlying -> simple return
    vol_shock: float | None

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Contribution:
    instrument: str
    quantity: float
    es: float                        # USD
    raw: int                         # money units * k (exact numerator)
    float_es: float | None

    def to_json(self) -> dict:
        return {**vars(self), "raw": str(self.raw)}


@dataclass(frozen=True)
class Explanation:
    account: str
    asof: str
    numbers: MarginNumbers
    k: int
    tail: tuple[TailScenario, ...]
    contributions: tuple[Contribution, ...]
    addons: tuple[dict, ...]
    collateral: tuple[dict, ...]
    moves: tuple[BoundaryMove, ...] | None
    moves_note: str | None = None

    def to_json(self) -> dict:
        return {"account": self.account, "asof": self.asof, "margin": self.numbers.to_json(), "k": self.k,
                "tail": [t.to_json() for t in self.tail],
                "contributions": [c.to_json() for c in self.contributions],
                "contributions_sum": sum(c.es for c in self.contributions),
                "addons": list(self.addons), "collateral": list(self.collateral),
                "moves": None if self.moves is None else [m.to_json() for m in self.moves],
                "moves_note": self.moves_note}


def _label(ctx, s: int) -> tuple[str, str, str | None]:
    name = ctx.scenario_names[s] if s < len(ctx.scenario_names) else f"scenario {s}"
    kind = ctx.scenario_kinds[s] if s < len(ctx.scenario_kinds) else "-"
    date = name.split(" ", 1)[1] if kind in HISTORICAL and " " in name else None
    return name, kind, date


def explain(ctx, account_id: str, max_move: float = 0.5, moves: bool = True) -> Explanation:
    """The explanation of ``account_id``'s published margin (see the module docstring)."""
    a, acc = ctx.account(account_id)
    fx_acc = ctx.encode(acc)
    nums = margin_numbers(ctx, acc)
    r, m = nums.fx, ctx.model
    bits, _, _ = tail_selection(r.losses, m.k_tail)
    tail_idx = sorted((s for s, b in enumerate(bits) if b), key=lambda s: (-r.losses[s], s))
    U = m.n_underlyings
    assets = (ctx.params.assets if ctx.params is not None else
              (tuple(ctx.risk.underlyings) if ctx.risk is not None else tuple(str(u) for u in range(U))))
    tail = []
    for s in tail_idx:
        name, kind, date = _label(ctx, s)
        shocks = {assets[u]: m.lin[s][u] / m.price[u] for u in range(U)}
        vs = ctx.scenario_vol_shocks[s] if s < len(ctx.scenario_vol_shocks) else None
        tail.append(TailScenario(s, name, kind, date, r.losses[s] / MONEY_SCALE, shocks, vs))
    float_c = None
    if ctx.float_model is not None:
        from ..risk.margin import PortfolioMargin
        one = ctx.with_accounts([acc])
        float_c = PortfolioMargin(ctx.float_model).compute(one.quantities(), one.collateral_amounts()).contributions[0]
    contributions = []
    pq = net_perp(m, fx_acc.qty)
    for i, iid in enumerate(ctx.book.instrument_ids):
        q = fx_acc.qty[i]
        if q == 0:
            continue
        u = m.under[i]
        perp = q * (pq[u] > 0) - q * (pq[u] < 0) if m.kinds[i] == PERP else 0   # q_i sign(pq_u)
        raw = -sum(q * m.pnl[s][i] for s in tail_idx) + m.k_tail * perp * m.perp_move[u]
        contributions.append(Contribution(iid, q / QTY_SCALE, raw / m.k_tail / MONEY_SCALE, raw,
                                          None if float_c is None else float(float_c[i])))
    addons = tuple({"underlying": assets[u], "exposure": r.exposure[u] / MONEY_SCALE,
                    "addon": r.addon_terms[u] / MONEY_SCALE, "adv": m.adv[u],
                    "liquidity_weight": m.liquidity_weight_bps[u] / BPS}
                   for u in range(U) if r.exposure[u] != 0 or r.addon_terms[u] != 0)
    collateral = tuple({"asset": asset, "amount": c / QTY_SCALE, "price": p / PRICE_SCALE,
                        "haircut": h / BPS, "value": c * p * (BPS - h) / BPS / MONEY_SCALE}
                       for asset, c, p, h in zip(ctx.book.collateral_assets, fx_acc.collateral,
                                                 m.collateral_price, m.haircut_bps) if c != 0)
    mv, note = None, None
    if moves and ctx.params is not None and ctx.state is not None:
        mv = tuple(b for u in exposed_underlyings(m, fx_acc) for b in tier_boundaries(ctx, fx_acc, u, max_move))
    elif moves:
        note = "this model has no parameters and state to revalue with"
    return Explanation(acc.id, ctx.asof, nums, m.k_tail, tuple(tail), tuple(contributions), addons, collateral,
                       mv, note)
