"""Read-only chain access of the keeper: retried RPC, the registry's model and records,
receipts, and the model states and prices behind a commitment.

Every read goes through :meth:`ChainReads._rpc` (:func:`.retry.retrying`: transient errors
retried with backoff, counted in the metrics). Nothing here scans logs from block 0: the
deployment block is found by a binary search on the registry's code, and the model events
are read only when the store lacks a state (a fresh store on an existing registry).
"""
from __future__ import annotations

from ..chain import encoding
from .jobs import ChainModel
from .retry import retrying
from .selection import GroupRecord


class ChainReads:
    """Mixin of :class:`~.loop.Keeper`: reads (needs ``w3``, ``reg``, ``tracker``, ``config``)."""

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

    def _known_state(self, commitment: int):
        st = self.tracker.state(commitment)
        if st is None:
            st = self._rpc(lambda: self.tracker.recover_state(self.reg, commitment, self.deploy_block),
                           "ModelStepped events")
        return st

    def _lin_prices(self, chain: ChainModel, state) -> tuple | None:
        if chain.lin == 0:
            return None
        got = self.tracker.prices_of("lin", chain.lin)
        if got is None:
            got = self._rpc(lambda: self.tracker.recover_prices(
                self.reg, "lin", chain.lin, state, self.deploy_block), "model events")
        return got

    def _context(self, block: int) -> int:
        return encoding.batch_context(self.chain_id, self.reg.address, block)

    def _records(self, block: int, n_accounts: int) -> dict[int, GroupRecord]:
        out = {}
        for g in range(-(-n_accounts // self.group_size)):
            tiers, rb, rv, mv = self._rpc(lambda g=g: self.reg.f.recordOf(g).call(
                block_identifier=block), "recordOf")
            out[g] = GroupRecord(g, int(rb), int(rv), int(mv),
                                 tuple((int(tiers) >> (2 * a)) & 3 for a in range(self.group_size)))
        return out
