"""BLAS pinning for calcm's own thread pools.

The float and fixed-point margin engines parallelise over account chunks themselves, so
BLAS must run on one thread inside them (its own threads would oversubscribe the cores
and pay a hand-off on every small product). numpy's bundled OpenBLAS exposes
``openblas_set_num_threads_local``, which it applies process-wide: the pin is therefore
counted under a lock, set by the first caller and restored by the last.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _blas_local_threads():
    """OpenBLAS's per-thread ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27), or None.

    Looked up in the OpenBLAS bundled with numpy's wheel (``numpy.libs``); None for
    a system BLAS or another library, and then :func:`single_blas_thread` is a no-op.
    """
    import ctypes
    import glob

    here = os.path.dirname(np.__file__)
    libs = glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*.so*"))
    for path in libs:
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


_SET_LOCAL = _blas_local_threads()


_PIN = threading.Lock()
_pinned = [0, None]     # [callers inside single_blas_thread, the count to restore]


def single_blas_thread(fn, *args):
    """``fn(*args)`` with BLAS on one thread; the previous count is restored when the last
    concurrent caller leaves.

    For work already spread over a thread pool: BLAS's own threads would only
    oversubscribe the cores and pay a hand-off on every small product. A no-op
    where the BLAS cannot be pinned; results never depend on it. numpy's OpenBLAS applies
    ``openblas_set_num_threads_local`` process-wide (a worker's 1 is what the main thread
    then reads), so callers are counted under a lock: independent set/restore pairs raced
    and left every later product in the process on one thread.
    """
    if _SET_LOCAL is None:
        return fn(*args)
    with _PIN:
        if _pinned[0] == 0:
            _pinned[1] = _SET_LOCAL(1)
        _pinned[0] += 1
    try:
        return fn(*args)
    finally:
        with _PIN:
            _pinned[0] -= 1
            if _pinned[0] == 0:
                _SET_LOCAL(_pinned[1])


def _pin_worker() -> None:
    """Pool initializer: a BLAS whose setting is per thread pins the worker too (it ends
    with the pool, so nothing is restored); process-wide, it is already 1 (a no-op)."""
    if _SET_LOCAL is not None:
        _SET_LOCAL(1)


def pinned_pool_map(fn, items, threads: int) -> list:
    """``[fn(x) for x in items]`` on ``threads`` worker threads with BLAS on one thread per
    worker, pinned once around the pool by the calling thread (:func:`single_blas_thread`)."""
    def run():
        with ThreadPoolExecutor(threads, initializer=_pin_worker) as pool:
            return list(pool.map(fn, items))
    return single_blas_thread(run)
