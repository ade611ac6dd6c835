"""The margin round of one block: every account under the registry's current model
version, the selection of stale groups, their proofs and submissions.

Each account's margin is computed in fixed point (what is proven,
:func:`calcm.risk.fixed_margin.margin_fx`) and in float (reported beside it); the accounts
tree is the venue's (:mod:`.venue`), rebuilt only when the venue's snapshot changes; the
selection (:mod:`.selection`) reads each group's record at the margin block.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import InputError
from ..fixedpoint import FixedPointRangeError, QTY_SCALE
from ..poseidon import P, AccountsTree, account_commitment, poseidon
from ..risk.fixed_margin import margin_fx
from ..risk.margin import PortfolioMargin
from .jobs import BlockReport, ChainModel, Job
from .model import ModelStateUnknown, float_version_model, lin_at, options_at, version_model
from .selection import LeafState, select
from .store import margin_key


class MarginRound:
    """Mixin of :class:`~.loop.Keeper`: margins (needs ``venue``, ``cfg``, ``group_size``)."""

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
        """The venue's accounts tree: built once from the snapshot (never from chain
        events), then updated in place of the leaves that changed (:func:`update_leaves`)."""
        key = (venue.version, venue.accounts)
        if self._tree_cache is not None and self._tree_cache[0] == key:
            return self._tree_cache[1]
        old = self._tree_cache
        if old is None or len(old[0][1]) != len(venue.accounts):
            tree = venue.tree(self.cfg)
        else:
            tree = update_leaves(old[1], {i: account_commitment(a) for i, (a, b) in
                                          enumerate(zip(venue.accounts, old[0][1])) if a != b})
        self._tree_cache = (key, tree)
        return tree

    def _margin_jobs(self, rep: BlockReport, chain: ChainModel, venue, results, model) -> list[Job]:
        L = chain.block
        records = self._records(L, len(venue.accounts))
        leaves = [LeafState(leaf, r.tier, r.equity, r.mm, leaf in venue.withdrawals)
                  for leaf, r in results.items()]
        selection = select(leaves, records, self.group_size, L, chain.version, self.config.policy,
                           chain.root_version)
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


def update_leaves(tree: AccountsTree, leaves: dict[int, int]) -> AccountsTree:
    """A copy of ``tree`` with ``leaves`` (index -> commitment) replaced: only their paths
    are rehashed, ``len(leaves) x depth`` Poseidon hashes at most (the same root as a full
    rebuild; tests/keeper/test_accounts_tree.py)."""
    new = AccountsTree.__new__(AccountsTree)
    new.depth = tree.depth
    new.levels = [list(level) for level in tree.levels]
    dirty = set()
    for i, v in leaves.items():
        new.levels[0][i] = int(v) % P
        dirty.add(i)
    for lvl in range(tree.depth):
        below, parents = new.levels[lvl], set()
        for i in sorted({d // 2 for d in dirty}):
            new.levels[lvl + 1][i] = poseidon([below[2 * i], below[2 * i + 1]])
            parents.add(i)
        dirty = parents
    return new
