"""``calcm demo``: the whole system on a local chain, through a stress episode.

1. **Model**: the bundled book (``fixtures/book.json``) is fitted to the small margin
   circuit exactly as ``calcm prove`` does it (:mod:`calcm.zk.subbook`): by default the
   instruments BTC, ETH, BTC-PERP, ETH-PERP and the collateral USDC and BTC. Accounts holding
   anything else are left out and listed. Two demo accounts (:data:`DEMO_ACCOUNTS`) are
   added because no fixture account that fits the small circuit posts BTC as collateral:
   they show cross-collateral wrong-way risk (the collateral falls with the position).
   The model parameters come from the risk stage on the market up to the replay's first
   day T, and the genesis state is the model stage's state of day T-1, so the first replayed
   block reproduces the float model at T.
2. **Builds** (cached by source hash): the small margin circuit and, when it fits a
   power-13 powers of tau, the model-update circuit of these parameters; without it the
   registry runs in attested mode (governance vouches for the model updates).
3. **Chain**: an embedded anvil; verifiers, ``MarginRegistry`` and one ``MockPriceFeed`` per
   asset deployed; the venue registers each account's owner and posts the accounts root.
4. **Replay**: each day of the episode (the fixture market's January 2023 crash, or a named
   episode of the real history in ``../shared/data`` with ``--history real``) is one block in
   which every feed publishes its close; the keeper then processes the head block.
5. **Venue**: when the registry says an account is liquidatable, the venue executes the
   liquidation engine's partial plan and posts the new commitment; mid-episode one healthy
   account and one stressed account ask to withdraw collateral. The keeper proves the
   changed leaves, and ``canWithdraw`` decides.
6. **Checks** after every block: for every account, ``isLiquidatable`` and ``canWithdraw``
   read on-chain must equal what the Python fixed-point model says (tier 3; tier <= 1).

The report: blocks processed, proofs verified on-chain, the accounts that became
liquidatable and how they were gated and liquidated, withdrawals, time per block, gas.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import atomic
from ..chain.anvil import Anvil
from ..chain.contracts import PRICE_FEED, compile_registry, compile_verifier, generate_verifier
from ..chain.evm import http_web3
from ..chain.registry import Registry, deploy, write_deployment
from ..errors import InputError
from ..fixedpoint import MONEY_SCALE, PRICE_SCALE, QTY_SCALE
from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES, REPO_ROOT, SHARED_DATA, cache_dir
from ..risk.book import Account, Book, load_book
from ..risk.fixed_margin import AccountFx
from ..zk.config import SMALL, CircuitConfig
from ..zk.model_prove import ModelFile
from ..zk.setup import Build, cached_build
from .log import EventLog
from .loop import BlockReport, Keeper, KeeperConfig
from .model import fit_model_file, float_margin_model
from .prover_pool import ProverPool
from .replay import PriceReplayer, ReplayDay, episode_days
from .store import Store
from .venue import MemoryVenue, snapshot_from_book

DEFAULT_OUT = REPO_ROOT / "out" / "demo"
#: Replay windows: the fixture's crash (starts 2023-01-20) and a real episode (FTX, Nov 2022).
FIXTURE_WINDOW = ("2023-01-17", 8)
REAL_WINDOW = ("2022-11-05", 14)
DEFAULT_COLLATERAL = ("USDC", "BTC")
#: Accounts the demo adds to the fixture book: BTC-collateralised, so the small circuit's
#: sub-book (one stablecoin and BTC as collateral) holds cross-collateralised accounts.
DEMO_ACCOUNTS = (
    Account("btc_backed_long", {"BTC-PERP": 2.0}, {"BTC": 1.0, "USDC": 5000.0}),
    Account("btc_backed_eth_short", {"ETH-PERP": -30.0}, {"BTC": 0.8}),
)
#: Mid-episode withdrawal requests: (replay day index, account, fraction of stablecoin).
WITHDRAWALS = ((2, "short_eth", 0.5), (5, "long_btc", 0.9))


@dataclass(frozen=True)
class DemoSettings:
    """What ``calcm demo`` runs (see the module docstring)."""

    history: str = "fixture"
    start: str | None = None
    days: int | None = None
    instruments: tuple[str, ...] | None = None
    collateral: tuple[str, ...] | None = DEFAULT_COLLATERAL
    workers: int = 2
    processes: bool = True
    scheduler: str | None = None
    model_mode: str = "auto"
    out_dir: Path = DEFAULT_OUT
    max_age: int = 64
    refresh_blocks: int = 32
    near_mm_buffer: float = 0.10
    venue_actions: bool = True
    demo_accounts: bool = True
    config: CircuitConfig = SMALL

    def window(self) -> tuple[str, int]:
        start, days = FIXTURE_WINDOW if self.history == "fixture" else REAL_WINDOW
        return self.start or start, self.days or days


def demo_salt(account_id: str) -> int:
    """A deterministic 248-bit salt for a demo account (public: demo only)."""
    return int.from_bytes(hashlib.sha256(f"calcm-demo-salt:{account_id}".encode()).digest()[:31], "big")


def load_history(history: str):
    """The market data: the bundled fixture, or the real history beside the repo."""
    from ..market import load_market
    if history == "fixture":
        return load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)
    if history != "real":
        raise InputError("command line", "--history", "-", f"{history!r}: fixture or real")
    path = SHARED_DATA / "prices" / "daily_close.csv"
    if not path.exists():
        raise InputError(str(path), "-", "-", "real price history not found (needs ../shared/data)")
    return load_market(path)


def demo_book(book: Book, collateral) -> Book:
    """The fixture book plus the demo accounts whose assets the sub-book holds."""
    extra = [replace(a, salt=demo_salt(a.id)) for a in DEMO_ACCOUNTS
             if collateral and set(a.collateral) <= set(collateral)
             and set(a.positions) <= set(book.instrument_ids)]
    return Book(book.instruments, book.collateral, tuple(book.accounts) + tuple(extra), book.source)


def account_kind(acc: AccountFx, params) -> str:
    """hedged / directional / option seller / cross-collateralised / idle, from holdings."""
    kinds = []
    signs = {np.sign(q) for q in acc.qty if q}
    if any(q < 0 and params.instruments[i].is_option for i, q in enumerate(acc.qty)):
        kinds.append("option seller")
    if len(signs) > 1:
        kinds.append("hedged")
    elif signs:
        kinds.append("directional")
    if any(c and params.collateral[j].underlying >= 0 for j, c in enumerate(acc.collateral)):
        kinds.append("cross-collateralised")
    return ", ".join(kinds) or "idle"


def verifier_artifact(build: Build, name: str):
    """The compiled Groth16 verifier of ``build`` (exported once per zkey, cached)."""
    sha = build.manifest["zkey"]["sha256"][:16]
    d = cache_dir() / "keeper" / "verifiers"
    path = d / f"{name}_{sha}.sol"
    if not path.exists():
        generate_verifier(build.zkey, path.stem, d)
    return compile_verifier(path)


def model_build_for(params, mode: str, notes: list[str]) -> Build | None:
    """The model-update build of ``params``, or None for attested mode (``auto``: when the
    circuit needs a powers of tau above the locally generated ones)."""
    if mode == "attest":
        return None
    from ..zk.model_circuit import ModelCircuitConfig
    from ..zk.model_prove import model_build
    try:
        build, _ = model_build(ModelCircuitConfig.from_params(params))
        return build
    except InputError as exc:
        if mode == "prove" or exc.field != "power":
            raise
        notes.append(f"model updates attested, not proven: {exc.message}")
        return None


@dataclass
class World:
    """Everything the demo (and the keeper tests and benchmark) runs against."""

    node: Anvil
    w3: object
    reg: Registry
    deployment: object
    model: ModelFile
    venue: MemoryVenue
    margin_build: Build
    model_build: Build | None
    replayer: PriceReplayer
    days: list[ReplayDay]
    kinds: dict[str, str]
    book: Book
    notes: list[str] = field(default_factory=list)

    @property
    def config(self) -> CircuitConfig:
        return self.margin_build.config

    def post_root(self, changed: list[int]):
        """The venue posts the root of its current book (``changed``: the leaves that changed)."""
        snap = self.venue.snapshot()
        return self.reg.post_accounts_root(snap.tree(self.config).root, changed)

    def close(self) -> None:
        self.node.stop()


def check_window(market, start: str, days: int) -> None:
    """The replay window lies in the market data, with history before it (InputError)."""
    d0 = np.datetime64(start, "D")
    i0 = int(np.searchsorted(market.dates, d0))
    if days < 1 or i0 >= len(market.dates) or market.dates[i0] != d0 or i0 + days > len(market.dates):
        raise InputError(str(market.source), f"window {start} + {days} days", "--start/--days",
                         f"must lie within {market.dates[0]} .. {market.dates[-1]}")


def build_world(s: DemoSettings, market=None, book: Book | None = None,
                log=lambda msg: None, node: Anvil | None = None) -> World:
    """Fit, build, start anvil (or use ``node``, started), deploy, register the venue's
    accounts and post the root."""
    start, days = s.window()
    market = market if market is not None else load_history(s.history)
    check_window(market, start, days)
    log(f"fitting the model on {market.source} up to {start} (genesis: the state of the day before)")
    book = book or load_book(DEFAULT_BOOK)
    if s.demo_accounts:
        book = demo_book(book, s.collateral)
    mf, sub, skipped = fit_model_file(market.upto(start), book, s.config, s.instruments,
                                      s.collateral)
    episode = episode_days(market, mf.params.assets, start, days)
    notes: list[str] = []
    log("loading the circuit builds (cached; the first run compiles and sets them up)")
    margin_build = cached_build(s.config)
    model_build = model_build_for(mf.params, s.model_mode, notes)
    node = node or Anvil().start()
    try:
        w3 = http_web3(node.url)
        log(f"anvil on {node.url}: deploying the verifiers, the registry and the price feeds")
        reg, dep = deploy(
            w3, verifier_artifact(margin_build, "MarginVerifier"), n_assets=mf.params.n_assets,
            group_size=s.config.N,
            model_verifier=verifier_artifact(model_build, "ModelVerifier") if model_build else None,
            initial_prices=[p / PRICE_SCALE for p in mf.state.price],
            param_hash=mf.params.param_hash(), genesis_state=mf.state.commitment(),
            max_age=s.max_age, rpc=node.url, embedded=True,
            builds={"margin": {"dir": str(margin_build.dir), "manifest_sha256": margin_build.manifest_hash},
                    "model": str(model_build.dir) if model_build else None})
        snap = snapshot_from_book(book, mf.params, s.config)
        venue = MemoryVenue(snap)
        for leaf, owner in enumerate(snap.owners):
            reg.register_account(owner, leaf)
        reg.post_accounts_root(snap.tree(s.config).root, list(range(len(snap.accounts))))
        replayer = PriceReplayer(w3, dep.price_feeds, reg.roles.governance,
                                 compile_registry()[PRICE_FEED].abi)
        kinds = {n: account_kind(a, mf.params) for n, a in zip(snap.names, snap.accounts)}
        notes += [f"left out {a}: {r}" for a, r in skipped]
        return World(node, w3, reg, dep, mf, venue, margin_build, model_build, replayer, episode,
                     kinds, book, notes)
    except BaseException:
        node.stop()
        raise


# ---------------------------------------------------------------------- checks and venue


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


def liquidate(world: World, keeper: Keeper, names: list[str], day: str) -> list[dict]:
    """The venue's partial liquidations of ``names`` (the engine's plan on the float model of
    the registry's latest model block); posts the new commitments; returns the plans."""
    from ..liquidation import LiquidationEngine
    _, parent, prices = keeper.tracker.margin_model(int(world.reg.f.stateCommitment().call()))
    engine = LiquidationEngine(float_margin_model(world.model.params, parent, prices))
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


# ---------------------------------------------------------------------- the run


def run_demo(s: DemoSettings, log: EventLog, say=print) -> dict:
    """Run the demo (see the module docstring); returns the report (also written to
    ``out_dir/report.json``)."""
    t_start = time.perf_counter()
    out = Path(s.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "keeper.sqlite"
    for p in out.glob("keeper.sqlite*"):
        p.unlink()  # a demo always starts on a fresh chain
    world = build_world(s, log=say)
    t_ready = time.perf_counter()
    try:
        write_deployment(out / "deployment.json", world.deployment)
        atomic.write_json(out / "model.json", world.model.to_json())
        cfg = KeeperConfig(refresh_blocks=s.refresh_blocks, near_mm_buffer=s.near_mm_buffer,
                           model_mode=s.model_mode)
        say(f"starting {s.workers} dask prover workers"
            + (f" on {s.scheduler}" if s.scheduler else " (embedded LocalCluster)"))
        with ProverPool(s.scheduler, s.workers, s.processes) as pool, Store(state_path) as store:
            keeper = Keeper(world.w3, world.reg, store, world.model, world.venue,
                            world.margin_build, world.model_build, pool, cfg, log,
                            state_dir=out / "proofs")
            return _replay(s, world, keeper, store, log, say, t_start, t_ready, out)
    finally:
        world.close()


def _replay(s, world, keeper, store, log, say, t_start, t_ready, out) -> dict:
    names = world.venue.snapshot().names
    timeline = {n: [] for n in names}
    became, plans, withdrawals, gate_rows, block_reports = {}, [], [], [], []
    gating_failures = []
    say(f"replaying {len(world.days)} days from {world.days[0].date}: "
        f"{len(names)} accounts, mode {keeper.mode}")

    def step_and_check(day: ReplayDay, why: str) -> BlockReport | None:
        rep = keeper.step()
        if rep is None or rep.status != "processed":
            return rep
        block_reports.append({"date": day.date, "why": why, **{k: getattr(rep, k) for k in (
            "block", "model", "model_block", "accounts", "proven", "groups", "liquidatable",
            "prove_seconds", "submit_seconds", "total_seconds", "gas_used", "reasons",
            "tier_mismatch")}})
        rows = gating(world, rep)
        gate_rows.append({"date": day.date, "block": rep.block, "rows": rows})
        gating_failures.extend({"date": day.date, "block": rep.block, **r} for r in rows if not r["ok"])
        return rep

    for d, day in enumerate(world.days):
        t_day = time.time()
        block = world.replayer.publish(day.prices)
        rep = step_and_check(day, "prices")
        if rep is None:
            continue
        if rep.status == "skipped":
            say(f"{day.date}: block {block} skipped: {rep.reason}")
            continue
        for n in names:
            timeline[n].append(rep.tiers.get(n))
            if rep.tiers.get(n) == 3 and n not in became:
                became[n] = {"date": day.date, "block": rep.block}
        latency = (rep.mined_at or time.time()) - t_day
        block_reports[-1]["latency_seconds"] = round(latency, 3)
        if not s.venue_actions:
            continue
        liquidatable = [r["account"] for r in gate_rows[-1]["rows"] if r["liquidatable"]]
        requests = [(n, f) for (k, n, f) in WITHDRAWALS if k == d and n in names]
        pending = []
        for n, f in requests:
            leaf, before = request_withdrawal(world, n, f)
            pending.append((n, f, leaf, before))
        if liquidatable:
            plans += liquidate(world, keeper, liquidatable, day.date)
        if pending or liquidatable:
            rep2 = step_and_check(day, "venue")
            refused = []
            for n, f, leaf, before in pending:
                allowed = world.reg.health(world.venue.snapshot().owners[leaf])["can_withdraw"]
                withdrawals.append({"account": n, "date": day.date, "fraction": f,
                                    "tier_after": rep2.tiers.get(n) if rep2 else None,
                                    "can_withdraw": allowed,
                                    "outcome": "paid out" if allowed else "refused"})
                if allowed:
                    world.venue.update(leaf, withdrawal=False)
                else:  # refused: the venue restores the account and posts it again
                    world.venue.update(leaf, before, withdrawal=False)
                    refused.append(leaf)
            if refused:
                world.post_root(refused)
                step_and_check(day, "restore")
            for p in plans:
                if p["day"] == day.date and rep2 is not None:
                    p["tier_after"] = rep2.tiers.get(p["account"])
    return _report(s, world, keeper, store, timeline, became, plans, withdrawals, block_reports,
                   gating_failures, gate_rows, t_start, t_ready, out, say)


def _report(s, world, keeper, store, timeline, became, plans, withdrawals, block_reports,
            gating_failures, gate_rows, t_start, t_ready, out, say) -> dict:
    reg = world.reg
    ev = reg.contract.events
    model_events = ev.ModelUpdated().get_logs(from_block=0)
    batch_events = ev.MarginBatchRecorded().get_logs(from_block=0)
    counts = store.counts()
    busy = [b for b in block_reports if b["groups"] or b["model"] in ("prove", "attest")]
    mined = store.submissions("mined")
    gas = {k: [x.gas_used for x in mined if x.kind == k and x.gas_used] for k in ("model", "margin")}
    snap = world.venue.snapshot()
    accounts = []
    for n in snap.names:
        accounts.append({"account": n, "kind": world.kinds[n], "tiers": timeline[n],
                         "became_liquidatable": became.get(n),
                         "gated": all(r["ok"] for g in gate_rows for r in g["rows"] if r["account"] == n),
                         "liquidations": [p for p in plans if p["account"] == n]})
    report = {
        "kind": "calcm-demo-report",
        "history": s.history, "window": {"start": world.days[0].date, "days": len(world.days)},
        "model_mode": keeper.mode, "workers": keeper.pool.n_workers,
        "circuit": world.config.name, "group_size": world.config.N,
        "registry": reg.address, "chain_id": keeper.chain_id,
        "blocks": {"replayed_days": len(world.days), "processed": counts["blocks"].get("processed", 0),
                   "skipped": counts["blocks"].get("skipped", 0),
                   "coalesced": counts["blocks"].get("coalesced", 0),
                   "last": store.last_block()},
        "proofs_verified_on_chain": {
            "model_updates": sum(1 for e in model_events if e.args.proven),
            "model_updates_attested": sum(1 for e in model_events if not e.args.proven),
            "margin_batches": len(batch_events),
            "accounts_covered": sum(b["proven"] for b in block_reports)},
        "submissions": counts["submissions"],
        "gating": {"checks": sum(len(g["rows"]) for g in gate_rows), "failures": gating_failures},
        "accounts": accounts,
        "became_liquidatable": [{"account": n, **v} for n, v in became.items()],
        "liquidations": plans, "withdrawals": withdrawals,
        "float_vs_fixed_tier_mismatches": sum(len(b["tier_mismatch"]) for b in block_reports),
        "time": {"setup_seconds": round(t_ready - t_start, 2),
                 "total_seconds": round(time.perf_counter() - t_start, 2),
                 "per_block_mean_seconds": round(float(np.mean([b["total_seconds"] for b in busy])), 3)
                 if busy else None,
                 "per_block_max_seconds": max((b["total_seconds"] for b in busy), default=None),
                 "prove_mean_seconds": round(float(np.mean([b["prove_seconds"] for b in busy])), 3)
                 if busy else None,
                 "latency_mean_seconds": round(float(np.mean(
                     [b["latency_seconds"] for b in block_reports if "latency_seconds" in b])), 3)
                 if block_reports else None},
        "gas_anvil": {k: {"count": len(v), "mean": round(float(np.mean(v))) if v else None}
                      for k, v in gas.items()},
        "blocks_detail": block_reports,
        "skipped_accounts": world.notes,
        "money_scale": MONEY_SCALE,
    }
    atomic.write_json(out / "report.json", report)
    return report
