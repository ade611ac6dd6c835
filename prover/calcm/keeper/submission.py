"""Submitting proofs exactly once: the chain's check for a key's effect, the registry's
``eth_call``, one send, and the settlement of the store row.

Every send goes through :class:`~calcm.chain.registry.Registry`'s ``submit_*`` methods,
each of which runs an ``eth_call`` from the keeper first: a refusal raises
:class:`~calcm.chain.registry.RegistryRevert`, nothing is broadcast and the row is settled
``rejected``. Before every send the chain is checked for the key's event
(:meth:`Submitter._landed`); a transport error during a send is followed by that check, never
by a blind re-send.

Fault injection for the crash tests (:data:`~.config.FAULT_ENV`, read at start):

- ``kill-after-send:K`` kills the process with SIGKILL right after the K-th submission of
  its life is mined and before the keeper records it, the worst moment for idempotency;
- ``file:PATH``: the same, armed at run time by the driver of a kill schedule
  (:mod:`.crash_schedule`): when PATH holds ``kill-after-send:K:ID``, the process kills itself
  right after the K-th submission mined since it first read that ID. No file, no fault.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from ..chain.registry import RegistryRevert, SubmissionError
from .jobs import BlockReport, Job
from .proving import ProofOut
from .retry import RpcUnavailable


class Submitter:
    """Mixin of :class:`~.loop.Keeper`: sends (needs ``reg``, ``store``, ``metrics``, ``log``)."""

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
        fault = self._fault
        if fault.startswith("file:"):
            try:
                fault = Path(fault[5:]).read_text().strip()
            except OSError:
                return
            parts = fault.split(":")
            if len(parts) != 3 or parts[0] != "kill-after-send":
                return
            counts = self.__dict__.setdefault("_fault_counts", {})
            counts[parts[2]] = counts.get(parts[2], 0) + 1
            if counts[parts[2]] == int(parts[1]):
                os.kill(os.getpid(), signal.SIGKILL)
            return
        if fault.startswith("kill-after-send:") and self._sends == int(fault.split(":", 1)[1]):
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
        """If the chain holds ``job``'s effect, settle it as mined (found by its event; for a
        job with an ``after_block``, only an event after that block: one from before a verifier
        or parameter change is of commitments the registry has cleared)."""
        event, filters, match = self._event_for(job)
        from_block = max(self.deploy_block, job.block - self.max_age - 1)
        after = job.expect.get("after_block")
        logs = [lg for lg in self._rpc(lambda: event.get_logs(from_block=from_block,
                                                              argument_filters=filters), "get_logs")
                if match(lg.args) and (after is None or lg.blockNumber > after)]
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
