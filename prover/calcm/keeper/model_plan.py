"""The model plan of one head block: due daily steps, an intraday revaluation, option parts.

States and commitments are computed in Python (:mod:`.model`) and stored before any proof
is made, so a restart reuses them; each planned proof is a :class:`~.jobs.Job` keyed for
idempotency (:mod:`.store`). A key is accepted at most once per commitment: when the registry
clears its commitments (a verifier or parameter change, review F1) with no new feed round
since, a ``mined`` revaluation or option part at the same rounds is reopened and proven again
(:meth:`ModelPlanner._reopen_cleared`), its old event no longer counting as landed.
"""
from __future__ import annotations

import time

from ..chain import encoding
from .days import plan
from .feed import PriceRejected, PriceSnapshot
from .jobs import BlockReport, ChainModel, Job
from .model import lin_at, options_at
from .store import option_key, reval_key, step_key


class ModelPlanner:
    """Mixin of :class:`~.loop.Keeper`: the model clock and the option chain."""

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

    def _plan_model(self, chain: ChainModel, state, snap: PriceSnapshot | None,
                    rep: BlockReport) -> list[Job]:
        """Steps due, then a revaluation, then option parts (module docstring); states and
        commitments are stored before any proof is made."""
        jobs, s, stalled = self._plan_steps(chain, state, rep)
        if snap is None or stalled:
            return jobs   # stalled: the registry would refuse a revaluation (StepDue)
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
        return jobs, s, p.stalled

    def _reopen_cleared(self, key: str, cleared: bool, chain: ChainModel) -> int | None:
        """A ``mined`` revaluation or option part whose commitment the registry no longer holds
        (``cleared``: a verifier or parameter change cleared it, review F1) is reopened
        (``reorged``) so the same rounds are proven again. Returns the block after which its
        event counts as landed (the planning head: an older one is of a cleared commitment),
        or None when nothing was reopened."""
        sub = self.store.submission(key) if cleared else None
        if sub is None or sub.status != "mined":
            return None
        self.store.update_submission(key, "reorged", error="its commitment was cleared on chain")
        return chain.block

    def _reval_job(self, chain: ChainModel, s, snap: PriceSnapshot) -> Job:
        _, lin = lin_at(self.params, s, snap.prices)
        self.tracker.put_prices("lin", lin, s, snap.prices)
        key = reval_key(s.day, snap.round_ids)
        return Job("reval", key, "prove_reval",
                   (s, tuple(snap.prices), self._context(chain.block)), chain.block,
                   {"day": s.day, "rounds": list(snap.round_ids), "lin": lin,
                    "prices": list(snap.prices),
                    "after_block": self._reopen_cleared(key, chain.lin == 0, chain)})

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
        keys = {j: option_key(s.day, snap.round_ids, j) for j in range(start, len(parts))}
        return [Job("option", key, "prove_option_part",
                    (s, tuple(snap.prices), j, parts[j].prev), chain.block,
                    {"state": s.commitment(), "part": j, "prev": parts[j].prev,
                     "next": parts[j].next, "opt": opt,
                     "after_block": self._reopen_cleared(key, chain.opt == 0, chain)})
                for j, key in keys.items()]
