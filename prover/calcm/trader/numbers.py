"""One account's margin on the published model, fixed point (proven) and float side by side.

Public functions::

    margin_numbers(ctx: TraderContext, account: Account) -> MarginNumbers

``MarginNumbers.to_json()``: USD floats for ``es addon mm im collateral_value equity``,
``ratio`` (equity / MM, "inf" when MM = 0), ``tier`` (name) and ``tier_code`` (0 healthy,
1 warning, 2 no_new_risk, 3 liquidatable), ``raw`` (exact money ints as decimal strings,
scale ``MONEY_SCALE``) and ``float`` (the float model's numbers, or null without one).
The fixed-point numbers are :func:`calcm.risk.fixed_margin.margin_fx`, bit for bit what
``calcm margin`` prints as "proven" and the margin circuit proves.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fixedpoint import MONEY_SCALE
from ..risk.book import Account
from ..risk.fixed_margin import MarginResultFx, margin_fx
from ..risk.margin import PortfolioMargin, Tier

FIELDS = ("es", "addon", "mm", "im", "collateral_value", "equity")


def tier_name(t: int) -> str:
    return Tier(int(t)).name.lower()


def ratio(equity: float, mm: float) -> float:
    """Margin ratio ``equity / MM`` (inf when MM <= 0)."""
    return float(equity) / float(mm) if mm > 0 else float("inf")


def json_float(x: float) -> float | str:
    return float(x) if np.isfinite(x) else ("inf" if x > 0 else "-inf")


@dataclass(frozen=True)
class MarginNumbers:
    """Published (fixed-point) margin of one account, and the float model's beside it."""

    fx: MarginResultFx
    float_values: dict | None = None     # es, addon, mm, im, collateral_value, equity, ratio, tier (float model)

    def usd(self, name: str) -> float:
        return getattr(self.fx, name) / MONEY_SCALE

    @property
    def tier(self) -> int:
        return self.fx.tier

    @property
    def ratio(self) -> float:
        return ratio(self.fx.equity, self.fx.mm)

    def to_json(self) -> dict:
        d = {k: self.usd(k) for k in FIELDS}
        d.update(ratio=json_float(self.ratio), tier=tier_name(self.fx.tier), tier_code=self.fx.tier,
                 raw={k: str(getattr(self.fx, k)) for k in FIELDS} | {"money_scale": MONEY_SCALE},
                 float=self.float_values)
        return d


def float_numbers(ctx, account: Account) -> dict | None:
    """The float model's margin of ``account`` (None when the context has no float model)."""
    fm = ctx.float_model
    if fm is None:
        return None
    book = ctx.with_accounts([account])
    r = PortfolioMargin(fm).compute(book.quantities(), book.collateral_amounts())
    out = {k: float(getattr(r, k)[0]) for k in FIELDS}
    out.update(ratio=json_float(r.ratio[0]), tier=tier_name(r.tier[0]))
    return out


def margin_numbers(ctx, account: Account, with_float: bool = True) -> MarginNumbers:
    """The published margin of ``account`` (any positions; encoded as ``calcm margin`` does)."""
    fx = margin_fx(ctx.model, ctx.encode(account))
    return MarginNumbers(fx, float_numbers(ctx, account) if with_float else None)
