"""Proving on ``dask.distributed``: an embedded LocalCluster, or an existing cluster.

Each task (:func:`prove_task`) runs one method of the keeper's
:class:`~calcm.keeper.proving.Provers` (a daily step, a revaluation, an option part or a
margin batch: witness checked against the Python reference, then the Groth16 backend) and
returns the :class:`~calcm.keeper.proving.ProofOut` in memory (the keeper writes it into its
state directory), so workers need no shared output directory.

Workers load the builds from the paths they are given: on a cluster every worker needs the
build directories at the same path (a shared volume or an image with the cached builds) and
the ``calcm`` package installed. The model proofs of one head (due steps, the revaluation,
every option part) are independent once their inputs are computed in Python, so they run
at once; the margin batches follow as a second wave (their context block must not precede
the model version they are proven under). With W workers a wave takes about
``ceil(proofs / W)`` proving times.

The embedded cluster runs one single-threaded worker process per ``workers`` (a worker is
busy for the whole proof); ``processes=False`` keeps the
workers as threads of the keeper process (cheaper to start, the same scheduling).
"""
from __future__ import annotations

import os
import socket
import time


def prove_task(provers, method: str, *args):
    """Run ``provers.<method>(*args)`` (a :class:`~calcm.keeper.proving.Provers`) on a worker;
    returns ``(ProofOut, worker name, seconds)``; ``ProofOut.outputs["cpu_seconds"]`` is the
    worker process's CPU time for it (all its threads; meaningful with worker processes)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = getattr(provers, method)(*args)
    out.outputs["cpu_seconds"] = round(time.process_time() - c0, 3)
    return out, _worker_name(), time.perf_counter() - t0


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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
