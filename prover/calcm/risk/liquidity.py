"""The one price-impact law of calcm: impact linear in size over daily volume.

Trading a USD notional ``x`` of underlying ``u`` (average daily volume ``ADV_u``,
USD; published liquidity weight ``w_u``) moves its price, as a fraction, by

    ``impact_u(x) = w_u |x| / ADV_u``

and costs the trader ``x impact_u(x) = w_u x^2 / ADV_u`` USD. Used by

- the margin add-on (:mod:`.margin`, :mod:`.fixed_margin`, the margin circuit):
  ``A = sum_u w_u X_u^2 / ADV_u`` is the cost of closing the account's net delta
  ``X_u`` per underlying in one trade;
- the liquidation stage (:mod:`calcm.liquidation.impact`): the execution cost of
  every liquidation trade (capped at the trade's notional beyond ``|x| = ADV / w``), and the cascade's price feedback
  ``permanent_share * min(impact, max_impact)`` of a round's net flow.

Linear, not square root, because the add-on must stay a polynomial the margin
circuit proves (``w X^2 / ADV``, its shape frozen).

Calibration (the published weights, :data:`calcm.risk.book.DEFAULT_LIQUIDITY_WEIGHTS`).
The square-root law of meta-order impact (Almgren et al. 2005; Toth et al. 2011)
is ``I(q) = Y sigma_d sqrt(q)`` with ``q = x / ADV`` the participation and ``Y``
of order one (Almgren et al. fit a 0.6 power for the temporary part). The linear
law equals it at the reference participation ``q_ref``:

    ``w = Y sigma_d / sqrt(q_ref)``,   ``Y = 1``,   ``q_ref = 5%`` of ADV

(a large liquidation: in the crowd smoke replays a cascade round's net flow is
0.1-0.2% of ADV at the median, 1-3% at the 90th percentile, 7-23% at the 99th),
with ``sigma_d`` the class's stressed daily volatility, because liquidations
cluster in volatile days: the class mean of each asset's 90th-percentile 30-day
daily log-return volatility over 2017-2023 (``../shared/data/prices``), BTC/ETH
6.1%, the eight others 8.85%, so ``w = 0.27`` and ``0.40`` (2700 and 4000 bps,
exact in the fixed-point twin). The linear law is ``sqrt(q / q_ref)`` times the
square-root law: below it for smaller trades (0.45x at 1% of ADV), above it for
larger ones (1.41x at 10%, 2x at 20%): conservative exactly where a
concentrated position's close-out moves the market.
"""
from __future__ import annotations

import math

import numpy as np

#: Reference participation ``x / ADV`` at which the linear law equals the square-root law.
REFERENCE_PARTICIPATION = 0.05
#: The square-root law's prefactor ``Y`` (Toth et al. 2011: of order one).
SQRT_LAW_Y = 1.0


def impact_fraction(notional, adv, weight):
    """Fractional price move ``w |x| / ADV`` (uncapped) of trading USD ``notional``; broadcasts."""
    out = np.asarray(weight, float) * np.abs(np.asarray(notional, float)) / np.asarray(adv, float)
    return float(out) if out.ndim == 0 else out


def execution_cost(notional, adv, weight):
    """USD cost ``w x^2 / ADV`` of trading USD ``notional`` (= ``|x| impact_fraction``); broadcasts.

    Summed over underlyings at the account's net delta ``X`` it is the margin add-on.
    """
    x = np.asarray(notional, float)
    out = np.asarray(weight, float) * x * x / np.asarray(adv, float)
    return float(out) if out.ndim == 0 else out


def sqrt_law_weight(sigma_daily: float, participation: float = REFERENCE_PARTICIPATION,
                    y: float = SQRT_LAW_Y) -> float:
    """The weight ``w = y sigma_d / sqrt(q_ref)`` whose linear law meets ``y sigma_d sqrt(q)`` at ``q_ref``."""
    if not (sigma_daily > 0 and 0 < participation <= 1 and y > 0):
        raise ValueError("sigma_daily, participation in (0, 1] and y must be positive")
    return y * sigma_daily / math.sqrt(participation)
