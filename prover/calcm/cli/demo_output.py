"""Rich output of ``calcm demo``: the setup progress (with an estimate per circuit) and
the closing report tables."""
from __future__ import annotations

from .output import console, table


def _liquidations(plans: list[dict]) -> str:
    """``2 partial, 10,433 USD sold, ratio 0.37 -> 1.10`` (first ratio before, last after)."""
    if not plans:
        return "-"
    kinds = ", ".join(f"{sum(1 for p in plans if p['status'] == k)} {k}"
                      for k in ("partial", "full") if any(p["status"] == k for p in plans))
    notional = sum(p["notional"] for p in plans)
    return (f"{kinds}, {notional:,.0f} USD sold, ratio {plans[0]['ratio_before']} -> "
            f"{plans[-1]['ratio_after']}")


def wide_console():
    """The shared console: the terminal's width, or ``output.PIPE_WIDTH`` off one (never 80)."""
    return console


#: Setup seconds (compile + dev setup) per circuit kind and profile, for the progress
#: estimate of a build that is not cached yet. ``fast``: measured on this machine (2 cores
#: shared with other compiles, load ~8). ``published``: step measured (1,846 s at nice 15),
#: option and margin from bench/README.md, reval ESTIMATED as the step (docs/KEEPER.md).
SETUP_ESTIMATE = {"fast": {"step": 125, "reval": 120, "option": 145, "margin": 295},
                  "published": {"step": 1850, "reval": 1850, "option": 250, "margin": 575}}


class SetupProgress:
    """Rich progress of the circuit setup (``progress(kind, phase)`` callback) with an
    estimate per circuit; a cached build finishes at once."""

    def __init__(self, out, enabled: bool = True, profile: str = "fast"):
        self.out, self.enabled, self.profile = out, enabled, profile
        self.progress = None
        self.tasks = {}

    def __enter__(self):
        return self

    def _start(self):
        """The bar starts at the first build (bad input before it prints nothing)."""
        if self.enabled and self.progress is None:
            from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TimeElapsedColumn(), TextColumn("estimate"),
                                     TimeRemainingColumn(), console=self.out, transient=False)
            self.progress.start()

    def __call__(self, kind: str, phase: str) -> None:
        self._start()
        if self.progress is None:
            return
        import threading
        import time
        if phase == "start":
            est = SETUP_ESTIMATE.get(self.profile, SETUP_ESTIMATE["fast"]).get(kind, 60)
            tid = self.progress.add_task(f"setting up the {kind} circuit (est. {est} s if not cached)",
                                         total=est)
            self.tasks[kind] = tid
            t0 = time.monotonic()

            def tick():
                while kind in self.tasks:
                    self.progress.update(tid, completed=min(time.monotonic() - t0, est * 0.99))
                    time.sleep(0.5)
            threading.Thread(target=tick, daemon=True).start()
        else:
            tid = self.tasks.pop(kind, None)
            if tid is not None:
                self.progress.update(tid, completed=self.progress.tasks[tid].total)

    def __exit__(self, *exc):
        self.tasks.clear()
        if self.progress is not None:
            self.progress.stop()


def print_demo_report(rep: dict) -> None:
    """The demo's closing report as rich tables."""
    out = wide_console()
    tier = {0: "0", 1: "1", 2: "2", 3: "L", None: "-"}
    b, p, t = rep["blocks"], rep["proofs_verified_on_chain"], rep["time"]
    pa = rep["parameters"]
    gas = rep["gas_anvil"]
    table(f"calcm demo: {rep['history']} history, {rep['window']['days']} days from "
          f"{rep['window']['start']}, profile {rep['profile']} (S={pa['S']}, k={pa['k']}, "
          f"{pa['option_parts']} option parts), {rep['workers']} workers",
          ["what", "value"],
          [["blocks processed / skipped / coalesced", f"{b['processed']} / {b['skipped']} / {b['coalesced']}"],
           ["daily steps verified on-chain", p["daily_steps"]],
           ["intraday revaluations verified on-chain", p["intraday_revaluations"]],
           ["option revaluations (parts) verified on-chain", f"{p['option_revaluations']} ({p['option_parts']})"],
           ["margin batches verified on-chain", f"{p['margin_batches']} ({p['accounts_covered']} account proofs)"],
           ["gating checks (isLiquidatable, canWithdraw vs Python)",
            f"{rep['gating']['checks']} checks, {len(rep['gating']['failures'])} failures"],
           ["float vs fixed-point tier mismatches", rep["float_vs_fixed_tier_mismatches"]],
           ["time per block with proofs (mean / max)", f"{t['per_block_mean_seconds']} s / {t['per_block_max_seconds']} s"],
           ["setup / replay / total", f"{t['setup_seconds']} s / {t['replay_seconds']} s / {t['total_seconds']} s"],
           ["gas per step / reval / option part / margin batch (anvil)",
            " / ".join(f"{gas[k]['mean']:,}" if gas[k]["mean"] else "-"
                       for k in ("step", "reval", "option", "margin"))]], out)
    table("accounts (tier at each daily close: 0 healthy, 1 warning, 2 no new risk, L liquidatable)",
          ["account", "kind", "tiers", "became liquidatable", "gated ok", "liquidation"],
          [[a["account"], a["kind"], " ".join(tier[x] for x in a["tiers"]),
            f"{a['became_liquidatable']['date']} (block {a['became_liquidatable']['block']})"
            if a["became_liquidatable"] else "-", "yes" if a["gated"] else "NO",
            _liquidations(a["liquidations"])] for a in rep["accounts"]], out)
    if rep["withdrawals"]:
        table("withdrawal requests", ["account", "date", "fraction", "tier after", "canWithdraw", "outcome"],
              [[w["account"], w["date"], w["fraction"], w["tier_after"], w["can_withdraw"], w["outcome"]]
               for w in rep["withdrawals"]], out)
    for n in rep["notes"]:
        out.print(f"[dim]{n}[/]")
