"""Price impact of a liquidation trade: the risk stage's one law, plus price feedback.

The law is :mod:`calcm.risk.liquidity` (defined once, below this stage): trading
a USD notional ``x`` of an asset with daily volume ``ADV`` and published
liquidity weight ``w`` (the margin add-on's) moves its price by the fraction
``w |x| / ADV``. Two uses:

- execution cost of a liquidation trade: ``cost(x) = w x^2 / ADV`` (USD, paid by
  the liquidated account), never capped, so closing an account's net delta
  ``X_u`` costs exactly its margin add-on ``sum_u w_u X_u^2 / ADV_u``;
- price feedback of a cascade round's aggregate net flow: the price moves by
  ``permanent_share * min(w |flow| / ADV, max_impact)`` against the flow (sales
  push it down, buy-backs of shorts push it up). The cap keeps prices positive;
  it binds only for net flows above ``max_impact ADV / w`` (1.85 ADV at w = 0.27,
  1.25 ADV at w = 0.40).

The cost is kept uncapped on purpose: beyond ``|x| = ADV / w`` (2.5 ADV at w = 0.40)
it exceeds the notional, which a sale cannot really lose, but the add-on of such a
position is then larger than the position too, so the margin still covers it.

Calibration of ``w`` to the square-root law: :mod:`calcm.risk.liquidity`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..risk.liquidity import execution_cost, impact_fraction


@dataclass(frozen=True)
class ImpactParams:
    """Price-feedback parameters (data, not code); the law's weights are the model's.

    permanent_share:  fraction of the impact that stays in the price after the sale
                      (default 0.5; the rest is temporary and only costs the seller).
    max_impact:       cap on the permanent move's fraction, so prices stay positive (0.5).
    """

    permanent_share: float = 0.5
    max_impact: float = 0.5

    def __post_init__(self):
        if not (0 <= self.permanent_share <= 1):
            raise ValueError(f"permanent_share must be in [0, 1], got {self.permanent_share}")
        if not (0 < self.max_impact < 1):
            raise ValueError(f"max_impact must be in (0, 1), got {self.max_impact}")


class ImpactModel:
    """Fractional impact, execution cost and permanent price move of a trade.

    Every method accepts scalars or numpy arrays (broadcast): ``notional`` is the
    USD size traded (its sign is ignored except in ``price_factor``), ``adv`` the
    USD average daily volume (> 0), ``weight`` the published liquidity weight
    (the margin model's ``liquidity_weight``; >= 0).
    """

    def __init__(self, params: ImpactParams | None = None):
        self.params = params or ImpactParams()

    def impact(self, notional, adv, weight):
        """Fractional price move ``w |x| / ADV`` of trading ``notional`` (uncapped)."""
        return impact_fraction(notional, adv, weight)

    def cost(self, notional, adv, weight):
        """Execution cost in USD: ``w x^2 / ADV``, the add-on term of the same size, up to ``|x|``.

        The law's cost equals the add-on for ``|x| <= ADV / w`` (2.5 to 3.7 ADV at the
        published weights); beyond that a close-out cannot cost more than its notional
        (the price cannot fall below zero), so the cost is capped at ``|x|`` while the
        margin add-on keeps growing: the margin stays conservative for such positions.
        """
        x = np.abs(np.asarray(notional, float))
        out = np.minimum(execution_cost(x, adv, weight), x)
        return float(out) if np.ndim(out) == 0 else out

    def price_factor(self, signed_flow, adv, weight):
        """Multiplicative price move caused by a net signed USD flow (sale < 0, purchase > 0).

        ``1 - permanent_share * min(impact, max_impact)`` for sales, ``1 + ...``
        for purchases; 1 when the flow is zero.
        """
        flow = np.asarray(signed_flow, float)
        move = np.minimum(impact_fraction(flow, adv, weight), self.params.max_impact)
        out = 1.0 + np.sign(flow) * self.params.permanent_share * move
        return float(out) if np.ndim(out) == 0 else out
