"""Margin regimes: a margin model crossed with a liquidation policy.

A regime is ``model/policy`` (for example ``span/partial``), on the same risk-model
data:

margin models (:data:`MARGIN_MODELS`)
    - ``calcm``: portfolio ES with GARCH volatilities, stressed correlation and stress
      scenarios plus the liquidity add-on (``calcm.risk.margin.PortfolioMargin``), with
      the published collateral haircuts (``calcm.risk.haircuts``: the table floored by
      each asset's own ES, the same rule as ``calcm margin``).
    - ``siloed``: per-underlying ES summed, no cross-asset offsets
      (``calcm.risk.baselines.siloed_margin``).
    - ``static``: a flat rate of gross notional (``calcm.risk.baselines.static_margin``);
      10% by default, or a rate per asset class (:mod:`.calibration`).
    - ``span``: SPAN-style scanning range with inter-commodity credits
      (``calcm.risk.baselines.span_margin``).
    - ``deribit``: Deribit-style segregated portfolio margin, fixed price ranges
      (``calcm.risk.baselines.deribit_margin``).
liquidation policies (:data:`POLICIES`)
    - ``full``: close everything when equity < MM;
    - ``partial``: the least liquidation that restores ``E >= target * MM``
      (:class:`~calcm.liquidation.engine.LiquidationEngine`).

``scale`` multiplies a regime's requirement (MM, IM, ES, add-on): the ablation uses
it to compare regimes at *matched mean requirement*. The legacy names stay:
``static`` = ``static/full``, ``siloed`` = ``siloed/full``, ``calcm`` = ``calcm/partial``.
All regimes read equity the same way (haircut collateral plus marks); the baselines keep
the book's table haircuts (the venues they model publish static haircut tables).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..risk.baselines import (DeribitParams, SpanParams, StaticParams, deribit_margin, siloed_margin,
                              span_margin, static_margin)
from ..risk.margin import MarginModel, MarginResult, PortfolioMargin, tiers

MARGIN_MODELS = ("calcm", "siloed", "static", "span", "deribit")
POLICIES = ("full", "partial")
LEGACY = {"static": "static/full", "siloed": "siloed/full", "calcm": "calcm/partial"}


@dataclass(frozen=True)
class Regime:
    """name: display name; partial: partial (True) or full (False) liquidation;
    risk_haircuts: the publication's haircuts, table floored by the asset's ES (else the table);
    model: margin model (one of :data:`MARGIN_MODELS`; default ``name``);
    scale: requirement multiplier (> 0); static / span / deribit: baseline parameters."""

    name: str
    partial: bool
    risk_haircuts: bool = False
    model: str = ""
    scale: float = 1.0
    static: StaticParams | None = None
    span: SpanParams | None = None
    deribit: DeribitParams | None = None

    def __post_init__(self):
        if not self.model:
            object.__setattr__(self, "model", self.name.split("/")[0])
        if self.model not in MARGIN_MODELS:
            raise ValueError(f"unknown margin model {self.model!r}; one of {MARGIN_MODELS}")
        if not (self.scale > 0 and np.isfinite(self.scale)):
            raise ValueError(f"scale must be finite and > 0, got {self.scale}")

    @property
    def policy(self) -> str:
        return "partial" if self.partial else "full"

    def margin(self, model: MarginModel, unit_notional: np.ndarray, underlying_index: np.ndarray,
               q: np.ndarray, c: np.ndarray) -> MarginResult:
        """Margins of positions ``q`` (A, n) and collateral ``c`` (A, m) under this regime.

        unit_notional (n,): USD underlying notional per unit; underlying_index (n,).
        """
        if self.model == "calcm":
            res = PortfolioMargin(model).compute(q, c)
        elif self.model == "siloed":
            res = siloed_margin(model, q, c, underlying_index)
        elif self.model == "span":
            res = span_margin(model, q, c, underlying_index, self.span)
        elif self.model == "deribit":
            res = deribit_margin(model, q, c, underlying_index, self.deribit)
        else:
            res = static_margin(model, q, c, unit_notional, self.static)
        return res if self.scale == 1.0 else scaled(res, self.scale, model.params.warn_buffer)

    def requirement(self, model: MarginModel, unit_notional: np.ndarray, underlying_index: np.ndarray):
        """``q, c -> MM`` for the liquidation engine."""
        if self.model == "calcm" and self.scale == 1.0:
            pm = PortfolioMargin(model)
            return lambda q, c: pm.compute(q, c).mm
        return lambda q, c: self.margin(model, unit_notional, underlying_index, q, c).mm


def scaled(res: MarginResult, s: float, warn_buffer: float) -> MarginResult:
    """``res`` with its requirement (VaR, ES, add-on, MM, IM, contributions) times ``s``."""
    mm, im = res.mm * s, res.im * s
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(mm > 0, res.equity / np.where(mm > 0, mm, 1), np.inf)
    return replace(res, var=res.var * s, es=res.es * s, addon=res.addon * s, mm=mm, im=im, ratio=ratio,
                   tier=tiers(res.equity, mm, im, warn_buffer), contributions=res.contributions * s)


def make_regime(model: str, policy: str, scale: float = 1.0, static: StaticParams | None = None,
                suffix: str = "") -> Regime:
    """The regime ``model/policy`` (calcm keeps its risk-based haircuts under both policies)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown liquidation policy {policy!r}; one of {POLICIES}")
    return Regime(f"{model}/{policy}{suffix}", policy == "partial", risk_haircuts=model == "calcm",
                  model=model, scale=scale, static=static)


REGIMES: dict[str, Regime] = {
    **{f"{m}/{p}": make_regime(m, p) for m in MARGIN_MODELS for p in POLICIES},
    "static": Regime("static", False), "siloed": Regime("siloed", False),
    "calcm": Regime("calcm", True, risk_haircuts=True),
}

#: The regimes a synthetic book must be admissible under (one per margin model).
BOOK_REGIMES = ("calcm", "siloed", "static", "span/full", "deribit/full")


def regime(name: str | Regime) -> Regime:
    if isinstance(name, Regime):
        return name
    try:
        return REGIMES[name]
    except KeyError:
        raise ValueError(f"unknown regime {name!r}; one of {sorted(REGIMES)}") from None
