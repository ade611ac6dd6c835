"""Margin regimes compared by the cascade simulator: static, siloed and calcm.

A regime is a margin rule and a liquidation style, on the same model data:

- ``static``: MM = 10% of gross notional (``calcm.risk.baselines.static_margin``,
  IM = 110% of MM), full liquidation when equity < MM: the pre-portfolio-margin
  venue rule.
- ``siloed``: per-underlying ES summed, no cross-asset offsets
  (``calcm.risk.baselines.siloed_margin``), full liquidation.
- ``calcm``: portfolio ES with GARCH volatilities, stressed correlation and stress
  scenarios plus the liquidity add-on (``calcm.risk.margin.PortfolioMargin``),
  risk-based collateral haircuts (``calcm.risk.model.risk_based_haircuts``: each
  crypto collateral haircut floored at that asset's own ES over the MPOR), partial
  liquidation (:class:`~calcm.liquidation.engine.LiquidationEngine`).

All three read equity the same way (haircut collateral plus marks); they differ
in the requirement, in the haircuts and in how much they liquidate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..risk.baselines import siloed_margin, static_margin
from ..risk.margin import MarginModel, MarginResult, PortfolioMargin


@dataclass(frozen=True)
class Regime:
    """name: one of :data:`REGIMES`; partial: partial (True) or full (False) liquidation;
    risk_haircuts: collateral haircuts floored at the collateral's own ES (else the table's)."""

    name: str
    partial: bool
    risk_haircuts: bool = False

    def margin(self, model: MarginModel, unit_notional: np.ndarray, underlying_index: np.ndarray,
               q: np.ndarray, c: np.ndarray) -> MarginResult:
        """Margins of positions ``q`` (A, n) and collateral ``c`` (A, m) under this regime.

        unit_notional (n,): USD underlying notional per unit; underlying_index (n,).
        """
        if self.name == "calcm":
            return PortfolioMargin(model).compute(q, c)
        if self.name == "siloed":
            return siloed_margin(model, q, c, underlying_index)
        return static_margin(model, q, c, unit_notional)

    def requirement(self, model: MarginModel, unit_notional: np.ndarray, underlying_index: np.ndarray):
        """``q, c -> MM`` for the liquidation engine."""
        if self.name == "calcm":
            pm = PortfolioMargin(model)
            return lambda q, c: pm.compute(q, c).mm
        return lambda q, c: self.margin(model, unit_notional, underlying_index, q, c).mm


REGIMES: dict[str, Regime] = {"static": Regime("static", False), "siloed": Regime("siloed", False),
                              "calcm": Regime("calcm", True, risk_haircuts=True)}


def regime(name: str) -> Regime:
    try:
        return REGIMES[name]
    except KeyError:
        raise ValueError(f"unknown regime {name!r}; one of {sorted(REGIMES)}") from None
