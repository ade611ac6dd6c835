"""Synthetic model parameters, states and price paths (tests and benchmarks).

Deterministic given a seed. Parameters look like fitted daily crypto GARCH
models (omega ~ 1e-5, alpha ~ 0.08, gamma ~ 0.05, beta ~ 0.88), scenario
shocks are Student-t-like with a correlation-to-one crash row, vol shocks per
(scenario, asset) in [-30%, +100%] with the published skew rule ``kappa = clip(0.1 z,
+/-0.5)`` (:func:`random_shocks`), and option series sit around the money with
7-90 day expiries and 50-120% implied vols.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..fixedpoint import GARCH_FRAC, IV_FRAC, PRICE_SCALE, SHOCK_FRAC, T_FRAC, VAR_FRAC, Z_FRAC
from ..risk.modelfx import CollateralFx, InstrumentFx, ModelParamsFx, ModelStateFx

ASSET_NAMES = ("BTC", "ETH", "SOL", "LINK", "DOGE", "AVAX", "XRP", "ADA", "BNB", "LTC")
BASE_PRICES = (30000.0, 2000.0, 25.0, 7.0, 0.08, 15.0, 0.5, 0.3, 250.0, 80.0)


@dataclass(frozen=True)
class SyntheticSpec:
    """Shape of a synthetic model: U assets, S scenarios, linear and option instruments."""

    U: int = 2
    S: int = 8
    linear: tuple[tuple[str, int], ...] = (("spot", 0), ("spot", 1), ("perp", 0), ("perp", 1))
    n_options: int = 0
    collateral: tuple[int, ...] = (-1, 0)      # -1: USDC, else an asset index
    k_tail: int = 2
    horizon_days: int = 2


def synthetic_params(spec: SyntheticSpec = SyntheticSpec(), seed: int = 0) -> ModelParamsFx:
    """Parameters of ``spec``'s shape (one chunk: ``dataclasses.replace(p, chunks=C)`` for more)."""
    rng = random.Random(seed)
    U, S = spec.U, spec.S
    assets = ASSET_NAMES[:U] if U <= len(ASSET_NAMES) else tuple(f"A{u}" for u in range(U))
    ins = [InstrumentFx(f"{assets[u]}-{kind.upper()}" if kind == "perp" else assets[u], kind, u)
           for kind, u in spec.linear]
    for o in range(spec.n_options):
        u = o % U
        base = BASE_PRICES[u % len(BASE_PRICES)]
        kind = "call" if o % 2 == 0 else "put"
        strike = base * rng.choice((0.8, 0.9, 1.0, 1.1, 1.25))
        days = rng.choice((7, 14, 30, 60, 90))
        iv = rng.uniform(0.5, 1.2)
        ins.append(InstrumentFx(f"{assets[u]}-{kind[0].upper()}-{o}", kind, u, round(strike * PRICE_SCALE),
                                days * 2**T_FRAC, round(iv * 2**IV_FRAC)))
    col = tuple(CollateralFx("USDC" if c < 0 else assets[c], c, 100 if c < 0 else 500 + 100 * c)
                for c in spec.collateral)
    z = []
    for s in range(S):
        if s == 0:
            row = [-6.0] * U                                  # correlation-to-one crash
        elif s == 1:
            row = [6.0] * U
        else:
            row = [rng.gauss(0, 1) * rng.choice((1, 1, 2, 3)) for _ in range(U)]
        z.append(tuple(max(-40 * 2**Z_FRAC, min(40 * 2**Z_FRAC, round(v * 2**Z_FRAC))) for v in row))
    g = lambda lo, hi: tuple(round(rng.uniform(lo, hi) * 2**GARCH_FRAC) for _ in range(U))  # noqa: E731
    return ModelParamsFx(
        assets=assets, instruments=tuple(ins), collateral=col,
        omega=tuple(round(rng.uniform(5e-6, 3e-5) * 2**VAR_FRAC) for _ in range(U)),
        alpha=g(0.04, 0.12), gamma=g(0.0, 0.08), beta=g(0.80, 0.90), z=tuple(z), **random_shocks(rng, z),
        horizon_days=spec.horizon_days, k_tail=spec.k_tail, im_buffer_bps=2500, warn_buffer_bps=2000,
        min_return_bps=-9500, adv=tuple(10**9 // (u + 1) for u in range(U)),
        liquidity_weight_bps=tuple(2500 if u < 2 else 7000 for u in range(U)),
        perp_shock_bps=tuple(726 if u < 2 else 1700 for u in range(U)))


def random_shocks(rng: random.Random, z) -> dict:
    """``vol_shock`` (S, U) uniform in [-0.3, 1.0] and ``skew_shock = clip(0.1 z, +/-0.5)``
    (both at 2**16) for the scenario rows ``z`` (2**16): keyword arguments of ModelParamsFx."""
    vol = tuple(tuple(round(rng.uniform(-0.3, 1.0) * 2**SHOCK_FRAC) for _ in row) for row in z)
    half = 2**SHOCK_FRAC // 2
    skew = tuple(tuple(max(-half, min(half, round(v / 10))) for v in row) for row in z)
    return {"vol_shock": vol, "skew_shock": skew}


def synthetic_state(params: ModelParamsFx, seed: int = 0, step: int = 0) -> ModelStateFx:
    """A plausible state of ``params``' assets: day ``step``, daily vols 2-6%, prices near the bases."""
    rng = random.Random(seed + 7919)
    U = params.n_assets
    return ModelStateFx(step, tuple(round(rng.uniform(0.02, 0.06) ** 2 * 2**VAR_FRAC) for _ in range(U)),
                        tuple(round(BASE_PRICES[u % len(BASE_PRICES)] * rng.uniform(0.9, 1.1) * PRICE_SCALE)
                              for u in range(U)))


def price_path(state: ModelStateFx, returns) -> list[tuple[int, ...]]:
    """Prices after each row of simple ``returns`` (T, U), rounded to PRICE integers (>= 1)."""
    out, p = [], list(state.price)
    for row in returns:
        p = [max(1, round(pu * (1.0 + r))) for pu, r in zip(p, row)]
        out.append(tuple(p))
    return out


#: A linear shape (2 assets x 8 scenarios, spot and perp on each; USDC and BTC collateral):
#: the margin circuit's small configuration (S=8, n=4, U=2, m=2, k=2).
SMALL = SyntheticSpec()
#: An option shape (2 assets x 4 scenarios, 2 linear + 3 options) for witness-level checks.
OPTIONS = SyntheticSpec(U=2, S=4, linear=(("perp", 0), ("spot", 1)), n_options=3, collateral=(-1, 1))
#: The smallest shape with an option (1 asset, 2 scenarios, a spot and a call).
TINY_OPTIONS = SyntheticSpec(U=1, S=2, linear=(("spot", 0),), n_options=1, collateral=(-1,), k_tail=1)
