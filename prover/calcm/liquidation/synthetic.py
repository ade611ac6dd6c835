"""A synthetic, deterministic book of leveraged accounts for cascade replays.

Given a seed, the assets listed at the start date and the causal risk model of
that date, :func:`synthetic_book` draws ``n_accounts`` accounts of three kinds
(the account id starts with its kind, e.g. ``hedged-007``):

- ``directional``: one or two perps on the same side (long with probability 0.65),
  gross leverage drawn in ``lev_directional``;
- ``hedged``: an offsetting pair of equal USD notional: a BTC or ETH basis trade
  (long spot, short perp), BTC/ETH, or ETH/alt (long one, short the other);
  gross leverage in ``lev_hedged``;
- ``diversified``: three to five perps, either a long basket or a market-neutral
  long/short basket (probability 0.4); gross leverage in ``lev_diversified``.

Account equity is lognormal around ``equity_median`` (USD). Position sizes are
``leverage * equity`` in USD, converted to units at the start date's close.
Collateral: USDC, and for a ``crypto_collateral`` share of accounts 30% of the
market value in BTC or ETH. Every account is *admissible under every regime* of
``admissible_under`` (static, siloed, calcm by default): the
collateral is scaled so that, with each regime's requirement and haircuts, equity
is at least ``(1 + headroom)`` times that regime's initial margin (headroom uniform
in ``headroom``), so all regimes start from the same, fully margined book.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..market import MarketData
from ..risk.book import Book, default_haircut, parse_book
from ..risk.instruments import InstrumentTable
from ..risk.haircuts import haircuts_for
from ..risk.model import ModelParams
from .causal import CausalRiskModel
from .regimes import regime

KINDS = ("directional", "hedged", "diversified")


@dataclass(frozen=True)
class SyntheticParams:
    """How the synthetic book is drawn (data, not code; see the module docstring)."""

    n_accounts: int = 90
    shares: tuple[float, float, float] = (0.4, 0.3, 0.3)     # directional, hedged, diversified
    equity_median: float = 250_000.0
    equity_sigma: float = 1.0
    lev_directional: tuple[float, float] = (2.0, 8.0)
    lev_hedged: tuple[float, float] = (3.0, 12.0)
    lev_diversified: tuple[float, float] = (2.0, 6.0)
    crypto_collateral: float = 0.2
    headroom: tuple[float, float] = (0.05, 0.8)
    admissible_under: tuple[str, ...] = ("static", "siloed", "calcm")   # regime names

    def __post_init__(self):
        if self.n_accounts < 1:
            raise ValueError("n_accounts must be >= 1")
        if abs(sum(self.shares) - 1) > 1e-9 or min(self.shares) < 0:
            raise ValueError("shares must be >= 0 and sum to 1")


def instruments_for(assets: tuple[str, ...]) -> list[dict]:
    """A perp per asset, plus BTC and ETH spot for basis trades."""
    out = [{"id": f"{a}-PERP", "kind": "perp", "underlying": a} for a in assets]
    out += [{"id": a, "kind": "spot", "underlying": a} for a in ("BTC", "ETH") if a in assets]
    return out


def _positions(rng: np.random.Generator, kind: str, assets: tuple[str, ...], notional: float) -> dict:
    """USD notional per instrument id (signed) for one account of ``kind``."""
    perp = lambda a: f"{a}-PERP"  # noqa: E731
    if kind == "directional":
        side = 1.0 if rng.random() < 0.65 else -1.0
        picks = rng.choice(len(assets), size=min(len(assets), int(rng.integers(1, 3))), replace=False)
        return {perp(assets[i]): side * notional / len(picks) for i in sorted(picks)}
    if kind == "hedged":
        alts = [a for a in assets if a not in ("BTC", "ETH")]
        options = [("BTC", "BTC-PERP"), ("ETH", "ETH-PERP"), ("BTC-PERP", "ETH-PERP")]
        options += [("ETH-PERP", perp(a)) for a in alts]
        options = [o for o in options if all(x.replace("-PERP", "") in assets for x in o)]
        long_leg, short_leg = options[int(rng.integers(len(options)))]
        if rng.random() < 0.5 and long_leg.endswith("-PERP"):
            long_leg, short_leg = short_leg, long_leg
        return {long_leg: notional / 2, short_leg: -notional / 2}
    k = int(min(len(assets), rng.integers(3, 6)))
    picks = sorted(rng.choice(len(assets), size=k, replace=False))
    if rng.random() < 0.4 and k >= 2:
        signs = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
        rng.shuffle(signs)
    else:
        signs = np.ones(k)
    return {perp(assets[i]): s * notional / k for i, s in zip(picks, signs)}


def synthetic_book(market: MarketData, asof, assets: tuple[str, ...], seed: int = 0,
                   params: SyntheticParams | None = None, model_params: ModelParams | None = None,
                   causal: CausalRiskModel | None = None) -> Book:
    """Draw the book at the close of ``asof`` (see the module docstring); deterministic in ``seed``."""
    p = params or SyntheticParams()
    rng = np.random.default_rng(seed)
    instruments = instruments_for(tuple(assets))
    collateral = [{"asset": a, "haircut": default_haircut(a)} for a in ("USDC", "BTC", "ETH")
                  if a == "USDC" or a in assets]
    shell = parse_book({"instruments": instruments, "collateral": collateral, "accounts": []},
                       source=f"<synthetic seed={seed}>")
    causal = causal or CausalRiskModel(market, shell, model_params)
    rm = causal.at(asof)
    px = dict(zip(rm.underlyings, rm.price))
    unit_px = {i["id"]: px[i["underlying"]] for i in instruments}
    kinds = rng.choice(len(KINDS), size=p.n_accounts, p=list(p.shares))
    drafts = []
    for k in range(p.n_accounts):
        kind = KINDS[kinds[k]]
        equity = p.equity_median * float(np.exp(p.equity_sigma * rng.standard_normal()))
        lev = float(rng.uniform(*getattr(p, f"lev_{kind}")))
        pos = _positions(rng, kind, tuple(assets), lev * equity)
        units = {iid: usd / unit_px[iid] for iid, usd in pos.items()}
        crypto = [a for a in ("BTC", "ETH") if a in assets]
        coin = crypto[int(rng.integers(len(crypto)))] if crypto and rng.random() < p.crypto_collateral else None
        drafts.append((f"{kind}-{k:03d}", units, equity, coin, float(rng.uniform(*p.headroom)),
                       int(rng.integers(0, 2**62))))

    # Collateral: a fixed mix (USDC, or 70% USDC and 30% of market value in BTC/ETH),
    # scaled so that under every regime (its requirement *and* its haircuts) the equity
    # is at least the drawn equity and (1 + headroom) x that regime's IM.
    table = InstrumentTable.from_instruments(shell.instruments, shell.underlyings)
    q = np.array([[d[1].get(i, 0.0) for i in shell.instrument_ids] for d in drafts])
    mix = np.zeros((len(drafts), len(shell.collateral)))        # collateral units per USD of value
    cidx = {a: j for j, a in enumerate(shell.collateral_assets)}
    for k, (_, _, _, coin, _, _) in enumerate(drafts):
        mix[k, cidx["USDC"]] = 1.0 if coin is None else 0.7
        if coin is not None:
            mix[k, cidx[coin]] = 0.3 / px[coin]
    marks = q @ rm.margin_model.mark
    scale = np.zeros(len(drafts))
    for reg in map(regime, p.admissible_under):
        model = replace(rm.margin_model, haircut=haircuts_for(rm, shell, reg.risk_haircuts))
        im = reg.margin(model, rm.unit_notional, table.underlying_index, q, np.zeros_like(mix)).im
        credit = mix @ (model.collateral_price * (1 - model.haircut))     # equity per USD posted
        target = np.maximum([d[2] for d in drafts], (1 + np.array([d[4] for d in drafts])) * im)
        scale = np.maximum(scale, (target - marks) / credit)
    accounts = []
    for (aid, units, _, _, _, salt), s_k, row in zip(drafts, np.maximum(scale, 0.0), mix):
        # Spot legs are fully paid, so a well-funded basis trade may need no extra cash.
        coll = {a: float(s_k * row[j]) for a, j in cidx.items() if row[j] > 0}
        accounts.append({"id": aid, "salt": salt, "positions": units, "collateral": coll})
    return parse_book({"instruments": instruments, "collateral": collateral, "accounts": accounts},
                      source=f"<synthetic seed={seed}>")
