"""The per-block loop on the v3 registry: model clock, option chain, margin batches.

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
     (:mod:`.selection`: record not at the current model or root version, refresh),
     the batches proven at once (wave 2) and submitted;
   - the block is recorded ``processed`` with its report.

Idempotency: every submission has a key naming what the registry accepts at most once
(:mod:`.store`: ``step:<day>``, ``reval:<day>:<rounds>``, ``option:<day>:<rounds>:<part>``,
``margin:<version>:<group>:<root version>``). Before every send the chain is checked for the
key's effect (its event), a transport error during a send is followed by that check rather
than a blind re-send, and a refused ``eth_call`` sends nothing. A kill at any point
therefore loses nothing (the next step re-derives the work from the chain, reusing stored
proofs) and sends nothing twice.

The class is assembled from one mixin per concern: :mod:`.chain_reads` (retried reads),
:mod:`.recovery` (reorgs, rows a crash left open), :mod:`.model_plan` (the model plan),
:mod:`.proof_jobs` (proving on the pool), :mod:`.submission` (sending exactly once, with
the fault injection of the crash tests) and :mod:`.margins` (the margin round). Data types
live in :mod:`.config` and :mod:`.jobs`.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from web3 import Web3

from ..chain.registry import Registry
from ..chain.signer import can_sign
from ..errors import InputError
from ..fixedpoint import FixedPointRangeError
from ..zk.model_prove import ModelFile
from .chain_reads import ChainReads
from .config import CONTEXT_MARGIN, FAULT_ENV, ZERO_ADDRESS, KeeperConfig  # noqa: F401
from .feed import FeedReader
from .jobs import BlockReport, ChainModel, Job  # noqa: F401
from .log import EventLog
from .margins import MarginRound
from .metrics import Metrics
from .model import ModelStateUnknown, ModelTracker
from .model_plan import ModelPlanner
from .proof_jobs import ProofJobs
from .prover_pool import ProverPool
from .recovery import Recovery
from .retry import RpcUnavailable
from .store import Store
from .submission import Submitter
from .venue import VenueSource


class Keeper(ChainReads, Recovery, ModelPlanner, ProofJobs, Submitter, MarginRound):
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
        if not can_sign(self.w3, self.reg.keeper):
            raise InputError(*where, "keeper", f"no key for keeper {self.reg.keeper}: neither a "
                             "local signer (--keystore, CALCM_KEEPER_KEY) nor an unlocked node account")

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
                      tier_mismatch=rep.tier_mismatch, note=rep.reason, notes=rep.notes)
