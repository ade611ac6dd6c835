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

import hashlib
import math
import os
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import atomic
from ..chain.anvil import Anvil
from ..chain.contracts import PRICE_FEED, compile_registry, compile_verifier
from ..chain.deployment import ModelVerifiers, deploy, write_deployment
from ..chain.evm import http_web3, set_next_timestamp
from ..chain.registry import Registry
from ..errors import InputError
from ..fixedpoint import MONEY_SCALE, PRICE_SCALE, QTY_SCALE, VAR_FRAC
from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES, REPO_ROOT, SHARED_DATA
from ..risk.book import Book, load_book
from ..risk.fixed_margin import AccountFx
from ..zk.model_prove import ModelFile
from .log import EventLog
from .loop import BlockReport, Keeper, KeeperConfig
from .model import float_version_model, model_file_from_published
from .prover_pool import ProverPool
from .proving import CircuitBuilds, CircuitProvers, setup_builds
from .replay import PriceReplayer, ReplayDay, episode_days
from .store import Store
from .venue import MemoryVenue, snapshot_from_book

DEFAULT_OUT = REPO_ROOT / "out" / "demo"
DAY = 86400
#: Replay windows: the fixture's crash (starts 2023-01-20) and a real episode (FTX, Nov 2022).
FIXTURE_WINDOW = ("2023-01-19", 3)
REAL_WINDOW = ("2022-11-05", 14)
#: Mid-episode withdrawal requests: (replay day index, account, fraction of stablecoin).
WITHDRAWALS = ((1, "short_eth", 0.5), (1, "long_btc", 0.9))
#: Seconds after midnight UTC at which a day's close is published (the first round after it).
CLOSE_AT = 30


@dataclass(frozen=True)
class Profile:
    """A demo run's published parameter set: a named risk profile, or explicit FHS count and
    option chunks C (tests: tiny shapes). C = None is the published default
    (:func:`calcm.risk.modelfx.default_chunks`)."""

    name: str
    n_fhs: int | None = None
    chunks: int | None = None
    n_extreme: int = 5


#: ``published``: the published parameters (S = 534, C = 6); ``fast``: the risk stage's ``fast``
#: profile (20 FHS days, S = 54, C = 1), published as the demo's own parameter set (not a refit):
#: ``calcm margin --profile fast`` prints exactly what the demo's chain holds.
PROFILES = {name: Profile(name) for name in ("published", "fast")}


@dataclass(frozen=True)
class DemoSettings:
    """What ``calcm demo`` runs (see the module docstring)."""

    history: str = "fixture"
    start: str | None = None
    days: int | None = None
    profile: str = "fast"
    intraday: int = 2
    group_size: int = 4
    workers: int = 2
    processes: bool = True
    scheduler: str | None = None
    backend: str = "auto"
    out_dir: Path = DEFAULT_OUT
    max_age: int = 64
    refresh_blocks: int = 32
    max_price_age: int = 3600
    option_max_age: int = DAY
    near_mm_buffer: float = 0.10
    venue_actions: bool = True
    scenarios: Profile | None = None      # overrides the profile (tests: tiny shapes)

    def window(self) -> tuple[str, int]:
        start, days = FIXTURE_WINDOW if self.history == "fixture" else REAL_WINDOW
        return self.start or start, self.days or days

    @property
    def parameters(self) -> Profile:
        if self.scenarios is not None:
            return self.scenarios
        if self.profile not in PROFILES:
            raise InputError("command line", "--profile", "-",
                             f"{self.profile!r}: one of {', '.join(PROFILES)}")
        return PROFILES[self.profile]


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


def verifier_artifact(build_dir: str):
    """The compiled Groth16 verifier a build ships (``verifier.sol``)."""
    from ..zk.setup import Build
    return compile_verifier(Build.load(build_dir).verifier_sol)


class DatedAnvil(Anvil):
    """An anvil whose genesis block is dated ``timestamp`` (the replay's calendar; the first
    transaction's block must be dated explicitly too, see :func:`build_world`)."""

    def __init__(self, timestamp: int, **kw):
        super().__init__(**kw)
        self.timestamp = timestamp

    def command(self) -> list[str]:
        return super().command() + ["--timestamp", str(self.timestamp)]


@dataclass
class World:
    """Everything the demo (and the keeper tests and benchmark) runs against."""

    node: Anvil
    w3: object
    reg: Registry
    deployment: object
    model: ModelFile
    venue: MemoryVenue
    builds: CircuitBuilds
    provers: CircuitProvers
    replayer: PriceReplayer
    days: list[ReplayDay]
    kinds: dict[str, str]
    book: Book
    genesis_day: int
    notes: list[str] = field(default_factory=list)

    @property
    def config(self):
        return self.provers.margin_config

    def post_root(self, changed: list[int]):
        """The venue posts the root of its current book (``changed``: the leaves that changed)."""
        snap = self.venue.snapshot()
        return self.reg.post_accounts_root(snap.tree(self.config).root, changed)

    def publish_at(self, ts: int, prices_usd) -> int:
        """Every feed's new answer in one block dated ``ts``; returns the block."""
        set_next_timestamp(self.w3, ts)
        return self.replayer.publish(prices_usd)

    def day_start(self, d: int) -> int:
        """00:00 UTC of replay day ``d`` (day 0: the genesis close's next day)."""
        return (self.genesis_day + 1 + d) * DAY

    def publish_close(self, d: int) -> int:
        """Replay day ``d``'s close, as the first round after 00:00 UTC of the next day."""
        return self.publish_at(self.day_start(d + 1) + CLOSE_AT, self.days[d].prices)

    def publish_intraday(self, d: int, j: int, prices_usd) -> int:
        """An intraday round ``j`` hours into replay day ``d``."""
        return self.publish_at(self.day_start(d) + 3600 * j, prices_usd)

    def close(self) -> None:
        self.node.stop()


def check_window(market, start: str, days: int) -> None:
    """The replay window lies in the market data, with history before it (InputError)."""
    d0 = np.datetime64(start, "D")
    i0 = int(np.searchsorted(market.dates, d0))
    if days < 1 or i0 < 1 or i0 >= len(market.dates) or market.dates[i0] != d0 or \
            i0 + days > len(market.dates):
        raise InputError(str(market.source), f"window {start} + {days} days", "--start/--days",
                         f"must lie within {market.dates[1]} .. {market.dates[-1]}")


def published_for(s: DemoSettings, market, book: Book, start: str):
    """The published model of ``book`` for the run's profile, on the market up to ``start``."""
    from ..risk.model import parameter_profile
    from ..risk.published import published_model
    prof = s.parameters
    p = parameter_profile(prof.name if prof.name in PROFILES else "published")
    if prof.n_fhs is not None:
        p = replace(p, scenarios=replace(p.scenarios, n_fhs=prof.n_fhs, n_extreme=prof.n_extreme))
    return published_model(market.upto(start), book, p, chunks=prof.chunks)


def build_world(s: DemoSettings, market=None, book: Book | None = None,
                log=lambda msg: None, progress=None, node_factory=None) -> World:
    """Publish the model, set up the builds, start a dated anvil, deploy, register the venue's
    accounts and post the root. ``progress(kind, phase)``: see :func:`setup_builds`;
    ``node_factory(timestamp)``: an unstarted :class:`DatedAnvil` (default: a fresh one)."""
    start, days = s.window()
    market = market if market is not None else load_history(s.history)
    check_window(market, start, days)
    book = book or load_book(DEFAULT_BOOK)
    book = Book(book.instruments, book.collateral,
                tuple(a if a.salt else replace(a, salt=demo_salt(a.id)) for a in book.accounts),
                book.source)
    log(f"publishing the model of the whole book ({len(book.accounts)} accounts, "
        f"{len(book.instruments)} instruments) on {market.source} up to {start}")
    pm = published_for(s, market, book, start)
    params = pm.params
    mf = model_file_from_published(pm, {"asof": start, "profile": s.profile,
                                        "source": str(market.source)})
    episode = episode_days(market, params.assets, start, days)
    log(f"S = {params.n_scenarios}, k = {params.k_tail}, {params.n_options} options x "
        f"{params.chunks} chunks: setting up the circuits (cached by source hash)")
    builds = setup_builds(params, pm.model, len(book.accounts), s.group_size, progress)
    provers = CircuitProvers(params, builds, s.backend)
    genesis_day = mf.state.day
    t0 = (genesis_day + 1) * DAY + CLOSE_AT
    node = (node_factory or DatedAnvil)(t0).start()
    try:
        w3 = http_web3(node.url)
        # anvil dates later blocks by the wall clock plus an offset that only a set timestamp
        # moves: pin the calendar here, and every later block follows from it.
        set_next_timestamp(w3, t0 + 1)
        log(f"anvil on {node.url} dated {start} 00:00 UTC: deploying the verifiers, the registry, feeds")
        mv = ModelVerifiers(verifier_artifact(builds.step), verifier_artifact(builds.reval),
                            verifier_artifact(builds.option) if builds.option else None)
        reg, dep = deploy(
            w3, verifier_artifact(builds.margin), n_assets=params.n_assets, group_size=s.group_size,
            model_verifiers=mv, n_parts=params.n_options * params.chunks,
            initial_prices=[p / PRICE_SCALE for p in mf.state.price], prices_at=t0,
            param_hash=params.param_hash(), genesis_state=mf.state.commitment(),
            genesis_day=genesis_day, max_age=s.max_age, max_price_age=s.max_price_age,
            option_max_age=s.option_max_age, rpc=node.url, embedded=True,
            builds={k: v for k, v in builds.dirs().items()})
        snap = snapshot_from_book(book, params, provers.margin_config)
        venue = MemoryVenue(snap)
        for leaf, owner in enumerate(snap.owners):
            reg.register_account(owner, leaf)
        reg.post_accounts_root(snap.tree(provers.margin_config).root, list(range(len(snap.accounts))))
        replayer = PriceReplayer(w3, dep.price_feeds, reg.roles.governance,
                                 compile_registry()[PRICE_FEED].abi)
        kinds = {n: account_kind(a, params) for n, a in zip(snap.names, snap.accounts)}
        notes = [f"{k} circuit: {sec}" for k, sec in builds.security().items()]
        return World(node, w3, reg, dep, mf, venue, builds, provers, replayer, episode, kinds,
                     book, genesis_day, notes)
    except BaseException:
        node.stop()
        raise


def intraday_path(prev: tuple[float, ...], close: tuple[float, ...], k: int, sigma2,
                  seed: str) -> list[tuple[float, ...]]:
    """``k`` SYNTHETIC intraday prices between two daily closes: a Brownian bridge in log
    price from ``prev`` to ``close`` over ``k + 1`` equal steps, each asset's step variance
    its daily variance ``sigma2`` (2**48 scale) / (k + 1), seeded by ``seed``
    (deterministic). The bridge is pinned at both ends, so the path ends at the close."""
    rng = random.Random(seed)
    out = [[0.0] * len(prev) for _ in range(k)]
    for u, (a, b) in enumerate(zip(prev, close)):
        sd = math.sqrt(max(sigma2[u], 0) / 2**VAR_FRAC / (k + 1))
        w = [0.0]
        for _ in range(k + 1):
            w.append(w[-1] + rng.gauss(0.0, sd))
        for j in range(1, k + 1):
            f = j / (k + 1)
            out[j - 1][u] = a * (b / a) ** f * math.exp(w[j] - f * w[k + 1])
    return [tuple(x) for x in out]


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


# ---------------------------------------------------------------------- the run


def run_demo(s: DemoSettings, log: EventLog, say=print, progress=None,
             book: Book | None = None) -> dict:
    """Run the demo (see the module docstring); returns the report (also written to
    ``out_dir/report.json``). ``book``: another book than the bundled one (tests)."""
    t_start = time.perf_counter()
    out = Path(s.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "keeper.sqlite"
    for p in out.glob("keeper.sqlite*"):
        p.unlink()  # a demo always starts on a fresh chain
    world = build_world(s, book=book, log=say, progress=progress)
    t_ready = time.perf_counter()
    try:
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
        self.step(w.days[0].date, "genesis")
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
        w, keeper, store = self.world, self.keeper, self.store
        ev = w.reg.contract.events
        n = {name: len(getattr(ev, name)().get_logs(from_block=0)) for name in (
            "ModelStepped", "ModelRevalued", "OptionsRevalued", "OptionPartProven",
            "MarginBatchRecorded")}
        counts = store.counts()
        busy = [b for b in self.block_reports if b["groups"] or b["model"]]
        mined = store.submissions("mined")
        gas = {k: [x.gas_used for x in mined if x.kind == k and x.gas_used]
               for k in ("step", "reval", "option", "margin")}
        snap = w.venue.snapshot()
        p = w.model.params
        accounts = [{"account": a, "kind": w.kinds[a], "tiers": self.timeline[a],
                     "became_liquidatable": self.became.get(a),
                     "gated": all(r["ok"] for g in self.gate_rows for r in g["rows"] if r["account"] == a),
                     "liquidations": [x for x in self.plans if x["account"] == a]}
                    for a in snap.names]

        def mean(xs):
            return round(float(np.mean(xs)), 3) if xs else None
        report = {
            "kind": "calcm-demo-report",
            "history": self.s.history, "window": {"start": w.days[0].date, "days": len(w.days)},
            "profile": self.s.profile, "parameters": {
                "S": p.n_scenarios, "k": p.k_tail, "U": p.n_assets, "instruments": p.n_instruments,
                "options": p.n_options, "chunks": p.chunks, "option_parts": p.n_options * p.chunks,
                "param_hash": str(p.param_hash())},
            "intraday_rounds_per_day": self.s.intraday, "intraday_prices": "synthetic (Brownian bridge)",
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
                "accounts_covered": sum(b["proven"] for b in self.block_reports)},
            "submissions": counts["submissions"],
            "gating": {"checks": sum(len(g["rows"]) for g in self.gate_rows), "failures": self.failures},
            "accounts": accounts,
            "became_liquidatable": [{"account": a, **v} for a, v in self.became.items()],
            "liquidations": self.plans, "withdrawals": self.withdrawals,
            "float_vs_fixed_tier_mismatches": sum(len(b["tier_mismatch"]) for b in self.block_reports),
            "time": {"setup_seconds": round(t_ready - t_start, 2),
                     "replay_seconds": round(time.perf_counter() - t_ready, 2),
                     "total_seconds": round(time.perf_counter() - t_start, 2),
                     "per_block_mean_seconds": mean([b["total_seconds"] for b in busy]),
                     "per_block_max_seconds": max((b["total_seconds"] for b in busy), default=None),
                     "prove_mean_seconds": mean([b["prove_seconds"] for b in busy]),
                     "prove_cpu_seconds_total": round(sum(b["prove_cpu_seconds"] for b in busy), 1),
                     "load_average_1min": [round(x, 2) for x in self.load] + [round(os.getloadavg()[0], 2)],
                     "latency_mean_seconds": mean([b["latency_seconds"] for b in self.block_reports])},
            "gas_anvil": {k: {"count": len(v), "mean": round(float(np.mean(v))) if v else None}
                          for k, v in gas.items()},
            "blocks_detail": self.block_reports,
            "notes": w.notes,
            "money_scale": MONEY_SCALE,
        }
        atomic.write_json(out / "report.json", report)
        return report
