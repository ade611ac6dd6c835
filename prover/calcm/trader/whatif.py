"""What-if margin: an account's published margin before and after hypothetical trades and cash moves.

Public functions::

    check_request(trades, cash, search_factor) -> None       InputError naming the option
    whatif(ctx: TraderContext, account_id: str, trades: Sequence[Trade] = (),
           cash: Sequence[CashMove] = (), search_factor: float = 100.0) -> WhatIf
    max_size(ctx, account: Account, trade: Trade, tier_limit: int, factor=100.0) -> float | None

Definitions (docs/TRADER.md):

- ``before`` / ``after``: :class:`~calcm.trader.numbers.MarginNumbers` of the account as it is
  and with every trade and cash move applied. ``after`` is exactly what ``calcm margin``
  prints for a book holding the changed account (the published model does not depend
  on positions: it is fitted on the market and the book's instruments and collateral).
- per trade, ``marginal_im``: IM(account + this trade alone) - IM(account), USD;
- per trade, ``max_size``: the largest size in the trade's direction (units, >= 0, on the
  QTY grid) that, traded alone, keeps the tier no worse than ``before``'s; bisection on the
  exact model over ``(0, factor * |size|]``; ``None`` ("unbounded") when the whole range
  keeps the tier. Bisection assumes the tier is monotone in size along that ray (true for
  linear positions; an option's loss can turn, so the answer is one crossing point).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import InputError
from ..fixedpoint import MONEY_SCALE, QTY_SCALE, FixedPointRangeError
from ..risk.book import Account
from ..risk.fixed_margin import margin_fx
from .numbers import MarginNumbers, margin_numbers
from .trades import CashMove, Trade, apply, check_unique


@dataclass(frozen=True)
class TradeImpact:
    trade: Trade
    marginal_im: float            # USD
    max_size: float | None        # units in the trade's direction; None = unbounded within the factor
    search_factor: float

    def to_json(self) -> dict:
        return {**self.trade.to_json(), "marginal_im": self.marginal_im,
                "max_size": "unbounded" if self.max_size is None else self.max_size,
                "search_limit": self.search_factor * abs(self.trade.size)}


@dataclass(frozen=True)
class WhatIf:
    account: str
    asof: str
    trades: tuple[Trade, ...]
    cash: tuple[CashMove, ...]
    before: MarginNumbers
    after: MarginNumbers
    impacts: tuple[TradeImpact, ...]
    positions_after: dict
    collateral_after: dict

    def to_json(self) -> dict:
        b, a = self.before, self.after
        return {"account": self.account, "asof": self.asof,
                "trades": [t.to_json() for t in self.trades], "cash": [c.to_json() for c in self.cash],
                "before": b.to_json(), "after": a.to_json(),
                "delta": {"mm": a.usd("mm") - b.usd("mm"), "im": a.usd("im") - b.usd("im"),
                          "equity": a.usd("equity") - b.usd("equity"), "tier": a.tier - b.tier},
                "per_trade": [i.to_json() for i in self.impacts],
                "positions_after": self.positions_after, "collateral_after": self.collateral_after}


def _tier(ctx, account: Account) -> int | None:
    """Published tier of ``account``, or None when it leaves the fixed-point range."""
    try:
        return margin_fx(ctx.model, ctx.encode(account)).tier
    except (InputError, FixedPointRangeError):
        return None


def max_size(ctx, account: Account, trade: Trade, tier_limit: int, factor: float = 100.0) -> float | None:
    """Largest size along ``trade``'s direction keeping the tier <= ``tier_limit`` (see the module docstring)."""
    sign = 1.0 if trade.size > 0 else -1.0

    def ok(units: float) -> bool:
        t = _tier(ctx, apply(account, [Trade(trade.instrument, sign * units)]))
        return t is not None and t <= tier_limit

    hi = factor * abs(trade.size)
    if ok(hi):
        return None
    # Bisection on the QTY grid itself (sizes are encoded to it), so the answer is the largest
    # grid size that keeps the tier: ok(lo) (size 0 is the account as it is), not ok(hi).
    lo, hi = 0, round(hi * QTY_SCALE)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid / QTY_SCALE) else (lo, mid)
    return lo / QTY_SCALE


def check_request(trades, cash, search_factor: float) -> None:
    """At least one trade or cash move, no instrument or asset twice, a search factor in (1, 10**6]."""
    if not trades and not cash:
        raise InputError("--trade", "-", "-", "give at least one --trade, --deposit or --withdraw")
    if not (1 < search_factor <= 1e6):
        raise InputError("--search-factor", repr(search_factor), "-", "must be in (1, 1e6]")
    check_unique(trades, cash)


def whatif(ctx, account_id: str, trades: Sequence[Trade] = (), cash: Sequence[CashMove] = (),
           search_factor: float = 100.0) -> WhatIf:
    """Before/after margin, marginal IM and largest tier-keeping size per trade (module docstring)."""
    check_request(trades, cash, search_factor)
    _, acc = ctx.account(account_id)
    new = apply(acc, trades, cash)
    before = margin_numbers(ctx, acc)
    try:
        after = margin_numbers(ctx, new)
    except FixedPointRangeError as exc:
        raise InputError("--trade/--deposit", f"account '{acc.id}'", exc.what,
                         "the changed account leaves the published model's fixed-point range") from None
    impacts = []
    for t in trades:
        alone = margin_fx(ctx.model, ctx.encode(apply(acc, [t])))
        impacts.append(TradeImpact(t, (alone.im - before.fx.im) / MONEY_SCALE,
                                   max_size(ctx, acc, t, before.tier, search_factor), search_factor))
    return WhatIf(acc.id, ctx.asof, tuple(trades), tuple(cash), before, after, tuple(impacts),
                  dict(new.positions), dict(new.collateral))
