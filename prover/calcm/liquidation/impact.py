"""Price impact of a liquidation sale: linear plus square root in size versus volume.

Selling (or buying) a USD notional ``x`` of an asset whose average daily volume
is ``ADV`` (USD) moves its price, as a fraction, by

    ``impact(x) = min(a * x / ADV + b * sqrt(x / ADV), max_impact)``

The square-root term is the empirical "square-root law" of meta-order impact
(Almgren et al. 2005, Toth et al. 2011: impact ~ sigma_daily * sqrt(Q / V), and
``b`` ~ a daily volatility of 3-8% for crypto majors); the linear term takes over
for sales that are a large fraction of a day's volume (order-book exhaustion).

Two uses, one formula:

- execution cost of one account's liquidation trade: ``cost(x) = x * impact(x)``
  (USD, paid by the liquidated account: it sells below, or buys above, the mark);
- price feedback of the day's aggregate liquidation flow in the cascade
  simulator: the price moves by ``permanent_share * impact(|net flow|)`` against
  the flow (sales push it down, buy-backs of shorts push it up).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImpactParams:
    """Impact coefficients (data, not code).

    a:                linear coefficient: selling one whole ADV moves the price ``a``
                      (default 0.10, i.e. 10%).
    b:                square-root coefficient: selling 1% of ADV moves the price
                      ``b * 0.1`` (default 0.05, i.e. 0.5%).
    permanent_share:  fraction of the impact that stays in the price after the sale
                      (default 0.5; the rest is temporary and only costs the seller).
    max_impact:       cap on the fractional move, so prices stay positive (default 0.5).
    """

    a: float = 0.10
    b: float = 0.05
    permanent_share: float = 0.5
    max_impact: float = 0.5

    def __post_init__(self):
        for name in ("a", "b"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"impact coefficient {name} must be finite and >= 0, got {v}")
        if not (0 <= self.permanent_share <= 1):
            raise ValueError(f"permanent_share must be in [0, 1], got {self.permanent_share}")
        if not (0 < self.max_impact < 1):
            raise ValueError(f"max_impact must be in (0, 1), got {self.max_impact}")


class ImpactModel:
    """Fractional impact, execution cost and permanent price move of a trade.

    Every method accepts scalars or numpy arrays (broadcast): ``notional`` is the
    absolute USD size traded (>= 0), ``adv`` the USD average daily volume (> 0).
    """

    def __init__(self, params: ImpactParams | None = None):
        self.params = params or ImpactParams()

    def impact(self, notional, adv):
        """Fractional price move of trading ``notional`` against ``adv`` (in [0, max_impact])."""
        p = self.params
        x = np.abs(np.asarray(notional, float)) / np.asarray(adv, float)
        out = np.minimum(p.a * x + p.b * np.sqrt(x), p.max_impact)
        return float(out) if out.ndim == 0 else out

    def cost(self, notional, adv):
        """Execution cost in USD of trading ``notional``: ``|notional| * impact``."""
        out = np.abs(np.asarray(notional, float)) * self.impact(notional, adv)
        return float(out) if np.ndim(out) == 0 else out

    def price_factor(self, signed_flow, adv):
        """Multiplicative price move caused by a net signed USD flow (sale < 0, purchase > 0).

        ``1 - permanent_share * impact`` for sales, ``1 + permanent_share * impact``
        for purchases; 1 when the flow is zero.
        """
        flow = np.asarray(signed_flow, float)
        out = 1.0 + np.sign(flow) * self.params.permanent_share * self.impact(flow, adv)
        return float(out) if out.ndim == 0 else out
