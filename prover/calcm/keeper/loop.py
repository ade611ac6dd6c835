"""The per-block loop: read prices, update the model, select, prove, submit, record.

:meth:`Keeper.step` looks at the chain's head ``H`` once:

1. **reorg check**: the stored hash of the last block accounted for must still be the
   chain's; otherwise the keeper rolls back to the fork point, reopens the submissions
   mined above it and carries on (the registry's state tells what to prove again);
2. blocks between the last one accounted for and ``H`` are recorded as ``coalesced``: the
   keeper always acts on the newest state (a proof is only accepted for the latest model
   block), and every block number stays accounted for;
3. **prices** at ``H`` (:mod:`.feed`); a stale or malformed answer skips ``H`` with the
   reason, and nothing is submitted;
4. **model**: a new feed round since the state the registry holds (or a latest model block
   about to leave the ``maxAge`` window) means a model update for block ``H``; otherwise the
   margin model of the registry's latest model block is recomputed from the store;
5. **margins** of every account, fixed point (what is proven) and float (reported beside
   it), and the **selection** (:mod:`.selection`) of the groups to prove;
6. **proving** on dask: the model update and all selected groups at once;
7. **submission**: the model update first, then each batch, each after a last check of the
   registry (``latestModelBlock``, ``rootVersion``, ``accountsRoot``, the scenario and the
   group's record), so a proof built on stale or superseded state is never sent;
8. the block is recorded ``processed`` with its report.

Idempotency: every submission has the registry's replay key (:mod:`.store`); the chain is
checked for the key's effect before every send, and a transport error during a send is
followed by that check rather than a blind re-send. A kill at any point therefore loses
nothing (the next step re-derives the work from the chain) and sends nothing twice.

Fault injection for the crash tests: ``CALCM_KEEPER_FAULT=kill-after-send:K`` kills the
process with SIGKILL right after the K-th submission is mined and before the keeper records
it, the worst moment for idempotency.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from web3 import Web3

from ..chain.registry import Registry, RegistryRevert, SubmissionError, submit_proof_dir
from ..errors import InputError
from ..fixedpoint import FixedPointRangeError, QTY_SCALE
from ..risk.fixed_margin import margin_fx
from ..risk.margin import PortfolioMargin
from ..zk.model_prove import ModelFile
from ..poseidon import model_commitment
from ..zk.setup import Build
from ..zk.witness import group_accounts
from .feed import FeedReader, PriceRejected
from .log import EventLog
from .metrics import Metrics
from .model import ModelStateUnknown, ModelTracker, float_margin_model
from .prover_pool import ProofResult, ProverPool, prove_margin_task, prove_model_task
from .retry import Backoff, RpcUnavailable, retrying
from .selection import GroupRecord, LeafState, SelectionPolicy, select
from .store import Store, margin_key, model_key
from .venue import VenueSource

FAULT_ENV = "CALCM_KEEPER_FAULT"
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class KeeperConfig:
    """Keeper settings (data).

    max_price_age:   seconds; older feed answers skip the block.
    refresh_blocks:  rolling refresh period N (< the registry's maxAge).
    near_mm_buffer:  equity within this fraction above MM is proven every epoch.
    model_mode:      "auto" (prove when the registry has a model verifier, else attest),
                     "prove" or "attest".
    model_margin:    a model update is forced when the latest model block is this many
                     blocks from leaving the maxAge window (proofs must still land in it).
    poll_seconds:    sleep between head polls when there is nothing new.
    """

    max_price_age: int = 3600
    refresh_blocks: int = 16
    near_mm_buffer: float = 0.10
    model_mode: str = "auto"
    model_margin: int = 4
    poll_seconds: float = 1.0
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self):
        if self.model_mode not in ("auto", "prove", "attest"):
            raise ValueError("model_mode must be auto, prove or attest")
        if self.max_price_age <= 0:
            raise ValueError("max_price_age must be positive")
        SelectionPolicy(self.near_mm_buffer, self.refresh_blocks)

    @property
    def policy(self) -> SelectionPolicy:
        return SelectionPolicy(self.near_mm_buffer, self.refresh_blocks)


@dataclass
class BlockReport:
    """What one step did (the per-block line and the ``report`` stored with the block)."""

    block: int
    hash: str
    status: str = "processed"
    reason: str | None = None
    accounts: int = 0
    proven: int = 0
    groups: int = 0
    liquidatable: int = 0
    model: str | None = None
    model_block: int | None = None
    prices: dict | None = None
    reasons: dict = field(default_factory=dict)
    tiers: dict = field(default_factory=dict)
    float_tiers: dict = field(default_factory=dict)
    tier_mismatch: list = field(default_factory=list)
    submissions: list = field(default_factory=list)
    prove_seconds: float = 0.0
    submit_seconds: float = 0.0
    total_seconds: float = 0.0
    gas_used: int = 0
    coalesced: int = 0
    seen_at: float = 0.0
    mined_at: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ChainView:
    """The registry's state at one block."""

    block: int
    state_commitment: int
    latest_model_block: int
    latest_scenario: int
    accounts_root: int
    root_version: int


class Keeper:
    """One keeper: a registry, its feeds, a venue book, builds, a prover pool, a store.

    ``keeper_address``: the sending account (default: the registry's first keeper role in
    ``reg.roles``); attested model updates are sent from ``reg.roles.governance``.
    """

    def __init__(self, w3: Web3, reg: Registry, store: Store, model: ModelFile,
                 venue: VenueSource, margin_build: Build, model_build: Build | None,
                 pool: ProverPool, config: KeeperConfig = KeeperConfig(),
                 log: EventLog | None = None, metrics: Metrics | None = None,
                 state_dir: Path | None = None):
        from ..chain.contracts import PRICE_FEED, compile_registry
        self.w3, self.reg, self.store, self.venue = w3, reg, store, venue
        self.margin_build, self.model_build, self.pool, self.config = (margin_build, model_build,
                                                                       pool, config)
        self.log = log or EventLog(quiet=True)
        self.metrics = metrics or Metrics()
        self.state_dir = Path(state_dir or store.path.parent / (store.path.stem + "-proofs"))
        self.cfg = margin_build.config
        self.tracker = ModelTracker(model, store)
        self.params = model.params
        f = reg.f
        self.chain_id = self._rpc(lambda: w3.eth.chain_id, "eth_chainId")
        self.group_size = int(self._rpc(lambda: f.groupSize().call(), "groupSize"))
        self.max_age = int(self._rpc(lambda: f.maxAge().call(), "maxAge"))
        reg_price_age = int(self._rpc(lambda: f.maxPriceAge().call(), "maxPriceAge"))
        feeds = list(self._rpc(lambda: f.priceFeeds().call(), "priceFeeds"))
        model_verifier = self._rpc(lambda: f.modelVerifier().call(), "modelVerifier")
        on_chain_hash = int(self._rpc(lambda: f.paramHash().call(), "paramHash"))
        self.deploy_block = int(self._rpc(lambda: self._first_block(), "deploy block"))
        self._check_setup(feeds, model_verifier, on_chain_hash)
        self.mode = ("prove" if model_verifier != ZERO_ADDRESS else "attest") \
            if config.model_mode == "auto" else config.model_mode
        self.feeds = FeedReader(w3, feeds, list(self.params.assets),
                                compile_registry()[PRICE_FEED].abi,
                                min(config.max_price_age, reg_price_age))
        store.bind(chain_id=str(self.chain_id), registry=reg.address,
                   param_hash=str(self.tracker.param_hash))
        self._sends = 0
        self._fault = os.environ.get(FAULT_ENV, "")
        self.stop_event = threading.Event()

    # ------------------------------------------------------------------ setup

    def _first_block(self) -> int:
        logs = self.reg.contract.events.GovernanceTransferred().get_logs(from_block=0)
        return min((lg.blockNumber for lg in logs), default=0)

    def _check_setup(self, feeds, model_verifier, on_chain_hash) -> None:
        p = self.params
        if self.group_size != self.cfg.N:
            raise InputError("registry", self.reg.address, "groupSize",
                             f"{self.group_size}, but the margin build proves groups of {self.cfg.N}")
        if len(feeds) != p.n_assets:
            raise InputError("registry", self.reg.address, "priceFeeds",
                             f"{len(feeds)} feeds for the model's {p.n_assets} assets")
        if on_chain_hash != self.tracker.param_hash:
            raise InputError("model file", "params", "param_hash",
                             f"{self.tracker.param_hash} is not the registry's {on_chain_hash}")
        if self.config.refresh_blocks >= self.max_age:
            raise InputError("command line", "--refresh-blocks", "-",
                             f"{self.config.refresh_blocks} must be below the registry's maxAge "
                             f"{self.max_age} (records expire after maxAge blocks)")
        mode = self.config.model_mode
        if mode == "prove" or (mode == "auto" and model_verifier != ZERO_ADDRESS):
            if model_verifier == ZERO_ADDRESS:
                raise InputError("registry", self.reg.address, "modelVerifier",
                                 "no model verifier: model updates can only be attested")
            if self.model_build is None:
                raise InputError("command line", "--model-build", "-",
                                 "the registry verifies model updates: a model build is needed")
        elif self.reg.roles.governance not in self.w3.eth.accounts:
            raise InputError("registry", self.reg.address, "governance",
                             "attested mode sends model updates from governance, whose key "
                             "this node does not hold")
        if self.reg.keeper not in self.w3.eth.accounts:
            raise InputError("registry", self.reg.address, "keeper",
                             f"the node holds no key for keeper {self.reg.keeper}")

    # ------------------------------------------------------------------ rpc helpers

    def _rpc(self, fn, what: str):
        def on_retry(w, exc, delay, attempt):
            self.metrics.inc("calcm_keeper_rpc_retries_total")
            self.log.emit("retry", what=w, attempt=attempt, delay=round(delay, 3),
                          error=exc.__class__.__name__)
        return retrying(fn, what, self.config.backoff, on_retry)

    def _view(self, block) -> ChainView:
        f = self.reg.f

        def read():
            kw = {"block_identifier": block}
            return ChainView(int(block) if block != "latest" else self.w3.eth.block_number,
                             int(f.stateCommitment().call(**kw)),
                             int(f.latestModelBlock().call(**kw)),
                             int(f.latestScenario().call(**kw)), int(f.accountsRoot().call(**kw)),
                             int(f.rootVersion().call(**kw)))
        return self._rpc(read, "registry state")

    # ------------------------------------------------------------------ the loop

    def run(self, max_blocks: int | None = None, until_block: int | None = None,
            idle_timeout: float | None = None) -> list[BlockReport]:
        """Step until stopped: after ``max_blocks`` processed blocks, once the head reaches
        ``until_block``, after ``idle_timeout`` seconds without a new block, or on
        :attr:`stop_event` (SIGINT/SIGTERM in the CLI)."""
        reports: list[BlockReport] = []
        idle_since = time.monotonic()
        self.log.emit("start", registry=self.reg.address, chain_id=self.chain_id, mode=self.mode,
                      workers=self.pool.n_workers, scheduler=self.pool.scheduler,
                      last_block=self.store.last_block())
        while not self.stop_event.is_set():
            try:
                rep = self.step()
            except RpcUnavailable as exc:
                # The node stayed down for a whole backoff deadline: keep waiting for it.
                self.log.emit("error", message=str(exc))
                self.stop_event.wait(self.config.poll_seconds)
                continue
            if rep is not None:
                reports.append(rep)
                idle_since = time.monotonic()
                if max_blocks is not None and len(reports) >= max_blocks:
                    break
                if until_block is not None and rep.block >= until_block:
                    break
                continue
            if idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout:
                break
            self.stop_event.wait(self.config.poll_seconds)
        self.log.emit("stop", processed=len(reports), last_block=self.store.last_block())
        return reports

    def step(self) -> BlockReport | None:
        """Process the head block if it is new (see the module docstring); None otherwise."""
        head = self._rpc(lambda: self.w3.eth.block_number, "eth_blockNumber")
        self._check_reorg(head)
        self._resolve_pending()
        last = self.store.last_block()
        if last is not None and head <= last:
            return None
        rows = []
        if last is not None and head - last > 1:
            for n in range(last + 1, head):
                h = self._rpc(lambda n=n: self.w3.eth.get_block(n).hash.hex(), "eth_getBlock")
                rows.append((n, h, "coalesced", f"covered by block {head}"))
            self.store.record_blocks(rows)
            self.metrics.inc("calcm_keeper_blocks_total", len(rows), status="coalesced")
        rep = self.process_block(head)
        rep.coalesced = len(rows)
        return rep

    def _check_reorg(self, head: int) -> None:
        last = self.store.last_block()
        if last is None:
            return
        n = min(last, head)
        if n < last:
            self.store.forget_blocks_after(n)  # the chain is shorter than what we saw
        fork = n
        while fork >= 0:
            stored = self.store.block_hash(fork)
            if stored is None:
                break
            chain = self._rpc(lambda b=fork: self.w3.eth.get_block(b).hash.hex(), "eth_getBlock")
            if chain == stored:
                break
            fork -= 1
        if fork == last:
            return
        self.store.forget_blocks_after(fork)
        reopened = 0
        for sub in self.store.reorged_submissions_after(fork):
            receipt = self._receipt(sub.tx_hash)
            if receipt is None or receipt.blockHash.hex() != sub.receipt_hash:
                self.store.update_submission(sub.key, "reorged",
                                             error=f"receipt block {sub.receipt_block} left the chain")
                reopened += 1
        self.metrics.inc("calcm_keeper_reorgs_total")
        self.log.emit("reorg", block=last, fork=fork, reopened=reopened)

    def _resolve_pending(self) -> None:
        """Settle rows a crash left open: a ``sending`` row is mined iff the chain holds its
        effect (else its proof is kept for a later send); a ``proved`` row whose epoch the
        registry has left is superseded."""
        pending = self.store.submissions("sending") + self.store.submissions("proved")
        if not pending:
            return
        view = self._view("latest")
        scratch = BlockReport(view.block, "")
        for sub in pending:
            if sub.kind == "margin":
                ev, args = self.reg.contract.events.MarginBatchRecorded, {
                    "blockNo": sub.block, "group": sub.group}
                rb, version = self._rpc(lambda g=sub.group: self.reg.f.recordOf(g).call()[1:],
                                        "recordOf")
                landed = int(rb) == sub.block and int(version) == sub.root_version
                current = sub.block == view.latest_model_block and \
                    sub.root_version == view.root_version
            else:
                # An unsent model update is never resumed: the next step updates for its head.
                ev, args = self.reg.contract.events.ModelUpdated, {"blockNo": sub.block}
                landed, current = view.latest_model_block >= sub.block, False
            if landed and self._mined_from_chain(sub.key, ev, args, scratch):
                continue
            if not current:
                self._settle(sub.key, "superseded", scratch,
                             detail=f"registry moved on (model block {view.latest_model_block}, "
                                    f"root version {view.root_version})")
            elif sub.status == "sending":
                self.store.update_submission(sub.key, "proved")

    def _receipt(self, tx_hash: str | None):
        from web3.exceptions import TransactionNotFound
        if not tx_hash:
            return None
        try:
            return self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash), "receipt")
        except TransactionNotFound:
            return None

    # ------------------------------------------------------------------ one block

    def process_block(self, number: int) -> BlockReport:
        t0 = time.perf_counter()
        blk = self._rpc(lambda: self.w3.eth.get_block(number), "eth_getBlock")
        rep = BlockReport(number, blk.hash.hex(), seen_at=time.time())
        try:
            snap = self._rpc(lambda: self.feeds.read(number, int(blk.timestamp)), "feeds")
        except PriceRejected as exc:
            return self._skip(rep, f"price {exc}", t0)
        rep.prices = snap.usd()
        view = self._view(number)
        try:
            state = self.tracker.state(view.state_commitment) or self.tracker.recover(
                self.reg, self.feeds, view.state_commitment, self.deploy_block)
        except ModelStateUnknown as exc:
            return self._skip(rep, str(exc), t0)

        # Model: a new feed round (or an expiring model block) means an update for this block.
        known_rounds = self.tracker.rounds(view.state_commitment)
        expiring = view.latest_model_block and \
            number - view.latest_model_block >= self.max_age - self.config.model_margin
        update = None
        if view.latest_model_block == 0 or known_rounds != snap.round_ids or expiring:
            try:
                update = self.tracker.advance(state, snap.prices, snap.round_ids)
            except FixedPointRangeError as exc:
                return self._skip(rep, f"model update out of range: {exc}", t0)
            model, model_block = update.model, number
            parent, prices = state, snap.prices
            rep.model = self.mode
        else:
            model, parent, prices = self.tracker.margin_model(view.state_commitment)
            model_block = view.latest_model_block
            if model_commitment(model) != view.latest_scenario:
                return self._skip(rep, "the registry's scenario commitment is not the model of its "
                                       "state (attested by someone else?)", t0)
            rep.model = "current"
        rep.model_block = model_block

        # Margins (fixed point is what is proven; float is reported beside it).
        try:
            venue = self.venue.snapshot()
        except InputError as exc:
            return self._skip(rep, f"venue book: {exc}", t0)
        rep.accounts = len(venue.accounts)
        results, leaves = {}, []
        for leaf, acc in enumerate(venue.accounts):
            try:
                results[leaf] = margin_fx(model, acc)
            except FixedPointRangeError as exc:
                self.log.emit("error", block=number, message=f"{venue.names[leaf]}: {exc}")
        rep.tiers = {venue.names[a]: r.tier for a, r in results.items()}
        rep.liquidatable = sum(1 for r in results.values() if r.tier == 3)
        rep.float_tiers = self._float_tiers(venue, parent, prices)
        rep.tier_mismatch = sorted(n for n, t in rep.float_tiers.items() if rep.tiers.get(n, t) != t)
        self.metrics.set("calcm_keeper_liquidatable_accounts", rep.liquidatable)

        tree = venue.tree(self.cfg)
        selection = None
        if tree.root != view.accounts_root:
            rep.reason = "the venue book's accounts root is not the registry's (root not posted yet?)"
        else:
            records = self._records(number, len(venue.accounts))
            for leaf, r in results.items():
                changed = int(self._rpc(lambda leaf=leaf: self.reg.f.lastChangedVersion(leaf).call(
                    block_identifier=number), "lastChangedVersion"))
                leaves.append(LeafState(leaf, r.tier, r.equity, r.mm, changed, leaf in venue.withdrawals))
            selection = select(leaves, records, self.group_size, number, model_block,
                               view.root_version, self.config.policy)
            rep.reasons = selection.reasons()

        # Prove everything of this block at once.
        tp = time.perf_counter()
        futures = {}
        if update is not None and self.mode == "prove":
            futures[model_key(number)] = self._prove_model(number, parent, prices)
        if selection is not None:
            for g in selection.group_ids:
                key = margin_key(model_block, g, view.root_version)
                fut = self._prove_margin(key, model_block, g, view.root_version, model, venue, tree)
                if fut is not None:
                    futures[key] = fut
        proofs = self._gather(futures, rep)
        rep.prove_seconds = round(time.perf_counter() - tp, 3)

        # Submit: the model update first, then the batches.
        ts = time.perf_counter()
        model_ok = True
        if update is not None:
            model_ok = self._submit_model(number, update, proofs.get(model_key(number)), rep)
        if selection is not None:
            for g in selection.group_ids:
                key = margin_key(model_block, g, view.root_version)
                if not model_ok:
                    self._settle(key, "superseded", rep, detail="model update not on chain")
                    continue
                n_real = sum(1 for a in range(g * self.group_size, (g + 1) * self.group_size)
                             if a < len(venue.accounts))
                if self._submit_margin(key, model_block, g, view.root_version, rep):
                    rep.proven += n_real
                    rep.groups += 1
                    self.metrics.inc("calcm_keeper_accounts_proven_total", n_real)
        rep.submit_seconds = round(time.perf_counter() - ts, 3)
        rep.gas_used = sum(s.get("gas_used") or 0 for s in rep.submissions)
        if any(s["status"] == "mined" for s in rep.submissions):
            rep.mined_at = time.time()
        rep.total_seconds = round(time.perf_counter() - t0, 3)
        self.store.record_block(number, rep.hash, "processed", rep.reason, rep.to_json())
        self._after_block(rep)
        return rep

    def _skip(self, rep: BlockReport, reason: str, t0: float) -> BlockReport:
        rep.status, rep.reason = "skipped", reason
        rep.total_seconds = round(time.perf_counter() - t0, 3)
        self.store.record_block(rep.block, rep.hash, "skipped", reason, rep.to_json())
        self.metrics.inc("calcm_keeper_blocks_total", status="skipped")
        self.metrics.set("calcm_keeper_last_block", rep.block)
        self.metrics.write()
        self.log.emit("skip", block=rep.block, reason=reason)
        return rep

    def _after_block(self, rep: BlockReport) -> None:
        self.metrics.inc("calcm_keeper_blocks_total", status="processed")
        self.metrics.set("calcm_keeper_last_block", rep.block)
        self.metrics.set("calcm_keeper_block_seconds", rep.prove_seconds, phase="prove")
        self.metrics.set("calcm_keeper_block_seconds", rep.submit_seconds, phase="submit")
        self.metrics.set("calcm_keeper_block_seconds", rep.total_seconds, phase="total")
        self.metrics.set("calcm_keeper_prover_workers", self.pool.n_workers)
        self.metrics.write()
        self.log.emit("block", block=rep.block, accounts=rep.accounts, proven=rep.proven,
                      groups=rep.groups, liquidatable=rep.liquidatable, model=rep.model,
                      model_block=rep.model_block, prove_seconds=rep.prove_seconds,
                      submit_seconds=rep.submit_seconds, total_seconds=rep.total_seconds,
                      gas_used=rep.gas_used, reasons=rep.reasons, coalesced=rep.coalesced,
                      tier_mismatch=rep.tier_mismatch, note=rep.reason)

    def _float_tiers(self, venue, parent, prices) -> dict[str, int]:
        fm = float_margin_model(self.params, parent, prices)
        q = np.array([a.qty for a in venue.accounts], float).reshape(-1, fm.pnl.shape[1]) / QTY_SCALE
        c = np.array([a.collateral for a in venue.accounts], float).reshape(
            -1, len(fm.collateral_assets)) / QTY_SCALE
        if not len(q):
            return {}
        tiers = PortfolioMargin(fm, threads=1).compute(q, c).tier
        return {n: int(t) for n, t in zip(venue.names, tiers)}

    def _records(self, block: int, n_accounts: int) -> dict[int, GroupRecord]:
        out = {}
        for g in range(-(-n_accounts // self.group_size)):
            tiers, rb, version = self._rpc(lambda g=g: self.reg.f.recordOf(g).call(
                block_identifier=block), "recordOf")
            out[g] = GroupRecord(g, int(rb), int(version),
                                 tuple((int(tiers) >> (2 * a)) & 3 for a in range(self.group_size)))
        return out

    # ------------------------------------------------------------------ proving

    def _proof_dir(self, key: str) -> Path:
        return self.state_dir / key.replace(":", "-")

    def _stored_proof(self, key: str) -> bool:
        sub = self.store.submission(key)
        return (sub is not None and sub.status in ("proved", "sending") and sub.proof_dir is not None
                and (Path(sub.proof_dir) / "proof.json").exists())

    def _prove_model(self, block: int, parent, prices):
        key = model_key(block)
        self.store.open_submission(key, "model", block)
        if self._stored_proof(key):
            return None
        mf = ModelFile(parent, self.params, {})
        return self.pool.submit(prove_model_task, key, str(self.model_build.dir), mf.to_json(),
                                list(prices), self.chain_id, self.reg.address, block, priority=10)

    def _prove_margin(self, key, model_block, group, root_version, model, venue, tree):
        self.store.open_submission(key, "margin", model_block, group, root_version)
        if self._stored_proof(key):
            return None
        members = group_accounts(list(venue.accounts), group, self.cfg)
        names = [venue.names[a] if a < len(venue.names) else None
                 for a in range(group * self.cfg.N, (group + 1) * self.cfg.N)]
        return self.pool.submit(prove_margin_task, key, str(self.margin_build.dir), model, members,
                                group, tree, self.chain_id, self.reg.address, model_block, names)

    def _gather(self, futures: dict, rep: BlockReport) -> dict[str, Path]:
        """Wait for every proof; store each as it lands. Returns key -> proof dir (including
        proofs stored by an earlier run of the same key)."""
        from distributed import as_completed
        out = {}
        for sub in self.store.submissions("proved") + self.store.submissions("sending"):
            if sub.proof_dir and (Path(sub.proof_dir) / "proof.json").exists():
                out[sub.key] = Path(sub.proof_dir)
        if not futures:
            return out
        keys = {f.key: k for k, f in futures.items()}
        for fut in as_completed(list(futures.values())):
            key = keys[fut.key]
            try:
                res: ProofResult = fut.result()
            except Exception as exc:  # noqa: BLE001 - a failed proof is reported, never submitted
                self._settle(key, "rejected", rep, detail=f"proving failed: {exc}")
                self.log.emit("error", block=rep.block, message=f"{key}: proving failed: {exc}")
                continue
            d = res.write(self._proof_dir(key))
            self.store.update_submission(key, "proved", proof_dir=str(d))
            self.metrics.inc("calcm_keeper_proofs_total", kind=res.kind)
            out[key] = d
        return out

    # ------------------------------------------------------------------ submitting

    def _settle(self, key: str, status: str, rep: BlockReport, gas_used: int | None = None,
                detail: str | None = None, **fields) -> None:
        self.store.update_submission(key, status, gas_used=gas_used, error=detail, **fields)
        sub = self.store.submission(key)
        rep.submissions.append({"key": key, "status": status, "gas_used": gas_used,
                                "tx": fields.get("tx_hash"), "detail": detail})
        self.metrics.inc("calcm_keeper_submissions_total", kind=sub.kind if sub else "?",
                         status=status)
        if status == "mined" and gas_used:
            self.metrics.inc("calcm_keeper_gas_used_total", gas_used)
        self.log.emit("submission", block=rep.block, key=key, status=status, gas_used=gas_used,
                      tx=fields.get("tx_hash"), detail=detail)

    def _fault_point(self) -> None:
        """The crash tests' kill point (see the module docstring)."""
        self._sends += 1
        if self._fault.startswith("kill-after-send:") and \
                self._sends == int(self._fault.split(":", 1)[1]):
            os.kill(os.getpid(), signal.SIGKILL)

    def _mined_from_chain(self, key: str, event, args: dict, rep: BlockReport) -> bool:
        """If the chain already holds ``key``'s effect, settle it as mined (found by its event)."""
        logs = self._rpc(lambda: event.get_logs(from_block=self.deploy_block, argument_filters=args),
                         "get_logs")
        sub = self.store.submission(key)
        if sub is not None and sub.root_version is not None:
            logs = [lg for lg in logs if int(lg.args.rootVersion) == sub.root_version]
        if not logs:
            return False
        lg = logs[-1]
        receipt = self._receipt(lg.transactionHash.hex())
        self._settle(key, "mined", rep, gas_used=receipt.gasUsed if receipt else None,
                     detail="found on chain", tx_hash=lg.transactionHash.hex(),
                     receipt_block=lg.blockNumber, receipt_hash=lg.blockHash.hex())
        return True

    def _send(self, key: str, send, already_done, rep: BlockReport) -> bool:
        """Send once; on a transport error, check the chain before any retry."""
        self.store.update_submission(key, "sending")
        deadline = time.monotonic() + self.config.backoff.deadline
        delays = self.config.backoff.delays()
        while True:
            try:
                res = send()
                break
            except SubmissionError as exc:
                self._settle(key, "superseded", rep, detail=str(exc))
                return False
            except RegistryRevert as exc:
                if already_done():
                    return True
                self._settle(key, "rejected", rep, detail=str(exc))
                return False
            except Exception as exc:  # noqa: BLE001 - filtered below
                from .retry import is_transient
                if not is_transient(exc):
                    raise
                if time.monotonic() > deadline:
                    raise RpcUnavailable(f"send {key}: node unreachable") from exc
                delay = next(delays)
                self.metrics.inc("calcm_keeper_rpc_retries_total")
                self.log.emit("retry", what=f"send {key}", attempt=0, delay=round(delay, 3),
                              error=exc.__class__.__name__)
                time.sleep(delay)
                if self._rpc(already_done, "idempotency check"):
                    return True
        receipt = self._receipt(res["tx"])
        self._fault_point()
        self._settle(key, "mined", rep, gas_used=res["gas_used"], tx_hash=res["tx"],
                     receipt_block=receipt.blockNumber if receipt else None,
                     receipt_hash=receipt.blockHash.hex() if receipt else None)
        return True

    def _submit_model(self, block: int, update, proof_dir: Path | None, rep: BlockReport) -> bool:
        key = model_key(block)
        self.store.open_submission(key, "model", block)
        ev = self.reg.contract.events.ModelUpdated

        def done() -> bool:
            return self._mined_from_chain(key, ev, {"blockNo": block}, rep)
        if self._rpc(done, "idempotency check"):
            return True
        view = self._view("latest")
        new_state = update.state.commitment()
        parent = self.store.get_state(new_state).parent
        if view.latest_model_block >= block or view.block - block > self.max_age or \
                view.state_commitment != parent:
            self._settle(key, "superseded", rep,
                         detail=f"registry model block {view.latest_model_block}, head {view.block}, "
                                f"state {'unchanged' if view.state_commitment == parent else 'moved'}")
            return False
        scenario = model_commitment(update.model)
        if self.mode == "prove":
            if proof_dir is None:
                return False  # proving failed; already settled as rejected
            return self._send(key, lambda: submit_proof_dir(self.reg, proof_dir, block), done, rep)

        def attest():
            r = self.reg.attest_model_update(block, new_state, scenario)
            return {"tx": r.transactionHash.hex(), "gas_used": r.gasUsed}
        return self._send(key, attest, done, rep)

    def _submit_margin(self, key: str, model_block: int, group: int, root_version: int,
                       rep: BlockReport) -> bool:
        sub = self.store.submission(key)
        ev = self.reg.contract.events.MarginBatchRecorded

        def done() -> bool:
            rb, version = self.reg.f.recordOf(group).call()[1:]
            if int(rb) != model_block or int(version) != root_version:
                return False
            return self._mined_from_chain(key, ev, {"blockNo": model_block, "group": group}, rep)
        if self._rpc(done, "idempotency check"):
            return True
        if sub is None or sub.proof_dir is None or sub.status == "rejected":
            return False
        view = self._view("latest")
        if view.latest_model_block != model_block or view.root_version != root_version:
            self._settle(key, "superseded", rep,
                         detail=f"registry is at model block {view.latest_model_block}, root "
                                f"version {view.root_version}")
            return False
        if view.block - model_block > self.max_age:
            self._settle(key, "superseded", rep, detail="model block older than maxAge")
            return False
        return self._send(key, lambda: submit_proof_dir(self.reg, Path(sub.proof_dir), model_block),
                          done, rep)
