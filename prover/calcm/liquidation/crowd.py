"""A synthetic crowd of leveraged perp accounts, sized against market volume.

The crowd is a *venue's* worth of accounts (10,000 by default), drawn from
documented distributions (docs/LIQUIDATION.md, "Crowd"), deterministic in the seed.
Accounts hold USD-margined perps (one per underlying) and USDC collateral only, so
equity is the cash balance (perps settle their P&L into it) and every regime reads
it identically. Positions are kept as USD exposures ``X`` (A, U) at the draw date.

Kinds (the share of each is ``CrowdParams.shares``):

- ``directional``: one perp, long with probability ``long_bias``;
- ``pair``: long one perp, short another, equal USD notional;
- ``basket``: 3-5 perps, a long basket or (probability 0.4) market neutral.

The underlying of each leg is drawn with probability proportional to its average
daily volume (ADV): the crowd trades where the liquidity is. Gross leverage
(gross notional / equity) is lognormal per kind (median, log-sd), clipped to
``[1, max_leverage]``. Equity is lognormal (``equity_sigma``: a few whales), and the
whole crowd is then scaled so that its gross notional is ``oi_to_adv`` times the
total ADV of the traded underlyings: the crowd stands for the venue's leveraged open
interest, and its size against ADV is what lets liquidations move prices.

Collateral (:func:`crowd_cash`): an account posts its drawn equity, topped up to
``(1 + headroom)`` times its initial margin (headroom uniform in ``headroom``) under
the regime(s) it must be admissible under. The ablation's default (``admissible="own"``)
gives every regime the *same positions* and lets each account post what *that*
regime requires, as on a real venue (a lenient regime allows more leverage); with
``"all"`` every account is admissible under every regime at once (same cash too),
so the strictest regime sets everyone's collateral. The realised leverage
distribution is reported by :func:`crowd_summary`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..risk.margin import MarginModel
from .regimes import Regime

KINDS = ("directional", "pair", "basket")


@dataclass(frozen=True)
class CrowdParams:
    """How the crowd is drawn (data, not code; see the module docstring).

    lev_*: (median, log-sd) of each kind's lognormal gross leverage.
    """

    n_accounts: int = 10_000
    shares: tuple[float, float, float] = (0.6, 0.2, 0.2)
    long_bias: float = 0.7
    lev_directional: tuple[float, float] = (5.0, 0.7)
    lev_pair: tuple[float, float] = (6.0, 0.5)
    lev_basket: tuple[float, float] = (3.0, 0.5)
    max_leverage: float = 50.0
    equity_sigma: float = 1.5
    oi_to_adv: float = 0.5
    headroom: tuple[float, float] = (0.02, 0.5)

    def __post_init__(self):
        if self.n_accounts < 1:
            raise ValueError("n_accounts must be >= 1")
        if abs(sum(self.shares) - 1) > 1e-9 or min(self.shares) < 0:
            raise ValueError("shares must be >= 0 and sum to 1")
        if not (self.oi_to_adv > 0) or not (0 <= self.headroom[0] <= self.headroom[1]):
            raise ValueError("oi_to_adv must be > 0 and headroom an ordered pair >= 0")


@dataclass(frozen=True)
class Crowd:
    """ids (A,); kind (A,) index into :data:`KINDS`; x (A, U) USD exposure per underlying
    at the draw date; cash (A,) USDC (drawn equity topped up for ``draw_crowd``'s regimes);
    underlyings (U,); drawn_leverage (A,); equity (A,) drawn equity; headroom (A,)."""

    ids: tuple[str, ...]
    kind: np.ndarray
    x: np.ndarray
    cash: np.ndarray
    underlyings: tuple[str, ...]
    drawn_leverage: np.ndarray
    equity: np.ndarray
    headroom: np.ndarray


def crowd_cash(crowd: "Crowd", model: MarginModel, regimes: list[Regime]) -> np.ndarray:
    """(A,) cash: drawn equity, at least ``(1 + headroom) * IM`` under every regime of ``regimes``."""
    U = len(crowd.underlyings)
    cash = crowd.equity.copy()
    c0 = np.zeros((len(cash), len(model.collateral_assets)))
    for reg in regimes:
        cash = np.maximum(cash, (1 + crowd.headroom) * reg.margin(model, np.ones(U), np.arange(U), crowd.x, c0).im)
    return cash


def _legs(rng: np.random.Generator, kind: str, p_u: np.ndarray, long_bias: float) -> np.ndarray:
    """(U,) signed weights summing to 1 in absolute value for one account of ``kind``."""
    U = len(p_u)
    w = np.zeros(U)
    if kind == "directional" or U < 2:
        w[rng.choice(U, p=p_u)] = 1.0 if rng.random() < long_bias else -1.0
    elif kind == "pair":
        a, b = rng.choice(U, size=2, replace=False, p=p_u)
        w[a], w[b] = 0.5, -0.5
    else:
        k = int(min(U, rng.integers(3, 6)))
        picks = rng.choice(U, size=k, replace=False, p=p_u)
        signs = np.ones(k)
        if rng.random() < 0.4:
            signs = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
            rng.shuffle(signs)
        w[picks] = signs / k
    return w


def draw_crowd(model: MarginModel, regimes: list[Regime], seed: int = 0,
               params: CrowdParams | None = None) -> Crowd:
    """Draw the crowd (see the module docstring).

    ``model`` is the day's margin model in USD units (one perp per underlying, unit
    price 1: see :func:`calcm.liquidation.crowd_replay.usd_model`); ``regimes``: the
    regimes every account must be admissible under.
    """
    p = params or CrowdParams()
    rng = np.random.default_rng(seed)
    U = len(model.underlyings)
    p_u = model.adv / model.adv.sum()
    kinds = rng.choice(len(KINDS), size=p.n_accounts, p=list(p.shares))
    w = np.array([_legs(rng, KINDS[k], p_u, p.long_bias) for k in kinds])           # (A, U)
    med = np.array([getattr(p, f"lev_{k}")[0] for k in KINDS])[kinds]
    sd = np.array([getattr(p, f"lev_{k}")[1] for k in KINDS])[kinds]
    lev = np.clip(med * np.exp(sd * rng.standard_normal(p.n_accounts)), 1.0, p.max_leverage)
    equity = np.exp(p.equity_sigma * rng.standard_normal(p.n_accounts))
    x = w * (lev * equity)[:, None]
    scale = p.oi_to_adv * model.adv.sum() / np.abs(x).sum()
    x, equity = x * scale, equity * scale
    head = rng.uniform(*p.headroom, size=p.n_accounts)
    ids = tuple(f"{KINDS[k]}-{a:05d}" for a, k in enumerate(kinds))
    crowd = Crowd(ids, kinds, x, equity, tuple(model.underlyings), lev, equity, head)
    return Crowd(ids, kinds, x, crowd_cash(crowd, model, regimes), tuple(model.underlyings), lev, equity, head)


def crowd_summary(crowd: Crowd, cash: dict[str, np.ndarray] | None = None) -> dict:
    """Documented distributions of the drawn crowd: counts, leverage and size percentiles.

    ``cash``: regime name -> (A,) cash, to report each regime's realised leverage too.
    """
    gross = np.abs(crowd.x).sum(axis=1)
    lev = gross / crowd.cash
    pct = (5, 25, 50, 75, 95, 99)
    q = lambda v: {f"p{k}": float(np.percentile(v, k)) for k in pct}  # noqa: E731
    net = crowd.x.sum(axis=0)
    return {"accounts": len(crowd.ids),
            "by_kind": {k: int((crowd.kind == i).sum()) for i, k in enumerate(KINDS)},
            "drawn_leverage": q(crowd.drawn_leverage), "realised_leverage": q(lev),
            "equity_usd": q(crowd.cash), "gross_notional_usd": float(gross.sum()),
            "net_exposure_usd": dict(zip(crowd.underlyings, map(float, net))),
            "gross_exposure_usd": dict(zip(crowd.underlyings, map(float, np.abs(crowd.x).sum(axis=0)))),
            "realised_leverage_by_regime": {k: q(gross / v) for k, v in (cash or {}).items()}}
