"""The demo venue's actions and the gating check: liquidations, withdrawals, canWithdraw.

- :func:`gating`: the registry's ``isLiquidatable`` / ``canWithdraw`` of every account
  against the Python fixed-point tiers of the keeper's report;
- :func:`liquidate`: the liquidation engine's partial plans on the float twin of the
  registry's current model version, committed and posted as a new root;
- :func:`request_withdrawal`: a post-withdrawal commitment with a withdrawal request.
"""
from __future__ import annotations

import numpy as np

from ..fixedpoint import QTY_SCALE
from ..risk.fixed_margin import AccountFx
from .jobs import BlockReport
from .loop import Keeper
from .model import float_version_model
from .world import World

def gating(world: World, rep: BlockReport) -> list[dict]:
    """On-chain ``isLiquidatable`` / ``canWithdraw`` of every account vs the Python tiers."""
    out = []
    snap = world.venue.snapshot()
    for name, owner in zip(snap.names, snap.owners):
        h = world.reg.health(owner)
        tier = rep.tiers.get(name)
        want_liq, want_wd = tier == 3, tier is not None and tier <= 1
        out.append({"account": name, "tier": tier, "chain_tier": h["tier"], "valid": h["valid"],
                    "liquidatable": h["liquidatable"], "can_withdraw": h["can_withdraw"],
                    "ok": h["valid"] and h["tier"] == tier and h["liquidatable"] == want_liq
                    and h["can_withdraw"] == want_wd})
    return out


def _float_account(acc: AccountFx) -> tuple[np.ndarray, np.ndarray]:
    return np.array(acc.qty, float) / QTY_SCALE, np.array(acc.collateral, float) / QTY_SCALE


def current_float_model(world: World, keeper: Keeper):
    """The float twin of the registry's current model version."""
    chain = keeper._chain_model(world.w3.eth.block_number)
    state = keeper._known_state(chain.state)
    return float_version_model(world.model.params, state, keeper._lin_prices(chain, state))


def liquidate(world: World, keeper: Keeper, names: list[str], day: str) -> list[dict]:
    """The venue's partial liquidations of ``names`` (the engine's plan on the float twin of
    the current model version); posts the new commitments; returns the plans."""
    from ..liquidation import LiquidationEngine
    engine = LiquidationEngine(current_float_model(world, keeper))
    snap = world.venue.snapshot()
    plans, changed = [], []
    for name in names:
        leaf = snap.leaf_of(name)
        acc = snap.accounts[leaf]
        q, c = _float_account(acc)
        plan = engine.plan(q, c, name)
        # Bad debt leaves the cash balance negative: the insurance fund covers it, so the
        # account's committed collateral floors at zero (collateral amounts are >= 0).
        new = AccountFx.encode(plan.q_after, np.maximum(plan.c_after, 0.0), acc.salt, name)
        world.venue.update(leaf, new)
        changed.append(leaf)
        plans.append({"account": name, "day": day, "status": plan.status, "reason": plan.reason,
                      "trades": [{"asset": t.asset, "kind": t.kind, "fraction": round(t.fraction, 4),
                                  "notional": round(t.notional, 2)} for t in plan.trades],
                      "notional": round(plan.notional, 2), "penalty": round(plan.penalty_paid, 2),
                      "bad_debt": round(plan.bad_debt, 2),
                      "ratio_before": _ratio(plan.before), "ratio_after": _ratio(plan.after)})
    if changed:
        world.post_root(changed)
    return plans


def _ratio(state) -> float | None:
    r = state.ratio
    return None if not np.isfinite(r) else round(float(r), 4)


def request_withdrawal(world: World, name: str, fraction: float) -> tuple[int, AccountFx]:
    """Post the post-withdrawal commitment of ``name`` (``fraction`` of each stablecoin
    collateral out) with a withdrawal request; returns its leaf and the account before."""
    snap = world.venue.snapshot()
    leaf = snap.leaf_of(name)
    acc = snap.accounts[leaf]
    params = world.model.params
    coll = tuple(int(v * (1 - fraction)) if params.collateral[j].underlying < 0 else v
                 for j, v in enumerate(acc.collateral))
    world.venue.update(leaf, AccountFx(acc.qty, coll, acc.salt), withdrawal=True)
    world.post_root([leaf])
    return leaf, acc
