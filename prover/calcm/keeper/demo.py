"""``calcm demo``: the whole system on a local chain, through a stress episode (v2).

1. **Model**: the published model of the WHOLE bundled book (``fixtures/book.json``: every
   account, options included; no sub-book, no attested updates) on the market up to the
   replay's first day ``T0`` (:func:`calcm.risk.published.published_model`; default window:
   3 days from 2023-01-19, the fixture crash starts on the 20th). Its genesis
   state holds the close of ``T0 - 1``; the first daily step is ``T0``'s close. Two
   profiles (:data:`PROFILES`): ``published`` (the published parameters, ``S = 534`` on the
   bundled data) and ``fast`` (a smaller filtered-historical-simulation count, published
   AS the demo's parameters: a different parameter set, never a refit of a proven one, so
   the chain still equals ``calcm margin`` at those parameters).
2. **Builds** (:func:`calcm.keeper.proving.setup_builds`, cached by source hash): the
   daily-step, revaluation, option-part and margin-batch circuits of those parameters;
   shapes above the local power-13 powers of tau get groth16py's single-party dev setup
   (INSECURE, labelled in each manifest and in the report).
3. **Chain**: an embedded anvil whose genesis is dated at the start of ``T0`` (UTC), the
   four verifiers, ``MarginRegistry`` (genesis state at day ``T0 - 1``) and one
   ``MockPriceFeed`` per asset; the venue registers every account and posts the root.
4. **Replay**: for each day ``D`` of the window, ``intraday`` synthetic rounds during ``D``
   (a seeded Brownian bridge in log price from the previous close to ``D``'s close, with the
   genesis daily volatility: SYNTHETIC, the data has daily closes only), then ``D``'s close
   published at 00:00:30 UTC of ``D + 1`` (the first round after midnight: the daily close
   the registry steps from). The keeper processes the head after each publication: the
   daily step and the option revaluation of the new state at each close, an intraday
   revaluation at each intraday round, and every margin batch under each new version.
5. **Venue**: when the registry says an account is liquidatable, the venue executes the
   liquidation engine's partial plan and posts the new commitment; mid-episode two accounts
   ask to withdraw collateral and ``canWithdraw`` decides.
6. **Checks** after every keeper step: for every account, ``isLiquidatable`` and
   ``canWithdraw`` read on-chain must equal the Python fixed-point tiers (tier 3; tier <= 1).

The report (also ``out/demo/report.json``): daily steps, intraday revaluations, option
revaluations and parts, margin batches verified on-chain; gating checks and failures;
tiers per day; liquidations and withdrawals; float vs fixed-point tier mismatches; setup
and per-block times; gas.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .. import atomic
from ..chain.deployment import write_deployment
from ..fixedpoint import PRICE_SCALE
from ..risk.book import Book
from .demo_report import demo_report
from .demo_settings import (CLOSE_AT, DAY, DEFAULT_OUT, FIXTURE_WINDOW, PROFILES,  # noqa: F401
                            REAL_WINDOW, WITHDRAWALS, DemoSettings, Profile, check_window,
                            load_history)
from .log import EventLog
from .loop import BlockReport, Keeper, KeeperConfig
from .prover_pool import ProverPool
from .replay import ReplayDay, intraday_path  # noqa: F401
from .store import Store
from .venue_actions import (current_float_model, gating, liquidate,  # noqa: F401
                            request_withdrawal)
from .world import (DatedAnvil, World, account_kind, build_world, demo_salt,  # noqa: F401
                    published_for, verifier_artifact)

# ---------------------------------------------------------------------- the run


def run_demo(s: DemoSettings, log: EventLog, say=print, progress=None,
             book: Book | None = None) -> dict:
    """Run the demo (see the module docstring); returns the report (also written to
    ``out_dir/report.json``). ``book``: another book than the bundled one (tests)."""
    t_start = time.perf_counter()
    out = Path(s.out_dir)
    state_path = out / "keeper.sqlite"
    world = build_world(s, book=book, log=say, progress=progress)  # bad input: nothing written
    t_ready = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
        for p in out.glob("keeper.sqlite*"):
            p.unlink()  # a demo always starts on a fresh chain
        write_deployment(out / "deployment.json", world.deployment)
        atomic.write_json(out / "model.json", world.model.to_json())
        cfg = KeeperConfig(max_price_age=s.max_price_age, refresh_blocks=s.refresh_blocks,
                           near_mm_buffer=s.near_mm_buffer)
        say(f"starting {s.workers} dask prover workers"
            + (f" on {s.scheduler}" if s.scheduler else " (embedded LocalCluster)"))
        with ProverPool(s.scheduler, s.workers, s.processes) as pool, Store(state_path) as store:
            keeper = Keeper(world.w3, world.reg, store, world.model, world.venue, world.provers,
                            pool, cfg, log, state_dir=out / "proofs",
                            deploy_block=world.deployment.deploy_block)
            return Replay(s, world, keeper, store, say).run(t_start, t_ready, out)
    finally:
        world.close()


class Replay:
    """The replay loop: publish, let the keeper step, check the gating, act as the venue."""

    def __init__(self, s: DemoSettings, world: World, keeper: Keeper, store: Store, say):
        self.s, self.world, self.keeper, self.store, self.say = s, world, keeper, store, say
        self.names = world.venue.snapshot().names
        self.timeline = {n: [] for n in self.names}
        self.became, self.plans, self.withdrawals = {}, [], []
        self.gate_rows, self.block_reports, self.failures = [], [], []
        self.load = [os.getloadavg()[0]]

    def step(self, date: str, why: str) -> BlockReport | None:
        t = time.time()
        rep = self.keeper.step()
        if rep is None or rep.status != "processed":
            return rep
        row = {"date": date, "why": why, **{k: getattr(rep, k) for k in (
            "block", "model", "day", "model_version", "steps", "revals", "option_parts",
            "accounts", "proven", "groups", "liquidatable", "prove_seconds", "prove_cpu_seconds",
            "submit_seconds",
            "total_seconds", "gas_used", "reasons", "tier_mismatch", "reason")},
            "latency_seconds": round((rep.mined_at or time.time()) - t, 3)}
        self.block_reports.append(row)
        rows = gating(self.world, rep)
        self.gate_rows.append({"date": date, "block": rep.block, "rows": rows})
        self.failures.extend({"date": date, "block": rep.block, **r} for r in rows if not r["ok"])
        self.say(f"{date} {why:>8}: block {rep.block}  model {','.join(rep.model) or '-':<14} "
                 f"version {rep.model_version}  {rep.groups} batches  {rep.liquidatable} liquidatable"
                 f"  {rep.total_seconds:.1f} s" + (f"  ({rep.reason})" if rep.reason else ""))
        return rep

    def run(self, t_start: float, t_ready: float, out: Path) -> dict:
        w, s = self.world, self.s
        self.say(f"replaying {len(w.days)} days from {w.days[0].date}: {len(self.names)} accounts, "
                 f"{s.intraday} synthetic intraday rounds a day")
        # Genesis tiers count too: an account liquidatable at once is liquidated at once.
        self.after(0, w.days[0], self.step(w.days[0].date, "genesis"))
        prev = tuple(p / PRICE_SCALE for p in w.model.state.price)
        for d, day in enumerate(w.days):
            base = w.day_start(d)
            sigma2 = w.model.state.sigma2
            for j, prices in enumerate(intraday_path(prev, day.prices, s.intraday, sigma2, day.date)):
                w.publish_at(base + (j + 1) * DAY // (s.intraday + 1), prices)
                self.after(d, day, self.step(day.date, "intraday"))
            w.publish_close(d)
            rep = self.after(d, day, self.step(day.date, "close"))
            if rep is not None:
                for n in self.names:
                    self.timeline[n].append(rep.tiers.get(n))
            prev = day.prices
        return self.report(t_start, t_ready, out)

    def after(self, d: int, day: ReplayDay, rep: BlockReport | None) -> BlockReport | None:
        """Record tiers; the venue liquidates and pays out withdrawals (close blocks only)."""
        if rep is None or rep.status != "processed":
            return rep
        for n in self.names:
            if rep.tiers.get(n) == 3 and n not in self.became:
                self.became[n] = {"date": day.date, "block": rep.block}
        if not self.s.venue_actions or not self.gate_rows:
            return rep
        liquidatable = [r["account"] for r in self.gate_rows[-1]["rows"] if r["liquidatable"]]
        requests = [(n, f) for (k, n, f) in WITHDRAWALS if k == d and n in self.names
                    and not any(x["account"] == n for x in self.withdrawals)]
        pending = [(n, f, *request_withdrawal(self.world, n, f)) for n, f in requests]
        if liquidatable:
            self.plans += liquidate(self.world, self.keeper, liquidatable, day.date)
        if not (pending or liquidatable):
            return rep
        rep2 = self.step(day.date, "venue")
        refused = []
        for n, f, leaf, before in pending:
            allowed = self.world.reg.health(self.world.venue.snapshot().owners[leaf])["can_withdraw"]
            self.withdrawals.append({"account": n, "date": day.date, "fraction": f,
                                     "tier_after": rep2.tiers.get(n) if rep2 else None,
                                     "can_withdraw": allowed,
                                     "outcome": "paid out" if allowed else "refused"})
            if allowed:
                self.world.venue.update(leaf, withdrawal=False)
            else:  # refused: the venue restores the account and posts it again
                self.world.venue.update(leaf, before, withdrawal=False)
                refused.append(leaf)
        if refused:
            self.world.post_root(refused)
            self.step(day.date, "restore")
        for p in self.plans:
            if p["day"] == day.date and rep2 is not None and "tier_after" not in p:
                p["tier_after"] = rep2.tiers.get(p["account"])
        return rep

    def report(self, t_start: float, t_ready: float, out: Path) -> dict:
        return demo_report(self, t_start, t_ready, out)
