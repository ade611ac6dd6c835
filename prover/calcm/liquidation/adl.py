"""Auto-deleveraging (ADL): who absorbs bad debt the insurance fund cannot cover.

When a bankrupt account's residual loss ``R`` (after its own equity and the
insurance fund) remains, the venue closes *profitable opposite positions* in the
same instrument at the bankrupt account's bankruptcy price instead of the mark.

Ranking (public, reproducible by any user from their own position and the mark)
-----------------------------------------------------------------------------
For an open position with signed quantity ``q``, average entry price ``P_e``,
mark price ``P`` and account equity ``E > 0``:

- unrealised profit    ``pi = q * (P - P_e)``                       (USD)
- profit ratio         ``pi / (|q| * P_e)``                         (return on entry notional)
- effective leverage   ``|q| * P / E``
- **ADL score**        ``profit ratio * effective leverage``

Only positions with ``pi > 0`` and ``E > 0`` whose sign is opposite to the
bankrupt position are eligible. Positions are deleveraged in decreasing score
(ties: account id, then instrument id, ascending), so the most profitable and
most leveraged go first: they gained most from the move that bankrupted the
counterparty and their own risk drops most.

Fill rule
---------
The bankrupt position had ``|Q|`` units. The residual loss in this instrument is
spread evenly over those units: each deleveraged unit is closed ``delta = R / |Q|``
worse than the mark (the bankruptcy price), capped at the unit's own profit
``pi / |q|`` so that no one is pushed below break-even. At most ``|Q|`` units are
closed in total. What the capped fills cannot cover goes on to socialised loss.
Deleveraged units never reach the market: they are matched against the
liquidated position (no price impact).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AdlPosition:
    """An open position that may be auto-deleveraged (prices USD per unit)."""

    account: str
    instrument: str
    quantity: float
    entry_price: float
    mark_price: float
    equity: float

    @property
    def profit(self) -> float:
        """Unrealised profit ``q * (P - P_e)`` in USD."""
        return self.quantity * (self.mark_price - self.entry_price)

    @property
    def profit_ratio(self) -> float:
        return self.profit / (abs(self.quantity) * self.entry_price)

    @property
    def leverage(self) -> float:
        return abs(self.quantity) * self.mark_price / self.equity

    @property
    def eligible(self) -> bool:
        return self.quantity != 0 and self.profit > 0 and self.equity > 0 and self.entry_price > 0

    @property
    def score(self) -> float:
        """``profit ratio * effective leverage`` (``-inf`` when not eligible)."""
        return self.profit_ratio * self.leverage if self.eligible else -math.inf


@dataclass(frozen=True)
class AdlFill:
    """One deleveraged position: ``quantity`` is the signed change (closes toward 0)."""

    rank: int
    account: str
    instrument: str
    score: float
    quantity: float
    loss: float


@dataclass(frozen=True)
class AdlResult:
    fills: tuple[AdlFill, ...]
    covered: float
    remaining: float


def adl_queue(positions: list[AdlPosition], instrument: str, bankrupt_sign: float) -> list[AdlPosition]:
    """Eligible opposite positions in ``instrument``, highest score first (see module docstring)."""
    side = [p for p in positions if p.instrument == instrument and p.eligible
            and p.quantity * bankrupt_sign < 0]
    return sorted(side, key=lambda p: (-p.score, p.account, p.instrument))


def deleverage(shortfall: float, instrument: str, bankrupt_quantity: float,
               positions: list[AdlPosition]) -> AdlResult:
    """Absorb ``shortfall`` (USD >= 0) of one bankrupt position of ``bankrupt_quantity`` units."""
    if shortfall <= 0 or bankrupt_quantity == 0:
        return AdlResult((), 0.0, max(shortfall, 0.0))
    units_left = abs(bankrupt_quantity)
    delta = shortfall / units_left
    fills, covered = [], 0.0
    for rank, p in enumerate(adl_queue(positions, instrument, math.copysign(1, bankrupt_quantity))):
        if units_left <= 0:
            break
        units = min(abs(p.quantity), units_left)
        per_unit = min(delta, p.profit / abs(p.quantity))
        loss = units * per_unit
        fills.append(AdlFill(rank, p.account, instrument, p.score,
                             -math.copysign(units, p.quantity), loss))
        covered += loss
        units_left -= units
    covered = min(covered, shortfall)
    return AdlResult(tuple(fills), covered, shortfall - covered)


def deleverage_account(shortfall: float, closed: dict[str, float], notional: dict[str, float],
                       positions: list[AdlPosition]) -> AdlResult:
    """Spread one account's residual loss over the instruments it was closed in.

    ``closed[i]`` is the bankrupt account's signed quantity closed in instrument
    ``i`` and ``notional[i]`` its USD notional; the shortfall is allocated to
    instruments in proportion to notional (ADL-able instruments only: those in
    ``closed`` that have eligible counterparties get a share; the rest is left).
    """
    live = {i: abs(notional.get(i, 0.0)) for i, q in closed.items()
            if q != 0 and adl_queue(positions, i, math.copysign(1, q))}
    total = sum(live.values())
    if shortfall <= 0 or total <= 0:
        return AdlResult((), 0.0, max(shortfall, 0.0))
    fills, covered = [], 0.0
    for i in sorted(live):
        r = deleverage(shortfall * live[i] / total, i, closed[i], positions)
        fills += r.fills
        covered += r.covered
    covered = min(covered, shortfall)
    return AdlResult(tuple(fills), covered, shortfall - covered)
