"""Proving a block's jobs on the dask pool, and the proof directories they are kept in.

A job's proof is written atomically to ``<state_dir>/<key>/`` (``proof.json``,
``public.json``, ``meta.json``) and its row moves ``proving -> proved``; a stored proof of
the same key is reused unless its context block is about to leave ``maxAge``, and is then
submitted at its own context block (the row's ``block``), not the new head's: the key fixes
the model and root versions, so that block is still valid for them.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .. import atomic
from .config import CONTEXT_MARGIN
from .jobs import BlockReport, Job
from .prover_pool import prove_task
from .proving import ProofOut


class ProofJobs:
    """Mixin of :class:`~.loop.Keeper`: proving (needs ``pool``, ``provers``, ``store``)."""

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
        b = self.provers.builds.load(job.kind)
        atomic.write_json(d / "meta.json", {
            "kind": job.kind, "key": job.key, "block": job.block, "worker": worker,
            "seconds": round(seconds, 3),
            # What `calcm verify DIR` pins the key by (zk.verify.expected_key), as `calcm prove` writes.
            "build": {"dir": str(b.dir), "manifest_sha256": b.manifest_hash,
                      "vkey_sha256": b.manifest["vkey_sha256"]},
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
                # A proof binds the context block it was made at (a crash between proving and
                # sending leaves it for a later head): submit it, and look for it, at that block.
                job.block = sub.block
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
