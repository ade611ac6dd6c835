"""Crash and reorg recovery: what the keeper settles from the chain before each step.

- :meth:`Recovery._check_reorg`: the stored hash of the last block accounted for must still
  be the chain's; otherwise the keeper forgets the blocks above the fork point and reopens
  the submissions mined above it (``reorged``);
- :meth:`Recovery._resolve_pending`: a row left ``sending`` or ``proved`` by a crash is
  ``mined`` iff the chain holds its event; a ``sending`` row not there goes back to
  ``proved`` (its proof is reused), or ``superseded`` once its block is past ``maxAge``.
"""
from __future__ import annotations

import json
from pathlib import Path

from .jobs import BlockReport, Job


class Recovery:
    """Mixin of :class:`~.loop.Keeper`: recovery (needs ``store``, ``w3``, ``max_age``)."""

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
