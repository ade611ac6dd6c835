"""The demo's closing report (``out/demo/report.json``), built from the replay's records,
the keeper's store and the registry's events."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import atomic
from ..fixedpoint import MONEY_SCALE


def demo_report(replay, t_start: float, t_ready: float, out: Path) -> dict:
    """The closing report of a :class:`~.demo.Replay` (``replay``), also written to
    ``out/report.json``: proofs verified on-chain (from the registry's events), submissions,
    gating checks, tiers per account, liquidations, withdrawals, times and gas."""
    w, keeper, store = replay.world, replay.keeper, replay.store
    ev = w.reg.contract.events
    n = {name: len(getattr(ev, name)().get_logs(from_block=0)) for name in (
        "ModelStepped", "ModelRevalued", "OptionsRevalued", "OptionPartProven",
        "MarginBatchRecorded")}
    counts = store.counts()
    busy = [b for b in replay.block_reports if b["groups"] or b["model"]]
    mined = store.submissions("mined")
    gas = {k: [x.gas_used for x in mined if x.kind == k and x.gas_used]
           for k in ("step", "reval", "option", "margin")}
    snap = w.venue.snapshot()
    p = w.model.params
    accounts = [{"account": a, "kind": w.kinds[a], "tiers": replay.timeline[a],
                 "became_liquidatable": replay.became.get(a),
                 "gated": all(r["ok"] for g in replay.gate_rows for r in g["rows"] if r["account"] == a),
                 "liquidations": [x for x in replay.plans if x["account"] == a]}
                for a in snap.names]

    def mean(xs):
        return round(float(np.mean(xs)), 3) if xs else None
    report = {
        "kind": "calcm-demo-report",
        "history": str(replay.s.market or replay.s.history), "window": {"start": w.days[0].date, "days": len(w.days)},
        "profile": replay.s.profile, "parameters": {
            "S": p.n_scenarios, "k": p.k_tail, "U": p.n_assets, "instruments": p.n_instruments,
            "options": p.n_options, "chunks": p.chunks, "option_parts": p.n_options * p.chunks,
            "param_hash": str(p.param_hash())},
        "intraday_rounds_per_day": replay.s.intraday, "intraday_prices": "synthetic (Brownian bridge)",
        "workers": keeper.pool.n_workers, "group_size": w.config.N,
        "builds": {"dirs": w.builds.dirs(), "security": w.builds.security(),
                   "constraints": w.builds.constraints()},
        "registry": w.reg.address, "chain_id": keeper.chain_id,
        "blocks": {"processed": counts["blocks"].get("processed", 0),
                   "skipped": counts["blocks"].get("skipped", 0),
                   "coalesced": counts["blocks"].get("coalesced", 0),
                   "last": store.last_block()},
        "proofs_verified_on_chain": {
            "daily_steps": n["ModelStepped"], "intraday_revaluations": n["ModelRevalued"],
            "option_revaluations": n["OptionsRevalued"], "option_parts": n["OptionPartProven"],
            "margin_batches": n["MarginBatchRecorded"],
            "accounts_covered": sum(b["proven"] for b in replay.block_reports)},
        "submissions": counts["submissions"],
        "gating": {"checks": sum(len(g["rows"]) for g in replay.gate_rows), "failures": replay.failures},
        "accounts": accounts,
        "became_liquidatable": [{"account": a, **v} for a, v in replay.became.items()],
        "liquidations": replay.plans, "withdrawals": replay.withdrawals,
        "float_vs_fixed_tier_mismatches": sum(len(b["tier_mismatch"]) for b in replay.block_reports),
        "time": {"setup_seconds": round(t_ready - t_start, 2),
                 "replay_seconds": round(time.perf_counter() - t_ready, 2),
                 "total_seconds": round(time.perf_counter() - t_start, 2),
                 "per_block_mean_seconds": mean([b["total_seconds"] for b in busy]),
                 "per_block_max_seconds": max((b["total_seconds"] for b in busy), default=None),
                 "prove_mean_seconds": mean([b["prove_seconds"] for b in busy]),
                 "prove_cpu_seconds_total": round(sum(b["prove_cpu_seconds"] for b in busy), 1),
                 "load_average_1min": [round(x, 2) for x in replay.load] + [round(os.getloadavg()[0], 2)],
                 "latency_mean_seconds": mean([b["latency_seconds"] for b in replay.block_reports])},
        "gas_anvil": {k: {"count": len(v), "mean": round(float(np.mean(v))) if v else None}
                      for k, v in gas.items()},
        "blocks_detail": replay.block_reports,
        "notes": w.notes,
        "money_scale": MONEY_SCALE,
    }
    atomic.write_json(out / "report.json", report)
    return report
