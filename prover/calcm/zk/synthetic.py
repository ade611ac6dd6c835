"""Synthetic fixed-point models and accounts of a circuit's shape (benchmarks and tests).

Magnitudes are realistic and stay inside every fixed-point range for any
account drawn here (MONEY tops out near 9.2e8 USD): per-unit values up to
1e5 USD (prices) and +-3e4 USD (scenario P&L), ADV from 1e8 USD, positions up
to +-100 units, collateral worth up to 5e6 USD per asset. Tiers come out mixed.
Deterministic for a given ``random.Random`` seed.
"""
from __future__ import annotations

import random

from ..fixedpoint import PRICE_SCALE, QTY_SCALE
from ..risk.fixed_margin import AccountFx, MarginModelFx
from .config import CircuitConfig


def random_model(config: CircuitConfig, rng: random.Random, *, pnl_usd: float = 3e4,
                 mark_usd: float = 1e5) -> MarginModelFx:
    """A v2 model of ``config``'s structure (docs/PROVING.md §2)."""
    c = config
    pv = int(pnl_usd * PRICE_SCALE)
    mv = int(mark_usd * PRICE_SCALE)
    n_opt = c.n_options
    return MarginModelFx(
        price=tuple(rng.randint(PRICE_SCALE, mv) for _ in range(c.U)),
        lin=tuple(tuple(rng.randint(-pv, pv) for _ in range(c.U)) for _ in range(c.S)),
        opt=tuple(tuple(rng.randint(-pv, pv) for _ in range(n_opt)) for _ in range(c.S)) if n_opt else (),
        opt_mark=tuple(rng.randint(0, mv) for _ in range(n_opt)),
        opt_expo=tuple(rng.randint(-mv, mv) for _ in range(n_opt)),
        haircut_bps=tuple(rng.randint(0, 9999) for _ in range(c.m)),
        adv=tuple(rng.randint(10**8, 10**11) for _ in range(c.U)),
        liquidity_weight_bps=tuple(rng.randint(0, 10**4) for _ in range(c.U)),
        k_tail=c.k, im_buffer_bps=rng.randint(0, 10**4), warn_buffer_bps=rng.randint(0, 10**4),
        kinds=c.kinds, under=c.under, coll=c.coll, chunks=c.C,
        perp_move=tuple(rng.randint(0, pv // 10) for _ in range(c.U)))


def random_account(config: CircuitConfig, rng: random.Random, model: MarginModelFx | None = None,
                   *, max_units: int = 100, max_collateral_usd: float = 5e6) -> AccountFx:
    """Positions up to ``max_units``; collateral worth up to ``max_collateral_usd`` per asset
    at ``model``'s prices (token units up to 1e4 without a model)."""
    q = max_units * QTY_SCALE
    caps = []
    for j in range(config.m):
        price = model.collateral_price[j] if model is not None else 0
        units = max_collateral_usd * PRICE_SCALE / price if price > 0 else 1e4
        caps.append(int(min(units, 1e8) * QTY_SCALE))
    return AccountFx(tuple(rng.randint(-q, q) for _ in range(config.n)),
                     tuple(rng.randint(0, cap) for cap in caps),
                     rng.getrandbits(248))
