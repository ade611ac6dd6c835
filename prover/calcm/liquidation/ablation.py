"""Ablation of margin model x liquidation policy on the crowd, per replayed episode.

For each episode: draw the crowd (:mod:`.crowd`) at the close before the window,
replay it (:func:`.crowd_replay.replay_crowd`) under every regime
``model/policy`` (:data:`~.regimes.MARGIN_MODELS` x :data:`~.regimes.POLICIES`), at

- **own settings**: each model as published; the static model at its calibrated
  flat rate per asset class (:func:`static_class_rates`), not 10% of everything;
- **matched mean requirement** (suffix ``@matched``): every other model's
  requirement scaled so that its total MM of the initial crowd equals calcm's on
  the same day (no model wins by simply holding more margin).

Reported per regime: bad debt, liquidated notional, liquidations, cascade rounds,
and the peak requirement swing of the fixed book (largest rise of its requirement
within 1 and 5 days). :func:`target_check` applies the issue's target: calcm/partial
has the least bad debt of every regime on every episode, ties at equal bad debt
broken on liquidated notional, then on the 5-day swing.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..errors import InputError
from ..market import MarketData
from ..risk.baselines import MAJORS, StaticParams
from ..risk.model import ModelParams
from .causal import CausalRiskModel
from .crowd import CrowdParams, crowd_cash, crowd_summary, draw_crowd
from .crowd_replay import CrowdSimParams, perp_shell, replay_crowd, usd_model
from .episodes import Episode, check_covered
from .episodes import episode as get_episode
from .regimes import MARGIN_MODELS, POLICIES, Regime, make_regime

#: The issue's ranking: bad debt first (to the cent), then liquidated notional, then 5-day swing.
RANK_KEYS = ("bad_debt", "notional", "swing_5d")


def static_class_rates(market: MarketData, asof, mpor_days: int = 2, level: float = 0.99,
                       min_days: int = 365) -> tuple[float, float]:
    """Through-the-cycle flat MM rates ``(majors, alts)`` for the static baseline.

    For every asset with at least ``min_days`` closes up to ``asof`` (all history from
    the first row: the longest lookback available, as a 10-year-floor APC would use):
    the ``level`` ES of its overlapping ``mpor_days`` simple returns, the worse of the
    long and the short side; the class rate is the mean over the class's assets
    (majors: BTC, ETH). No data after ``asof`` is read.
    """
    k_end = int(np.searchsorted(market.dates, np.datetime64(asof, "D"), side="right"))
    rates: dict[bool, list[float]] = {True: [], False: []}
    for j, a in enumerate(market.assets):
        px = market.closes[:k_end, j]
        px = px[np.isfinite(px)]
        if len(px) < min_days:
            continue
        r = px[mpor_days:] / px[:-mpor_days] - 1
        k = max(1, int(np.ceil((1 - level) * len(r))))
        srt = np.sort(r)
        rates[a in MAJORS].append(max(-srt[:k].mean(), srt[-k:].mean()))
    majors = float(np.mean(rates[True])) if rates[True] else 0.10
    alts = float(np.mean(rates[False])) if rates[False] else majors
    return majors, alts


def ablation_regimes(static: StaticParams, scales: dict[str, float] | None = None) -> list[Regime]:
    """Every model x policy at own settings, plus ``@matched`` variants for ``scales`` (model -> s)."""
    out = [make_regime(m, p, static=static if m == "static" else None) for m in MARGIN_MODELS for p in POLICIES]
    for m, s in (scales or {}).items():
        out += [make_regime(m, p, scale=s, static=static if m == "static" else None, suffix="@matched")
                for p in POLICIES]
    return out


def run_episode(market: MarketData, name: str | Episode, n_accounts: int = 10_000, seed: int = 0,
                days: int | None = None, crowd_params: CrowdParams | None = None,
                sim: CrowdSimParams | None = None, matched: bool = True,
                model_params: ModelParams | None = None, admissible: str = "own") -> dict:
    """Ablation of one episode (``name``: a bundled name or an :class:`.Episode`, e.g. a user
    window; ``days``: replay only the first ``days`` days of its window). The market must have a
    day before the window and one inside it (else :class:`~calcm.errors.InputError`); the
    window ends at the data's last day at the latest (the reported ``end``).

    ``admissible``: ``"own"`` (each regime's accounts post what that regime requires) or
    ``"all"`` (every account admissible under every regime, same cash); see :mod:`.crowd`.
    """
    from .backtest import eligible_assets

    t0 = time.perf_counter()
    ep = name if isinstance(name, Episode) else get_episode(name)
    check_covered(market, ep)
    start, end = np.datetime64(ep.start, "D"), min(np.datetime64(ep.end, "D"), market.dates[-1])
    k = int(np.searchsorted(market.dates, start, side="left"))
    asof = market.dates[k - 1]
    if days is not None:
        end = min(end, market.dates[min(k + days - 1, market.n_days - 1)])
    mp = model_params or ModelParams()
    assets = eligible_assets(market, asof, mp)
    if not assets:
        raise InputError(market.source, f"window {ep.name} ({ep.start}..{ep.end})", "date",
                         f"no asset has {mp.min_history + mp.ewma_init} returns up to {asof}")
    shell = perp_shell(tuple(assets))
    causal = CausalRiskModel(market, shell, mp)
    model0 = usd_model(causal, shell, asof)
    static = StaticParams(class_rates=static_class_rates(market, asof, mp.mpor_days))
    if admissible not in ("own", "all"):
        raise ValueError(f"admissible must be 'own' or 'all', got {admissible!r}")
    cp = replace(crowd_params or CrowdParams(), n_accounts=n_accounts)
    base = ablation_regimes(static)
    crowd = draw_crowd(model0, [], seed, cp)                    # positions and drawn equity only
    U = len(assets)
    c0 = np.zeros((n_accounts, 1))
    mm0 = {r.model: float(r.margin(model0, np.ones(U), np.arange(U), crowd.x, c0).mm.sum())
           for r in base if not r.partial}
    scales = {m: mm0["calcm"] / v for m, v in mm0.items() if m != "calcm" and v > 0} if matched else {}
    regimes = ablation_regimes(static, scales)
    if admissible == "own":
        cash = {r.name: crowd_cash(crowd, model0, [r]) for r in regimes}
    else:
        common = crowd_cash(crowd, model0, [r for r in regimes if not r.partial])
        cash = {r.name: common for r in regimes}
    t_draw = time.perf_counter() - t0
    results = replay_crowd(market, crowd, regimes, start, end, causal, shell, sim, cash)
    rows = [{"regime": r.name, "model": r.model, "policy": r.policy,
             "setting": "matched" if r.name.endswith("@matched") else "own", "scale": r.scale,
             **results[r.name]} for r in regimes]
    own = next(r for r in regimes if r.name == "calcm/partial")
    frozen = replay_crowd(market, crowd, [own], start, end, causal, shell, sim, {own.name: cash[own.name]},
                          frozen=True)[own.name]
    return {"episode": ep.name, "start": str(start), "end": str(end), "asof": str(asof), "assets": list(assets),
            "seed": seed, "static_class_rates": {"majors": static.class_rates[0], "alts": static.class_rates[1]},
            "initial_requirement": mm0, "matched_scales": scales, "admissible": admissible,
            "crowd": crowd_summary(crowd, {r.name: cash[r.name] for r in regimes if not r.partial}),
            "rows": rows, "target": target_check(rows), "attribution": attribution(rows, frozen),
            "frozen": {"calcm/partial": frozen},
            "seconds": {"draw": t_draw, "replay": time.perf_counter() - t0 - t_draw}}


def _key(row: dict) -> tuple:
    return (round(row["bad_debt"], 2), row["notional"], row["swing_5d"])


def target_check(rows: list[dict]) -> dict:
    """Does calcm/partial rank first (bad debt, then notional, then swing), at own and matched settings?"""
    out = {}
    calcm = next(r for r in rows if r["regime"] == "calcm/partial")
    for setting in ("own", "matched"):
        pool = [r for r in rows if r["setting"] == setting or r["regime"].startswith("calcm/")]
        if setting == "matched" and len(pool) == sum(r["regime"].startswith("calcm/") for r in rows):
            continue
        ranked = sorted(pool, key=_key)
        least_bad = min(r["bad_debt"] for r in pool)
        out[setting] = {"ranking": [r["regime"] for r in ranked],
                        "calcm_first": ranked[0]["regime"] == "calcm/partial",
                        "calcm_least_bad_debt": round(calcm["bad_debt"], 2) <= round(least_bad, 2),
                        "beats_calcm": [r["regime"] for r in ranked if _key(r) < _key(calcm)]}
    return out


def attribution(rows: list[dict], frozen: dict | None = None) -> dict:
    """calcm/partial against one-axis changes: the policy (calcm/full), each model under partial,
    and (``frozen``: its replay with the model held at the window's start, ``calcm/partial@frozen``)
    the rise of its own requirement during the window."""
    by = {r["regime"]: r for r in rows}
    if frozen is not None:
        by["calcm/partial@frozen"] = frozen
    base = by["calcm/partial"]
    out = {}
    for name in (["calcm/full", "calcm/partial@frozen"]
                 + [f"{m}/partial{s}" for m in MARGIN_MODELS if m != "calcm" for s in ("", "@matched")]):
        if name in by:
            out[name] = {k: by[name][k] - base[k] for k in ("bad_debt", "notional", "swing_5d")}
    return out


def run_ablation(market: MarketData, episodes, n_accounts: int = 10_000, seed: int = 0,
                 days: int | None = None, **kw) -> dict:
    """:func:`run_episode` on every episode; plus whether the target holds on all of them."""
    eps = [run_episode(market, e, n_accounts, seed, days, **kw) for e in episodes]
    holds = {s: all(e["target"].get(s, {}).get("calcm_first", False) for e in eps) for s in ("own", "matched")}
    return {"accounts": n_accounts, "seed": seed, "policies": list(POLICIES), "models": list(MARGIN_MODELS),
            "episodes": eps, "target_holds": holds}
