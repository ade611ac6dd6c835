"""One margin run over a book: float margins, baselines, the published fixed-point margins and their bound.

This is what ``calcm margin`` and ``calcm demo`` print; later stages reuse it.
The fixed-point numbers are the published ones (:mod:`calcm.risk.published`):
exactly what ``calcm prove`` proves for every account.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fixedpoint import MONEY_SCALE
from ..market import MarketData
from .baselines import siloed_margin, static_margin
from .book import Book
from .fixed_margin import MarginModelFx, MarginResultFx, encode_book_accounts
from .fixed_margin_batch import margins_fx_batch
from .fx_bound import FxBounds, fx_error_bounds
from .margin import MarginResult, PortfolioMargin, Tier
from .model import ModelParams, RiskModel, build_risk_model
from .instruments import InstrumentTable
from .published import PublishedModel, published_model


@dataclass(frozen=True, eq=False)
class MarginReport:
    """Everything one margin run produces, accounts in book order."""

    book: Book
    risk: RiskModel
    result: MarginResult
    siloed: MarginResult
    static: MarginResult
    model_fx: MarginModelFx
    fixed: list[MarginResultFx]
    bounds: FxBounds
    published: PublishedModel


def margin_report(market: MarketData, book: Book, params: ModelParams | None = None,
                  asof=None) -> MarginReport:
    """Build the model and compute every account's margin (float, baselines, published fixed point).

    The fixed-point encoding runs first, so an account out of range fails before
    any output (``InputError`` naming the book, account and field).
    """
    accounts_fx = encode_book_accounts(book)
    risk = build_risk_model(market, book, params, asof)
    pub = published_model(market, book, params, asof, risk=risk)
    model_fx = pub.model
    q, c = book.quantities(), book.collateral_amounts()
    m = risk.margin_model
    owner = InstrumentTable.from_instruments(book.instruments, risk.underlyings).underlying_index
    return MarginReport(book, risk, PortfolioMargin(m).compute(q, c), siloed_margin(m, q, c, owner),
                        static_margin(m, q, c, risk.unit_notional), model_fx,
                        margins_fx_batch(model_fx, accounts_fx).results(), fx_error_bounds(m, q, c, model_fx), pub)


def tier_name(t: int) -> str:
    return Tier(int(t)).name.lower()


def json_ratio(x: float) -> float | str:
    """A margin ratio for JSON: a float, or "inf" when MM is 0 (JSON has no infinity)."""
    return float(x) if np.isfinite(x) else "inf"


def _summary(r: MarginResult, a: int) -> dict:
    return {"es": float(r.es[a]), "var": float(r.var[a]), "mm": float(r.mm[a]), "im": float(r.im[a]),
            "ratio": json_ratio(r.ratio[a]), "tier": tier_name(r.tier[a])}


def report_json(rep: MarginReport) -> dict:
    """The JSON document of ``calcm margin --json`` (USD floats; fixed-point as exact ints too)."""
    risk, r = rep.risk, rep.result
    published = {"lin_commitment": str(rep.published.lin_commitment),
                 "opt_commitment": str(rep.published.opt_commitment),
                 "param_hash": str(rep.published.param_hash)}
    accounts = []
    for a, acc in enumerate(rep.book.accounts):
        fx = rep.fixed[a]
        contrib = {iid: float(r.contributions[a, i]) for i, iid in enumerate(rep.book.instrument_ids)
                   if iid in acc.positions and acc.positions[iid] != 0}
        accounts.append({
            "id": acc.id, "var": float(r.var[a]), "es": float(r.es[a]), "addon": float(r.addon[a]),
            "mm": float(r.mm[a]), "im": float(r.im[a]), "collateral_value": float(r.collateral_value[a]),
            "equity": float(r.equity[a]), "ratio": json_ratio(r.ratio[a]), "tier": tier_name(r.tier[a]),
            "contributions": contrib,
            "siloed": _summary(rep.siloed, a), "static": _summary(rep.static, a),
            "fixed_point": {
                "es": fx.es / MONEY_SCALE, "addon": fx.addon / MONEY_SCALE, "mm": fx.mm / MONEY_SCALE,
                "im": fx.im / MONEY_SCALE, "collateral_value": fx.collateral_value / MONEY_SCALE,
                "equity": fx.equity / MONEY_SCALE, "tier": tier_name(fx.tier), "tier_code": fx.tier,
                "raw": {"es": str(fx.es), "addon": str(fx.addon), "mm": str(fx.mm), "im": str(fx.im),
                        "collateral_value": str(fx.collateral_value), "equity": str(fx.equity),
                        "money_scale": MONEY_SCALE},
                **published,
                "bound": {"es": float(rep.bounds.es[a]), "mm": float(rep.bounds.mm[a]),
                          "im": float(rep.bounds.im[a]), "equity": float(rep.bounds.equity[a])},
            },
        })
    return {
        "asof": str(risk.asof),
        "model": {
            "params_hash": risk.params.hash, "scenario_hash": risk.scenarios.hash,
            "n_scenarios": risk.scenarios.n_scenarios, "k_tail": risk.margin_model.k_tail,
            "es_level": risk.params.es_level, "mpor_days": risk.params.mpor_days,
            "published": rep.published.summary(),
            "underlyings": {u: {"price": float(risk.price[k]), "sigma_1d": float(risk.sigma[k]),
                                "mpor_vol": float(risk.mpor_vol[k]), "adv": float(risk.adv[k]),
                                "adv_source": risk.adv_source[k],
                                # the published perp basis + funding shock (calcm.risk.perp_shocks)
                                "perp_shock_bps": None if risk.perp_shock_bps is None
                                else int(risk.perp_shock_bps[k])}
                            for k, u in enumerate(risk.underlyings)},
            # The publication's haircut per collateral asset and its source (calcm.risk.haircuts).
            "collateral": risk.haircuts.to_json() if risk.haircuts is not None else {},
        },
        "accounts": accounts,
        "totals": {"mm": float(r.mm.sum()), "siloed_mm": float(rep.siloed.mm.sum()),
                   "static_mm": float(rep.static.mm.sum()),
                   "tiers": {tier_name(t): int((r.tier == t).sum()) for t in range(4)}},
    }


def fmt_ratio(x: float) -> str:
    return "inf" if not np.isfinite(x) or x > 1e6 else f"{x:.2f}"
