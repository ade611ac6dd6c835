"""Liquidation stage: partial liquidation, insurance fund, ADL, cascade simulator, backtests.

- :mod:`.impact`     price impact (the add-on's law, linear in size / ADV, plus feedback)
- :mod:`.engine`     partial liquidation plans (:class:`LiquidationPlan`)
- :mod:`.insurance`  penalty split, insurance-fund waterfall, socialised loss
- :mod:`.adl`        auto-deleveraging queue (profit ratio x effective leverage)
- :mod:`.simulate`   day-by-day cascade replay under a margin regime (model x policy)
- :mod:`.backtest`   VaR/ES backtests (Kupiec, Christoffersen, Acerbi-Szekely)
- :mod:`.plots`      matplotlib figures of simulations and backtests
"""
from .engine import LiquidationEngine, LiquidationParams, LiquidationPlan, Trade
from .impact import ImpactModel, ImpactParams

__all__ = ["ImpactModel", "ImpactParams", "LiquidationEngine", "LiquidationParams",
           "LiquidationPlan", "Trade"]
