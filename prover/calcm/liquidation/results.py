"""What a cascade replay takes and gives: its settings, liquidation events, daily
statistics and the per-regime result (:func:`calcm.liquidation.simulate.simulate`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import LiquidationParams
from .impact import ImpactParams
from .insurance import PenaltySplit


@dataclass(frozen=True)
class SimParams:
    """Simulator settings (data, not code).

    steps_per_leg:   checkpoints per intraday leg (open->extreme, extreme->extreme, ->close).
    max_rounds:      cascade rounds per checkpoint.
    impact_decay:    share of the impact factor's deviation from 1 kept overnight.
    fund_share:      initial insurance fund as a share of the book's initial net value.
    wick_cap:        intraday extremes beyond this fraction of the day's body are bad prints
                     (see :func:`intraday_path`).
    """

    steps_per_leg: int = 4
    max_rounds: int = 20
    impact_decay: float = 0.5
    fund_share: float = 0.005
    wick_cap: float = 0.5
    liquidation: LiquidationParams = field(default_factory=LiquidationParams)
    impact: ImpactParams = field(default_factory=ImpactParams)
    penalty: PenaltySplit = field(default_factory=PenaltySplit)

    def __post_init__(self):
        if self.steps_per_leg < 1 or self.max_rounds < 1:
            raise ValueError("steps_per_leg and max_rounds must be >= 1")
        if not (0 <= self.impact_decay <= 1) or not (0 <= self.fund_share < 1):
            raise ValueError("impact_decay must be in [0, 1] and fund_share in [0, 1)")
        if not (0 < self.wick_cap < 1):
            raise ValueError("wick_cap must be in (0, 1)")


@dataclass(frozen=True)
class LiquidationEvent:
    date: str
    checkpoint: int
    round: int
    account: str
    status: str
    notional: float
    cost: float
    penalty: float
    bad_debt: float
    equity_before: float
    mm_before: float


@dataclass(frozen=True)
class DayStats:
    """One day's figures (USD unless stated)."""

    date: str
    liquidations: int
    full_liquidations: int
    liquidated_notional: float
    bad_debt: float
    from_fund: float
    from_adl: float
    socialised: float
    adl_events: int
    fund: float
    fund_low: float
    margin_held: float
    equity: float
    gross_notional: float
    rounds: int
    prices: dict[str, float]
    impact_factor: dict[str, float]


@dataclass(frozen=True)
class SimulationResult:
    regime: str
    start: str
    end: str
    book: str
    accounts: tuple[str, ...]
    days: tuple[DayStats, ...]
    events: tuple[LiquidationEvent, ...]
    margin_by_group: dict[str, dict[str, float]]
    initial_net_value: float
    final_net_value: float
    fund_initial: float
    fund_final: float
    liquidator_income: float
    impact_costs: float
    unrecovered: float
    mtm_pnl: float
    q_initial: np.ndarray = field(repr=False)
    q_final: np.ndarray = field(repr=False)
    c_final: np.ndarray = field(repr=False)
    position_changes: np.ndarray = field(repr=False)

    @property
    def summary(self) -> dict:
        d = self.days
        return {
            "liquidated_notional": sum(x.liquidated_notional for x in d),
            "liquidations": sum(x.liquidations for x in d),
            "accounts_liquidated": len({e.account for e in self.events}),
            "full_liquidations": sum(x.full_liquidations for x in d),
            "bad_debt": sum(x.bad_debt for x in d),
            "bad_debt_from_fund": sum(x.from_fund for x in d),
            "bad_debt_from_adl": sum(x.from_adl for x in d),
            "socialised_loss": sum(x.socialised for x in d),
            "unrecovered": self.unrecovered,
            "adl_events": sum(x.adl_events for x in d),
            "insurance_fund_initial": self.fund_initial,
            "insurance_fund_low": min((x.fund_low for x in d), default=self.fund_initial),
            "insurance_fund_final": self.fund_final,
            "avg_margin_held": float(np.mean([x.margin_held for x in d])) if d else 0.0,
            "avg_margin_to_notional": float(np.mean([x.margin_held / x.gross_notional
                                                     for x in d if x.gross_notional > 0]))
            if d else 0.0,
            "margin_by_group": self.margin_by_group,
            "liquidator_income": self.liquidator_income,
            "impact_costs": self.impact_costs,
        }

    def to_json(self) -> dict:
        return {"regime": self.regime, "start": self.start, "end": self.end, "book": self.book,
                "accounts": len(self.accounts), "summary": self.summary,
                "days": [x.__dict__ for x in self.days], "events": [e.__dict__ for e in self.events]}
