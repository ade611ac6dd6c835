"""Liquidation penalty split, insurance fund and the bad-debt waterfall.

Penalty: every liquidation trade pays ``penalty_rate * notional``
(:class:`~calcm.liquidation.engine.LiquidationParams`); a share goes to the
liquidator (the keeper that executed it, for its gas and inventory risk) and
the rest to the insurance fund.

Waterfall for an account's bad debt ``B`` (its negative net value after full
liquidation), in this order:

1. the account's own equity (already spent: ``B`` is what is left after it);
2. the insurance fund, down to zero;
3. auto-deleveraging of profitable opposite positions (:mod:`calcm.liquidation.adl`);
4. socialised loss: the remainder is charged to every account with positive
   equity in proportion to that equity (the very last step).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .adl import AdlFill, AdlResult


@dataclass(frozen=True)
class PenaltySplit:
    """liquidator_share: fraction of the penalty paid to the liquidator (default 0.5)."""

    liquidator_share: float = 0.5

    def __post_init__(self):
        if not (0 <= self.liquidator_share <= 1):
            raise ValueError(f"liquidator_share must be in [0, 1], got {self.liquidator_share}")

    def split(self, penalty: float) -> tuple[float, float]:
        """``(to the liquidator, to the insurance fund)``, summing to ``penalty``."""
        to_liquidator = penalty * self.liquidator_share
        return to_liquidator, penalty - to_liquidator


@dataclass(frozen=True)
class WaterfallResult:
    """How one bad debt was covered (USD); ``from_fund + from_adl + socialised == bad_debt``."""

    bad_debt: float
    from_fund: float
    from_adl: float
    socialised: float
    fund_after: float
    adl_fills: tuple[AdlFill, ...]


def cover_bad_debt(bad_debt: float, fund: float,
                   adl: Callable[[float], AdlResult] | None = None) -> WaterfallResult:
    """Run the waterfall for ``bad_debt`` with an insurance fund of ``fund`` (both USD >= 0).

    ``adl(shortfall)`` deleverages opposite positions for what the fund cannot
    cover; without it the rest is socialised directly.
    """
    if bad_debt < 0 or fund < 0:
        raise ValueError("bad debt and fund balance must be >= 0")
    from_fund = min(bad_debt, fund)
    rest = bad_debt - from_fund
    fills: tuple[AdlFill, ...] = ()
    from_adl = 0.0
    if rest > 0 and adl is not None:
        r = adl(rest)
        fills, from_adl = r.fills, min(r.covered, rest)
        rest -= from_adl
    return WaterfallResult(bad_debt, from_fund, from_adl, rest, fund - from_fund, fills)


def socialise(loss: float, equity: np.ndarray) -> np.ndarray:
    """Charge per account (A,) for a socialised ``loss``: pro rata to positive equity.

    Sums to ``loss`` when some account has positive equity; otherwise nobody can
    be charged and the charges are all zero (the loss stays with the venue).
    """
    w = np.maximum(np.asarray(equity, float), 0.0)
    total = w.sum()
    if loss <= 0 or total <= 0:
        return np.zeros_like(w)
    return loss * w / total
