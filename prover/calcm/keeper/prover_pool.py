"""Proving on ``dask.distributed``: an embedded LocalCluster, or an existing cluster.

Each task proves one statement with the zk stage's own pipeline and returns the proof in
memory (the keeper writes it into its state directory), so workers need no shared output
directory:

- :func:`prove_margin_task`: one margin batch (:func:`calcm.zk.prove.write_batch`: witness
  checked against the Python reference, then ``snarkjs groth16 prove``);
- :func:`prove_model_task`: one model update (:func:`calcm.zk.model_prove.prove_update`,
  same checks).

Workers load the builds from the paths they are given: on a cluster every worker needs the
build directories at the same path (a shared volume or an image with the cached builds) and
the ``calcm`` package installed. Proofs of one block are independent (the model update's
outputs are computed in Python before proving), so they all run at once: with W workers a
block's wall time is about ``ceil(proofs / W)`` proving times.

The embedded cluster runs one single-threaded worker process per ``workers`` (snarkjs is a
node subprocess, so a worker is busy for the whole proof); ``processes=False`` keeps the
workers as threads of the keeper process (cheaper to start, the same scheduling).
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProofResult:
    """A finished proof: snarkjs ``proof.json`` dict, public signals, timings, worker."""

    kind: str
    key: str
    proof: dict
    public: list[int]
    witness_seconds: float
    prove_seconds: float
    worker: str
    extra: dict

    def write(self, out_dir: Path) -> Path:
        """Write ``proof.json`` and ``public.json`` (a prove out dir) atomically."""
        from .. import atomic
        out_dir = Path(out_dir)
        atomic.write_json(out_dir / "proof.json", self.proof)
        atomic.write_json(out_dir / "public.json", [str(v) for v in self.public])
        atomic.write_json(out_dir / "meta.json", {"kind": self.kind, "key": self.key,
                                                  "worker": self.worker, **self.extra,
                                                  "seconds": {"witness": self.witness_seconds,
                                                              "prove": self.prove_seconds}})
        return out_dir


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _read_proof(d: Path) -> tuple[dict, list[int]]:
    return (json.loads((d / "proof.json").read_text()),
            [int(x) for x in json.loads((d / "public.json").read_text())])


def prove_margin_task(key: str, build_dir: str, model, members: list, group: int, tree,
                      chain_id: int, registry: str, block: int, names: list) -> ProofResult:
    """Prove group ``group`` (its ``N`` members, in leaf order) for ``block`` (dask task)."""
    from ..zk.prove import ContextInfo, write_batch
    from ..zk.setup import Build
    build = Build.load(build_dir)
    with tempfile.TemporaryDirectory(prefix="calcm-keeper-batch-") as tmp:
        bp = write_batch(build, model, members, group, tree, ContextInfo(chain_id, registry, block),
                         Path(tmp) / "batch", names)
        proof, public = _read_proof(bp.dir)
    return ProofResult("margin", key, proof, public, bp.witness_seconds, bp.prove_seconds,
                       _worker_name(), {"group": group, "tiers": list(bp.expected.tiers)})


def prove_model_task(key: str, build_dir: str, model_file_json: dict, prices: list[int],
                     chain_id: int, registry: str, block: int) -> ProofResult:
    """Prove the model update from the file's state at ``prices`` for ``block`` (dask task)."""
    from ..risk.modelfx import ModelParamsFx, ModelStateFx
    from ..zk.model_prove import ModelFile, prove_update
    from ..zk.prove import ContextInfo
    from ..zk.setup import Build
    build = Build.load(build_dir)
    mf = ModelFile(ModelStateFx.from_json(model_file_json["state"]),
                   ModelParamsFx.from_json(model_file_json["params"]), {})
    with tempfile.TemporaryDirectory(prefix="calcm-keeper-model-") as tmp:
        up = prove_update(build, mf, prices, Path(tmp) / "update",
                          ContextInfo(chain_id, registry, block))
        proof, public = _read_proof(up.dir)
    return ProofResult("model", key, proof, public, up.witness_seconds, up.prove_seconds,
                       _worker_name(), {"new_state": str(public[1])})


class ProverPool:
    """A dask client on an embedded LocalCluster (``workers`` single-threaded workers) or
    on an existing scheduler (``scheduler``: ``tcp://host:port``)."""

    def __init__(self, scheduler: str | None = None, workers: int = 1, processes: bool = True):
        from distributed import Client, LocalCluster
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.cluster = None
        t0 = time.perf_counter()
        if scheduler:
            self.client = Client(scheduler, timeout="30s")
        else:
            # Processes talk over TCP on loopback only (dashboard too); threads use dask's
            # in-process transport.
            where = {"host": "127.0.0.1"} if processes else {}
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=processes, dashboard_address="127.0.0.1:0",
                                        silence_logs=40, **where)
            self.client = Client(self.cluster)
        self.startup_seconds = time.perf_counter() - t0
        self.scheduler = self.client.scheduler.address

    @property
    def n_workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def submit(self, fn, *args, priority: int = 0):
        """Run ``fn(*args)`` on a worker; returns a future (never cached: proofs are fresh)."""
        return self.client.submit(fn, *args, pure=False, priority=priority, retries=0)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self) -> "ProverPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
