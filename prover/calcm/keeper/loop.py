"""The per-block loop on the v2 registry: model clock, option chain, margin batches.

:meth:`Keeper.step` looks at the chain's head ``H`` once:

1. **reorg check** (:meth:`Keeper._check_reorg`): the stored hash of the last block
   accounted for must still be the chain's; otherwise the keeper rolls back to the fork
   point and reopens the submissions mined above it;
2. **open rows after a crash** (:meth:`Keeper._resolve_pending`): a row left ``sending`` or
   ``proved`` is settled from the chain (its effect is there: ``mined``);
3. blocks between the last one accounted for and ``H`` are recorded ``coalesced``;
4. :meth:`Keeper.process_block` on ``H``, in small named steps:

   - :meth:`~Keeper._read_head`: the head's prices (:mod:`.feed`; a stale or malformed
     answer blocks revaluations, option parts and margins, not the daily steps, which read
     their own close rounds) and the registry's model (day, version, commitments);
   - :meth:`~Keeper._plan_model`: every due daily step (:func:`.days.plan`, oldest first,
     each from its own close), then an intraday revaluation when the latest fresh answers
     differ from the prices of the current linear commitment, then every option part
     (``0 .. nParts - 1``, resuming a chain the registry holds) when the options are not for
     the state the steps reach or are stale under ``optionMaxAge``. States and commitments
     are computed in Python and stored before any proof;
   - :meth:`~Keeper._prove`: the model proofs at once on the dask pool (wave 1);
   - :meth:`~Keeper._submit_model`: in order, each after the chain's check for its effect,
     an ``eth_call`` of the registry (a refusal is logged ``rejected`` and never sent);
   - :meth:`~Keeper._margins`: at the block after those submissions, the margin model of
     the registry's current version (:func:`.model.version_model`), every account in fixed
     point (what is proven) and float (reported beside it), the selection
     (:mod:`.selection`: record not at the current model version, leaves changed, refresh),
     the batches proven at once (wave 2) and submitted;
   - the block is recorded ``processed`` with its report.

Idempotency: every submission has a key naming what the registry accepts at most once
(:mod:`.store`: ``step:<day>``, ``reval:<day>:<rounds>``, ``option:<day>:<rounds>:<part>``,
``margin:<version>:<group>:<root version>``). Before every send the chain is checked for the
key's effect (its event), a transport error during a send is followed by that check rather
than a blind re-send, and a refused ``eth_call`` sends nothing. A kill at any point
therefore loses nothing (the next step re-derives the work from the chain, reusing stored
proofs) and sends nothing twice.

Fault injection for the crash tests: ``CALCM_KEEPER_FAULT=kill-after-send:K`` kills the
process with SIGKILL right after the K-th submission is mined and before the keeper records
it, the worst moment for idempotency.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from web3 import Web3

from .. import atomic
from ..chain import encoding
from ..chain.registry import Registry, RegistryRevert, SubmissionError
from ..errors import InputError
from ..fixedpoint import FixedPointRangeError, QTY_SCALE
from ..risk.fixed_margin import margin_fx
from ..risk.margin import PortfolioMargin
from ..zk.model_prove import ModelFile
from .days import plan
from .feed import FeedReader, PriceRejected, PriceSnapshot
from .log import EventLog
from .metrics import Metrics
from .model import (ModelStateUnknown, ModelTracker, float_version_model, lin_at, options_at,
                    version_model)
from .prover_pool import ProverPool, prove_task
from .proving import ProofOut
from .retry import Backoff, RpcUnavailable, retrying
from .selection import GroupRecord, LeafState, SelectionPolicy, select
from .store import Store, margin_key, option_key, reval_key, step_key
from .venue import VenueSource

FAULT_ENV = "CALCM_KEEPER_FAULT"
ZERO_ADDRESS = "0x" + "00" * 20
#: A stored proof whose context block is this close to leaving maxAge is proven again.
CONTEXT_MARGIN = 2


@dataclass(frozen=True)
class KeeperConfig:
    """Keeper settings (data).

    max_price_age:   seconds; older feed answers block revaluations and margins.
    refresh_blocks:  rolling refresh period N (< the registry's maxAge).
    near_mm_buffer:  equity within this fraction above MM is labelled ``near_mm``.
    option_margin:   seconds; the options are revalued this long before they go stale.
    poll_seconds:    sleep between head polls when there is nothing new.
    """

    max_price_age: int = 3600
    refresh_blocks: int = 16
    near_mm_buffer: float = 0.10
    option_margin: int = 0
    poll_seconds: float = 1.0
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self):
        if self.max_price_age <= 0:
            raise ValueError("max_price_age must be positive")
        if self.option_margin < 0:
            raise ValueError("option_margin must be >= 0")
        SelectionPolicy(self.near_mm_buffer, self.refresh_blocks)

    @property
    def policy(self) -> SelectionPolicy:
        return SelectionPolicy(self.near_mm_buffer, self.refresh_blocks)


@dataclass
class BlockReport:
    """What one step did (the per-block line and the ``report`` stored with the block).

    ``model``: the model proofs mined at this head (``step:<day>``, ``reval``,
    ``options``); ``model_version``: the registry's version the margins were proven under.
    """

    block: int
    hash: str
    status: str = "processed"
    reason: str | None = None
    accounts: int = 0
    proven: int = 0
    groups: int = 0
    liquidatable: int = 0
    model: list = field(default_factory=list)
    day: int | None = None
    model_version: int | None = None
    margin_block: int | None = None
    steps: int = 0
    revals: int = 0
    option_parts: int = 0
    prices: dict | None = None
    reasons: dict = field(default_factory=dict)
    tiers: dict = field(default_factory=dict)
    float_tiers: dict = field(default_factory=dict)
    tier_mismatch: list = field(default_factory=list)
    submissions: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    prove_seconds: float = 0.0
    prove_cpu_seconds: float = 0.0
    submit_seconds: float = 0.0
    total_seconds: float = 0.0
    gas_used: int = 0
    coalesced: int = 0
    seen_at: float = 0.0
    mined_at: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ChainModel:
    """The registry's model and root at one block."""

    block: int
    timestamp: int
    day: int
    version: int
    version_block: int
    state: int
    lin: int
    opt: int
    opt_state: int
    opt_prices_at: int
    usable: bool
    accounts_root: int
    root_version: int


@dataclass
class Job:
    """One proof to make and send: its key, the :class:`~.proving.Provers` method and
    arguments, and what the chain shows once it landed (``expect``)."""

    kind: str               # step | reval | option | margin
    key: str
    method: str
    args: tuple
    block: int              # context block (margins, step, reval) or the head (options)
    expect: dict = field(default_factory=dict)
    group: int | None = None
    root_version: int | None = None


class Keeper:
    """One keeper: a registry, its feeds, a venue book, provers on a dask pool, a store.

    ``provers``: a :class:`~calcm.keeper.proving.CircuitProvers` (its margin build fixes the
    group size and the accounts tree); ``keeper_address``: the registry's first keeper role.
    """

    def __init__(self, w3: Web3, reg: Registry, store: Store, model: ModelFile,
                 venue: VenueSource, provers, pool: ProverPool,
                 config: KeeperConfig = KeeperConfig(), log: EventLog | None = None,
                 metrics: Metrics | None = None, state_dir: Path | None = None,
                 deploy_block: int | None = None):
        from ..chain.contracts import PRICE_FEED, compile_registry
        self.w3, self.reg, self.store, self.venue = w3, reg, store, venue
        self.provers, self.pool, self.config = provers, pool, config
        self.log = log or EventLog(quiet=True)
        self.metrics = metrics or Metrics()
        self.state_dir = Path(state_dir or store.path.parent / (store.path.stem + "-proofs"))
        self.cfg = provers.margin_config
        self.tracker = ModelTracker(model, store)
        self.params = model.params
        f = reg.f
        self.chain_id = self._rpc(lambda: w3.eth.chain_id, "eth_chainId")
        self.group_size = int(self._rpc(lambda: f.groupSize().call(), "groupSize"))
        self.max_age = int(self._rpc(lambda: f.maxAge().call(), "maxAge"))
        self.option_max_age = int(self._rpc(lambda: f.optionMaxAge().call(), "optionMaxAge"))
        self.n_parts = int(self._rpc(lambda: f.nParts().call(), "nParts"))
        reg_price_age = int(self._rpc(lambda: f.maxPriceAge().call(), "maxPriceAge"))
        feeds = list(self._rpc(lambda: f.priceFeeds().call(), "priceFeeds"))
        self._check_setup(feeds)
        self.deploy_block = deploy_block if deploy_block is not None else \
            int(self._rpc(self._first_block, "deploy block"))
        self.feeds = FeedReader(w3, feeds, list(self.params.assets),
                                compile_registry()[PRICE_FEED].abi,
                                min(config.max_price_age, reg_price_age))
        store.bind(chain_id=str(self.chain_id), registry=reg.address,
                   param_hash=str(self.tracker.param_hash))
        self._sends = 0
        self._fault = os.environ.get(FAULT_ENV, "")
        self._tree_cache: tuple | None = None
        self.stop_event = threading.Event()

    @property
    def mode(self) -> str:
        return "prove"

    # ------------------------------------------------------------------ setup

    def _first_block(self) -> int:
        """The registry's deployment block (binary search on its code; no log scan)."""
        addr, lo, hi = self.reg.address, 0, self.w3.eth.block_number
        while lo < hi:
            mid = (lo + hi) // 2
            if self.w3.eth.get_code(addr, block_identifier=mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _check_setup(self, feeds) -> None:
        p, f, where = self.params, self.reg.f, ("registry", self.reg.address)
        if self.group_size != self.cfg.N:
            raise InputError(*where, "groupSize",
                             f"{self.group_size}, but the margin build proves groups of {self.cfg.N}")
        if len(feeds) != p.n_assets:
            raise InputError(*where, "priceFeeds",
                             f"{len(feeds)} feeds for the model's {p.n_assets} assets")
        on_chain = int(self._rpc(lambda: f.paramHash().call(), "paramHash"))
        if on_chain != self.tracker.param_hash:
            raise InputError("model file", "params", "param_hash",
                             f"{self.tracker.param_hash} is not the registry's {on_chain}")
        if self.n_parts != p.n_options * p.chunks:
            raise InputError(*where, "nParts", f"{self.n_parts}, but the model has "
                             f"{p.n_options} options x {p.chunks} chunks")
        for name in ("stepVerifier", "revalVerifier") + (("optionVerifier",) if self.n_parts else ()):
            if self._rpc(lambda n=name: getattr(f, n)().call(), name) == ZERO_ADDRESS:
                raise InputError(*where, name, "not set: the registry cannot verify model proofs")
        if self.config.refresh_blocks >= self.max_age:
            raise InputError("command line", "--refresh-blocks", "-",
                             f"{self.config.refresh_blocks} must be below the registry's maxAge "
                             f"{self.max_age} (records expire after maxAge blocks)")
        if self.reg.keeper not in self.w3.eth.accounts:
            raise InputError(*where, "keeper", f"the node holds no key for keeper {self.reg.keeper}")

    # ------------------------------------------------------------------ rpc helpers

    def _rpc(self, fn, what: str):
        def on_retry(w, exc, delay, attempt):
            self.metrics.inc("calcm_keeper_rpc_retries_total")
            self.log.emit("retry", what=w, attempt=attempt, delay=round(delay, 3),
                          error=exc.__class__.__name__)
        return retrying(fn, what, self.config.backoff, on_retry)

    def _chain_model(self, block) -> ChainModel:
        f = self.reg.f

        def read():
            kw = {"block_identifier": block}
            b = self.w3.eth.get_block(block)
            day, version, vblock, opt_at = f.model().call(**kw)
            return ChainModel(int(b.number), int(b.timestamp), int(day), int(version), int(vblock),
                              int(f.stateCommitment().call(**kw)), int(f.linCommitment().call(**kw)),
                              int(f.optCommitment().call(**kw)), int(f.optState().call(**kw)),
                              int(opt_at), bool(f.modelUsable().call(**kw)),
                              int(f.accountsRoot().call(**kw)), int(f.rootVersion().call(**kw)))
        return self._rpc(read, "registry state")

    def _receipt(self, tx_hash: str | None):
        from web3.exceptions import TransactionNotFound
        if not tx_hash:
            return None
        try:
            return self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash), "receipt")
        except TransactionNotFound:
            return None

    # ------------------------------------------------------------------ the loop

    def run(self, max_blocks: int | None = None, until_block: int | None = None,
            idle_timeout: float | None = None) -> list[BlockReport]:
        """Step until stopped: after ``max_blocks`` processed blocks, once the head reaches
        ``until_block``, after ``idle_timeout`` seconds without a new block, or on
        :attr:`stop_event` (SIGINT/SIGTERM in the CLI)."""
        reports: list[BlockReport] = []
        idle_since = time.monotonic()
        self.log.emit("start", registry=self.reg.address, chain_id=self.chain_id,
                      workers=self.pool.n_workers, scheduler=self.pool.scheduler,
                      last_block=self.store.last_block())
        while not self.stop_event.is_set():
            try:
                rep = self.step()
            except RpcUnavailable as exc:
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
        """Settle rows a crash left open: a ``sending`` or ``proved`` row is ``mined`` iff the
        chain holds its effect; a ``sending`` row that is not there goes back to ``proved``
        (its proof is reused if the next plan asks for the same key)."""
        pending = self.store.submissions("sending") + self.store.submissions("proved")
        if not pending:
            return
        head = self.w3.eth.block_number
        scratch = BlockReport(head, "")
        for sub in pending:
            job = self._job_from_row(sub)
            if job is not None and self._landed(job, scratch):
                continue
            if head - sub.block > self.max_age:
                self._settle(sub.key, "superseded", scratch,
                             detail=f"not on chain and its block {sub.block} is past maxAge")
            elif sub.status == "sending":
                self.store.update_submission(sub.key, "proved")

    # ------------------------------------------------------------------ one block

    def process_block(self, number: int) -> BlockReport:
        """Model clock, option chain and margins at head ``number`` (module docstring)."""
        t0 = time.perf_counter()
        rep, snap, chain = self._read_head(number)
        try:
            state = self._known_state(chain.state)
        except ModelStateUnknown as exc:
            return self._skip(rep, str(exc), t0)
        rep.day = chain.day
        try:
            jobs = self._plan_model(chain, state, snap, rep)
        except FixedPointRangeError as exc:
            return self._skip(rep, f"model out of range: {exc}", t0)
        proofs = self._prove(jobs, rep)
        self._submit_model(jobs, proofs, rep)
        if snap is not None:
            self._margins(rep)
        return self._finish(rep, jobs, t0)

    def _read_head(self, number: int) -> tuple[BlockReport, PriceSnapshot | None, ChainModel]:
        """The block, its fresh prices (None, with a note, when an answer is refused) and
        the registry's model at it."""
        blk = self._rpc(lambda: self.w3.eth.get_block(number), "eth_getBlock")
        rep = BlockReport(number, blk.hash.hex(), seen_at=time.time())
        snap = None
        try:
            snap = self._rpc(lambda: self.feeds.read(number, int(blk.timestamp)), "feeds")
            rep.prices = snap.usd()
        except PriceRejected as exc:
            rep.reason = f"price {exc}: no revaluation, options or margins at this block"
            self.log.emit("skip", block=number, reason=rep.reason)
        return rep, snap, self._chain_model(number)

    def _known_state(self, commitment: int):
        st = self.tracker.state(commitment)
        if st is None:
            st = self._rpc(lambda: self.tracker.recover_state(self.reg, commitment, self.deploy_block),
                           "ModelStepped events")
        return st

    def _context(self, block: int) -> int:
        return encoding.batch_context(self.chain_id, self.reg.address, block)

    # ---- model plan

    def _plan_model(self, chain: ChainModel, state, snap: PriceSnapshot | None,
                    rep: BlockReport) -> list[Job]:
        """Steps due, then a revaluation, then option parts (module docstring); states and
        commitments are stored before any proof is made."""
        jobs, s = self._plan_steps(chain, state, rep)
        if snap is None:
            return jobs
        lin_prices = tuple(jobs[-1].expect["prices"]) if jobs else self._lin_prices(chain, state)
        if lin_prices != tuple(snap.prices):
            jobs.append(self._reval_job(chain, s, snap))
        if self.n_parts and self._options_due(chain, s):
            jobs += self._option_jobs(chain, s, snap)
        return jobs

    def _plan_steps(self, chain: ChainModel, state, rep: BlockReport):
        p = self._rpc(lambda: plan(chain.day, chain.timestamp, self.feeds, chain.block), "close rounds")
        if p.waiting:
            rep.notes.append(f"model step waits: {p.waiting}")
        jobs, s = [], state
        for close in p.steps:
            nxt = self.tracker.step(s, close.prices, close.round_ids)
            _, lin = lin_at(self.params, nxt, close.prices)
            self.tracker.put_prices("lin", lin, nxt, close.prices)
            jobs.append(Job("step", step_key(close.day), "prove_step",
                            (s, tuple(close.prices), self._context(chain.block)), chain.block,
                            {"day": close.day, "rounds": list(close.round_ids), "state": nxt,
                             "new_state": nxt.commitment(), "lin": lin,
                             "prices": list(close.prices)}))
            s = nxt
        return jobs, s

    def _reval_job(self, chain: ChainModel, s, snap: PriceSnapshot) -> Job:
        _, lin = lin_at(self.params, s, snap.prices)
        self.tracker.put_prices("lin", lin, s, snap.prices)
        return Job("reval", reval_key(s.day, snap.round_ids), "prove_reval",
                   (s, tuple(snap.prices), self._context(chain.block)), chain.block,
                   {"day": s.day, "rounds": list(snap.round_ids), "lin": lin,
                    "prices": list(snap.prices)})

    def _options_due(self, chain: ChainModel, s) -> bool:
        if chain.opt_state != s.commitment() or chain.opt == 0:
            return True
        return chain.timestamp + self.config.option_margin > chain.opt_prices_at + self.option_max_age

    def _option_jobs(self, chain: ChainModel, s, snap: PriceSnapshot) -> list[Job]:
        parts, opt = options_at(self.params, s, snap.prices)
        self.tracker.put_prices("opt", opt, s, snap.prices)
        start = 0
        pend = self._rpc(self.reg.pending_options, "pendingOptions")
        if int(pend["state"]) == s.commitment() and int(pend["next_part"]) > 0 and \
                list(pend["packed_prices"]) == encoding.pack_prices(list(snap.prices)):
            start = int(pend["next_part"])   # resume the chain the registry holds
        return [Job("option", option_key(s.day, snap.round_ids, j), "prove_option_part",
                    (s, tuple(snap.prices), j, parts[j].prev), chain.block,
                    {"state": s.commitment(), "part": j, "prev": parts[j].prev,
                     "next": parts[j].next, "opt": opt})
                for j in range(start, len(parts))]

    def _lin_prices(self, chain: ChainModel, state) -> tuple | None:
        if chain.lin == 0:
            return None
        got = self.tracker.prices_of("lin", chain.lin)
        if got is None:
            got = self._rpc(lambda: self.tracker.recover_prices(
                self.reg, "lin", chain.lin, state, self.deploy_block), "model events")
        return got

    # ---- proving

    def _proof_dir(self, key: str) -> Path:
        return self.state_dir / key.replace(":", "-")

    def _stored_proof(self, job: Job, head: int) -> ProofOut | None:
        sub = self.store.submission(job.key)
        if sub is None or sub.status not in ("proved", "sending") or sub.proof_dir is None:
            return None
        d = Path(sub.proof_dir)
        if not (d / "proof.json").exists():
            return None
        if job.kind != "option" and head - sub.block > self.max_age - CONTEXT_MARGIN:
            return None          # its context block is about to leave maxAge: prove again
        meta = json.loads((d / "meta.json").read_text())
        return ProofOut(json.loads((d / "proof.json").read_text()),
                        [int(x) for x in json.loads((d / "public.json").read_text())],
                        meta.get("outputs", {}))

    def _write_proof(self, job: Job, out: ProofOut, worker: str, seconds: float) -> Path:
        d = self._proof_dir(job.key)
        atomic.write_json(d / "proof.json", out.proof)
        atomic.write_json(d / "public.json", [str(v) for v in out.public])
        atomic.write_json(d / "meta.json", {
            "kind": job.kind, "key": job.key, "block": job.block, "worker": worker,
            "seconds": round(seconds, 3),
            "outputs": {k: (str(v) if isinstance(v, int) else v) for k, v in out.outputs.items()}})
        return d

    def _prove(self, jobs: list[Job], rep: BlockReport) -> dict[str, ProofOut]:
        """Prove every job at once on the pool (stored proofs of the same key are reused)."""
        from distributed import as_completed
        tp = time.perf_counter()
        out, futures = {}, {}
        for job in jobs:
            sub = self.store.open_submission(job.key, job.kind, job.block, job.group, job.root_version)
            if sub.status == "mined":
                continue
            stored = self._stored_proof(job, rep.block)
            if stored is not None:
                out[job.key] = stored
                continue
            self.store.update_submission(job.key, "proving", block=job.block)
            fut = self.pool.submit(prove_task, self.provers, job.method, *job.args,
                                   priority=10 if job.kind != "margin" else 0)
            futures[fut.key] = (fut, job)
        if futures:
            for fut in as_completed([f for f, _ in futures.values()]):
                job = futures[fut.key][1]
                try:
                    res, worker, secs = fut.result()
                except Exception as exc:  # noqa: BLE001 - a failed proof is reported, never sent
                    self._settle(job.key, "rejected", rep, detail=f"proving failed: {exc}")
                    self.log.emit("error", block=rep.block, message=f"{job.key}: proving failed: {exc}")
                    continue
                d = self._write_proof(job, res, worker, secs)
                rep.prove_cpu_seconds = round(rep.prove_cpu_seconds +
                                              float(res.outputs.get("cpu_seconds") or 0), 3)
                self.store.update_submission(job.key, "proved", proof_dir=str(d))
                self.metrics.inc("calcm_keeper_proofs_total", kind=job.kind)
                out[job.key] = res
        rep.prove_seconds = round(rep.prove_seconds + time.perf_counter() - tp, 3)
        return out

    # ---- submitting

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

    def _event_for(self, job: Job):
        """The event that shows ``job`` landed: (event, indexed filters, match on its args)."""
        ev = self.reg.contract.events
        x = job.expect
        if job.kind == "step":
            return ev.ModelStepped, {"day": x["day"]}, lambda a: int(a.newState) == int(x["new_state"])
        if job.kind == "reval":
            return ev.ModelRevalued, {"day": x["day"]}, \
                lambda a: [int(r) for r in a.rounds] == list(x["rounds"]) and \
                int(a.linCommitment) == int(x["lin"])
        if job.kind == "option":
            return ev.OptionPartProven, {"state": int(x["state"])}, \
                lambda a: int(a.part) == x["part"] and int(a.nextSponge) == int(x["next"])
        return ev.MarginBatchRecorded, {"blockNo": job.block, "group": job.group}, \
            lambda a: int(a.rootVersion) == job.root_version and int(a.modelVersion) == x["version"]

    def _landed(self, job: Job, rep: BlockReport) -> bool:
        """If the chain holds ``job``'s effect, settle it as mined (found by its event)."""
        event, filters, match = self._event_for(job)
        from_block = max(self.deploy_block, job.block - self.max_age - 1)
        logs = [lg for lg in self._rpc(lambda: event.get_logs(from_block=from_block,
                                                              argument_filters=filters), "get_logs")
                if match(lg.args)]
        if not logs:
            return False
        lg = logs[-1]
        receipt = self._receipt(lg.transactionHash.hex())
        self._settle(job.key, "mined", rep, gas_used=receipt.gasUsed if receipt else None,
                     detail="found on chain", tx_hash=lg.transactionHash.hex(),
                     receipt_block=lg.blockNumber, receipt_hash=lg.blockHash.hex())
        return True

    def _send(self, job: Job, send, rep: BlockReport) -> bool:
        """Send once (``send`` returns the receipt); on a transport error, check the chain
        before any retry. A refusal at the ``eth_call`` pre-check is ``rejected``, unsent."""
        key = job.key
        self.store.update_submission(key, "sending")
        deadline = time.monotonic() + self.config.backoff.deadline
        delays = self.config.backoff.delays()
        while True:
            try:
                receipt = send()
                break
            except SubmissionError as exc:
                self._settle(key, "superseded", rep, detail=str(exc))
                return False
            except RegistryRevert as exc:
                if self._landed(job, rep):
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
                if self._rpc(lambda: self._landed(job, rep), "idempotency check"):
                    return True
        self._fault_point()
        self._settle(key, "mined", rep, gas_used=receipt.gasUsed,
                     tx_hash=receipt.transactionHash.hex(), receipt_block=receipt.blockNumber,
                     receipt_hash=receipt.blockHash.hex())
        return True

    def _sender(self, job: Job, out: ProofOut):
        """The registry call that submits ``job`` (each runs the registry's eth_call first)."""
        reg, x = self.reg, job.expect
        if job.kind == "step":
            def send():
                day = int(reg.f.day().call())
                if x["day"] != day + 1:
                    raise SubmissionError(f"step refused: no new daily round (registry at day "
                                          f"{day}, close of day {x['day']})")
                return reg.submit_model_step(out.proof, job.block, x["rounds"], x["new_state"], x["lin"])
            return send
        if job.kind == "reval":
            return lambda: reg.submit_model_reval(out.proof, job.block, x["lin"])
        if job.kind == "option":
            return lambda: reg.submit_option_part(out.proof, x["part"], x["next"])
        return lambda: reg.submit_margin_batch(out.proof, job.block, x["version"], job.group,
                                               x["packed"])

    def _submit_one(self, job: Job, out: ProofOut | None, rep: BlockReport) -> str:
        """``sent`` (mined by this call), ``landed`` (already on chain), or ``failed``."""
        sub = self.store.submission(job.key)
        if sub is not None and sub.status == "mined":
            return "landed"
        if self._landed(job, rep):
            return "landed"
        if out is None:
            return "failed"                   # proving failed: already settled as rejected
        if job.kind == "margin":
            job.expect["packed"] = int(out.public[4])
        return "sent" if self._send(job, self._sender(job, out), rep) else "failed"

    def _submit_model(self, jobs: list[Job], proofs: dict, rep: BlockReport) -> None:
        """Steps in order (a failed step stops the model chain), the revaluation, then the
        option parts in order (a failed part stops the option chain)."""
        ts = time.perf_counter()
        steps_ok = True
        for job in jobs:
            if not steps_ok:
                self._settle(job.key, "superseded", rep, detail="an earlier step did not land")
                continue
            res = self._submit_one(job, proofs.get(job.key), rep)
            if res == "sent":
                rep.model.append(f"step:{job.expect['day']}" if job.kind == "step" else job.kind)
                rep.steps += job.kind == "step"
                rep.revals += job.kind == "reval"
                rep.option_parts += job.kind == "option"
            elif res == "failed" and job.kind == "step":
                steps_ok = False
            elif res == "failed" and job.kind == "option":
                for later in jobs[jobs.index(job) + 1:]:
                    self._settle(later.key, "superseded", rep, detail=f"{job.key} did not land")
                break
        if rep.option_parts:
            rep.model = [m for m in rep.model if m != "option"] + ["options"]
        rep.submit_seconds = round(rep.submit_seconds + time.perf_counter() - ts, 3)

    # ---- margins

    def _margins(self, rep: BlockReport) -> None:
        """Every account under the current version; prove and submit the selected groups."""
        L = int(self._rpc(lambda: self.w3.eth.block_number, "eth_blockNumber"))
        chain = self._chain_model(L)
        rep.model_version, rep.margin_block = chain.version, L
        if not chain.usable:
            rep.reason = rep.reason or f"model version {chain.version} is not usable (no linear " \
                                       "commitment, or options stale): no margins"
            return
        try:
            model, state, lin_prices = self._version_model(chain)
        except ModelStateUnknown as exc:
            rep.reason = str(exc)
            return
        try:
            venue = self.venue.snapshot()
        except InputError as exc:
            rep.reason = f"venue book: {exc}"
            return
        results = self._account_margins(rep, venue, model)
        self._float_twin(rep, venue, state, lin_prices)
        tree = self._tree(venue)
        if tree.root != chain.accounts_root:
            rep.reason = "the venue book's accounts root is not the registry's (root not posted yet?)"
            return
        jobs = self._margin_jobs(rep, chain, venue, results, model)
        proofs = self._prove(jobs, rep)
        ts = time.perf_counter()
        for job in jobs:
            n_real = sum(1 for a in range(job.group * self.group_size, (job.group + 1) * self.group_size)
                         if a < len(venue.accounts))
            if self._submit_one(job, proofs.get(job.key), rep) == "sent":
                rep.proven += n_real
                rep.groups += 1
                self.metrics.inc("calcm_keeper_accounts_proven_total", n_real)
        rep.submit_seconds = round(rep.submit_seconds + time.perf_counter() - ts, 3)

    def _version_model(self, chain: ChainModel):
        state = self._known_state(chain.state)
        lin_prices = self._lin_prices(chain, state)
        opt_prices = None
        if self.n_parts:
            opt_prices = self.tracker.prices_of("opt", chain.opt) or self._rpc(
                lambda: self.tracker.recover_prices(self.reg, "opt", chain.opt, state,
                                                    self.deploy_block), "option events")
        if lin_prices is None or (self.n_parts and opt_prices is None):
            raise ModelStateUnknown(f"the prices of model version {chain.version} are unknown")
        model = version_model(self.params, state, lin_prices, opt_prices)
        _, lin = lin_at(self.params, state, lin_prices)
        if lin != chain.lin or (self.n_parts and options_at(self.params, state, opt_prices)[1] != chain.opt):
            raise ModelStateUnknown(f"model version {chain.version} does not recompute from its prices")
        return model, state, lin_prices

    def _account_margins(self, rep: BlockReport, venue, model) -> dict:
        rep.accounts = len(venue.accounts)
        results = {}
        for leaf, acc in enumerate(venue.accounts):
            try:
                results[leaf] = margin_fx(model, acc)
            except FixedPointRangeError as exc:
                self.log.emit("error", block=rep.block, message=f"{venue.names[leaf]}: {exc}")
        rep.tiers = {venue.names[a]: r.tier for a, r in results.items()}
        rep.liquidatable = sum(1 for r in results.values() if r.tier == 3)
        self.metrics.set("calcm_keeper_liquidatable_accounts", rep.liquidatable)
        return results

    def _float_twin(self, rep: BlockReport, venue, state, prices) -> None:
        """Float tiers of the same version (reported beside the fixed-point ones)."""
        if not venue.accounts:
            return
        fm = float_version_model(self.params, state, prices)
        q = np.array([a.qty for a in venue.accounts], float) / QTY_SCALE
        c = np.array([a.collateral for a in venue.accounts], float) / QTY_SCALE
        tiers = PortfolioMargin(fm, threads=1).compute(q, c).tier
        rep.float_tiers = {n: int(t) for n, t in zip(venue.names, tiers)}
        rep.tier_mismatch = sorted(n for n, t in rep.float_tiers.items() if rep.tiers.get(n, t) != t)

    def _tree(self, venue):
        """The accounts tree, rebuilt only when the venue's snapshot version changes."""
        key = (venue.version, venue.accounts)
        if self._tree_cache is None or self._tree_cache[0] != key:
            self._tree_cache = (key, venue.tree(self.cfg))
        return self._tree_cache[1]

    def _records(self, block: int, n_accounts: int) -> dict[int, GroupRecord]:
        out = {}
        for g in range(-(-n_accounts // self.group_size)):
            tiers, rb, rv, mv = self._rpc(lambda g=g: self.reg.f.recordOf(g).call(
                block_identifier=block), "recordOf")
            out[g] = GroupRecord(g, int(rb), int(rv), int(mv),
                                 tuple((int(tiers) >> (2 * a)) & 3 for a in range(self.group_size)))
        return out

    def _margin_jobs(self, rep: BlockReport, chain: ChainModel, venue, results, model) -> list[Job]:
        L = chain.block
        records = self._records(L, len(venue.accounts))
        leaves = []
        for leaf, r in results.items():
            changed = int(self._rpc(lambda leaf=leaf: self.reg.f.lastChangedVersion(leaf).call(
                block_identifier=L), "lastChangedVersion"))
            leaves.append(LeafState(leaf, r.tier, r.equity, r.mm, changed, leaf in venue.withdrawals))
        selection = select(leaves, records, self.group_size, L, chain.version, self.config.policy)
        rep.reasons = selection.reasons()
        jobs = []
        for g in selection.group_ids:
            key = margin_key(chain.version, g, chain.root_version)
            rec = records.get(g)
            sub = self.store.submission(key)
            if (rec and rec.model_version == chain.version and rec.root_version == chain.root_version) \
                    or (sub is not None and sub.status in ("mined", "superseded", "rejected")):
                key = margin_key(chain.version, g, chain.root_version, L)
            jobs.append(Job("margin", key, "prove_margin_batch",
                            (model, tuple(venue.accounts), g, self._context(L), list(venue.names)),
                            L, {"version": chain.version}, g, chain.root_version))
        return jobs

    # ---- finishing

    def _finish(self, rep: BlockReport, jobs: list[Job], t0: float) -> BlockReport:
        rep.gas_used = sum(s.get("gas_used") or 0 for s in rep.submissions)
        if any(s["status"] == "mined" for s in rep.submissions):
            rep.mined_at = time.time()
        rep.total_seconds = round(time.perf_counter() - t0, 3)
        self.store.record_block(rep.block, rep.hash, "processed", rep.reason, rep.to_json())
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
                      day=rep.day, model_version=rep.model_version,
                      prove_seconds=rep.prove_seconds, submit_seconds=rep.submit_seconds,
                      total_seconds=rep.total_seconds, gas_used=rep.gas_used,
                      reasons=rep.reasons, coalesced=rep.coalesced,
                      tier_mismatch=rep.tier_mismatch, note=rep.reason)

    # ---- crash recovery

    def _job_from_row(self, sub) -> Job | None:
        """Rebuild enough of a job from its store row to find its event on chain."""
        d = Path(sub.proof_dir) if sub.proof_dir else None
        meta = {}
        if d is not None and (d / "meta.json").exists():
            meta = json.loads((d / "meta.json").read_text()).get("outputs", {})
        parts = sub.key.split(":")
        try:
            if sub.kind == "step":
                return Job("step", sub.key, "", (), sub.block,
                           {"day": int(parts[1]), "new_state": int(meta["new_state"])})
            if sub.kind == "reval":
                return Job("reval", sub.key, "", (), sub.block,
                           {"day": int(parts[1]), "rounds": [int(r) for r in parts[2].split("-")],
                            "lin": int(meta["lin"])})
            if sub.kind == "option":
                pub = json.loads((d / "public.json").read_text())
                return Job("option", sub.key, "", (), sub.block,
                           {"state": int(pub[0]), "part": int(parts[3]), "next": int(pub[2])})
            return Job("margin", sub.key, "", (), sub.block, {"version": int(parts[1])},
                       sub.group, sub.root_version)
        except (KeyError, IndexError, ValueError, OSError, TypeError):
            return None
