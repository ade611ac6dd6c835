"""The risk benchmark: full float margin versus a bare matrix product of the same shapes.

Synthetic but realistic inputs (fixed seed): U underlyings, a quarter of the
instruments linear (spot / perp), the rest options with strikes 0.7..1.3 of spot
and 7..180 days to expiry; Student-t(4) standardised scenario shocks; sparse
accounts (8 positions each) and 3 collateral assets.

Timed (median and best of ``repeat``, the two alternating; wall time, and process CPU
time as a load-robust second figure): (1) *full*: option revaluation into the P&L matrix,
model assembly, losses (with the default perp basis + funding charge), tail selection, ES,
Euler contributions, add-on, IM/MM,
collateral, tiers; (2) *matmul*: ``Q (A, n) @ P (n, S)`` alone. Peak memory of
the full run is measured separately with tracemalloc (numpy reports its buffers).
The scalar fixed-point twin runs on ``fx_accounts`` accounts (accounts per second).

:func:`bench_fx` times the vectorised twin (:mod:`calcm.risk.fixed_margin_batch`)
on the same synthetic book, against the same-run matrix product, and checks it
against the scalar :func:`~calcm.risk.fixed_margin.margin_fx` on a sample.
"""
from __future__ import annotations

import os
import resource
import time
import tracemalloc

import numpy as np

from .book import Instrument
from .fixed_margin import AccountFx, MarginModelFx, margin_fx, margins_fx
from .fixed_margin_batch import BatchModelFx, margins_fx_arrays, margins_fx_batch
from .instruments import InstrumentTable, value_instruments
from .blas import single_blas_thread
from .margin import MarginModel, PortfolioMargin
from .perp_shocks import PerpShocks, perp_charge_matrix
from .scenarios import ScenarioParams, ScenarioSet, skew_shocks


def synthetic_inputs(accounts: int, instruments: int, scenarios: int, underlyings: int = 8,
                     seed: int = 7):
    rng = np.random.default_rng(seed)
    und = tuple(f"A{u}" for u in range(underlyings))
    price = 100.0 * np.exp(rng.uniform(0, 6, underlyings))
    ins = []
    for i in range(instruments):
        u = und[i % underlyings]
        if i < max(1, instruments // 4):
            ins.append(Instrument(f"{u}-PERP-{i}", "perp", u))
        else:
            ins.append(Instrument(f"{u}-OPT-{i}", "option", u, "call" if i % 2 else "put",
                                  float(price[i % underlyings] * rng.uniform(0.7, 1.3)),
                                  float(rng.uniform(7, 180)), float(rng.uniform(0.4, 1.2))))
    t = rng.standard_t(4, size=(scenarios, underlyings)) / np.sqrt(2.0)
    scen = ScenarioSet(und, tuple(f"s{k}" for k in range(scenarios)), ("fhs",) * scenarios, t,
                       rng.uniform(-0.2, 0.5, (scenarios, underlyings)), skew_shocks(t, ScenarioParams()))
    q = np.zeros((accounts, instruments))
    for a in range(accounts):
        cols = rng.choice(instruments, size=min(8, instruments), replace=False)
        q[a, cols] = np.round(rng.normal(0, 5, len(cols)), 4)
    c = np.round(rng.uniform(0, 1, (accounts, 3)) * np.array([1e5, 3.0, 50.0]), 4)  # USDC, BTC, ETH
    return und, price, tuple(ins), scen, q, c


def full_margin(und, price, ins, scen, q, c, horizon: float = 2.0, chunk: int = 512,
                threads: int | None = None):
    """The whole float computation, from scenario returns to tiers, as the engine runs it: BLAS
    on one thread throughout, ``threads`` workers over account chunks (the baseline product
    gets numpy's default BLAS threads: both sides use every core). Unpinned, the BLAS threads
    of the main-thread steps spin on after each call and take the cores from the workers
    (measured: 0.080 s wall / 0.159 s CPU against 0.059 / 0.103 pinned)."""
    return single_blas_thread(_full_margin, und, price, ins, scen, q, c, horizon, chunk, threads)


def _full_margin(und, price, ins, scen, q, c, horizon, chunk, threads):
    table = InstrumentTable.from_instruments(ins, und)
    sigma = np.full(len(und), 0.04)
    val = value_instruments(table, price, scen.returns(sigma * np.sqrt(horizon)), scen.vol_shock,
                            scen.skew_shock, horizon)
    shock = PerpShocks().rates_bps(und, max(1, round(horizon)))
    model = MarginModel(tuple(i.id for i in ins), und, ("USDC", "BTC", "ETH"), val.pnl, val.mark,
                        val.exposure, np.array([1.0, 30000.0, 2000.0]), np.array([0.01, 0.05, 0.10]),
                        np.full(len(und), 1e9), np.full(len(und), 0.25),
                        perp_charge=perp_charge_matrix(table.kind, table.underlying_index, price, shock))
    return model, PortfolioMargin(model, chunk=chunk, threads=threads).compute(q, c)


def _times_interleaved(fns, repeat: int, cpu: list | None = None, block: int = 5) -> list[list[float]]:
    """Wall times of each function over ``repeat`` rounds of ``block`` consecutive calls each,
    the functions in alternation so that a load change on a shared machine hits all of them
    alike; ``cpu`` (if given) receives the process CPU times (all threads) the same way.
    Blocks, not single calls: OpenBLAS's threads spin for ~0.1 s after a product, and that CPU
    is taken from (and charged to) whatever runs next; the median of a block is its steady state."""
    times = [[] for _ in fns]
    if cpu is not None:
        cpu[:] = [[] for _ in fns]
    for _ in range(repeat):
        for j, fn in enumerate(fns):
            for _ in range(block):
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                times[j].append(time.perf_counter() - t0)
                if cpu is not None:
                    cpu[j].append(time.process_time() - c0)
    return times


def _structure(model):
    """(kinds, under, coll) of the synthetic book: every instrument as its own P&L column (exact)."""
    under = tuple(int(u) for u in np.abs(model.exposure).argmax(axis=0))
    und = list(model.underlyings)
    coll = tuple(-1 if a == "USDC" else (und.index(a) if a in und else -1) for a in model.collateral_assets)
    return (2,) * len(under), under, coll


def bench_risk(accounts: int = 10_000, instruments: int = 64, scenarios: int = 1_000,
               underlyings: int = 8, repeat: int = 3, fx_accounts: int = 20, chunk: int = 512,
               threads: int | None = None) -> dict:
    """Full float margin vs the same-run matrix product: median (the figure) and best of ``repeat``
    alternating rounds, so a load change on a shared machine hits both alike."""
    und, price, ins, scen, q, c = synthetic_inputs(accounts, instruments, scenarios, underlyings)
    model, _ = full_margin(und, price, ins, scen, q, c, chunk=chunk, threads=threads)   # warm-up
    p_t = np.ascontiguousarray(model.pnl.T)
    cpu: list = []
    times = _times_interleaved(
        [lambda: full_margin(und, price, ins, scen, q, c, chunk=chunk, threads=threads),
         lambda: q @ p_t], repeat, cpu)
    (t_full, t_mm), (b_full, b_mm) = ([float(np.median(t)) for t in times], [min(t) for t in times])
    c_full, c_mm = (float(np.median(t)) for t in cpu)
    tracemalloc.start()
    full_margin(und, price, ins, scen, q, c, chunk=chunk, threads=threads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mfx = MarginModelFx.from_float(model, *_structure(model), price=np.maximum(np.abs(model.exposure).max(axis=1), 1.0))
    accs = [AccountFx.encode(q[a], c[a], 0) for a in range(min(fx_accounts, accounts))]
    t0 = time.perf_counter()
    margins_fx(mfx, accs)
    t_fx = time.perf_counter() - t0
    return {
        "accounts": accounts, "instruments": instruments, "scenarios": scenarios,
        "underlyings": underlyings, "chunk": chunk, "repeat": repeat,
        "threads": PortfolioMargin(model, threads=threads).threads,
        "load_average_1min": os.getloadavg()[0],
        "full_margin_s": t_full, "matmul_s": t_mm, "ratio": t_full / t_mm,
        "best_full_margin_s": b_full, "best_matmul_s": b_mm, "best_ratio": b_full / b_mm,
        "full_margin_cpu_s": c_full, "matmul_cpu_s": c_mm,
        "cpu_ratio": c_full / c_mm if c_mm > 0 else float("inf"),
        "peak_traced_mib": peak / 2**20,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "fixed_point_accounts": len(accs), "fixed_point_s": t_fx,
        "fixed_point_accounts_per_s": len(accs) / t_fx if t_fx > 0 else float("inf"),
    }


def fx_inputs(accounts: int, instruments: int, scenarios: int, underlyings: int = 8):
    """(fixed-point model, q (A, n) int64, c (A, m) int64, float q, float P^T) of the synthetic book."""
    und, price, ins, scen, q, c = synthetic_inputs(accounts, instruments, scenarios, underlyings)
    model, _ = full_margin(und, price, ins, scen, q, c)
    mfx = MarginModelFx.from_float(model, *_structure(model),
                                   price=np.maximum(np.abs(model.exposure).max(axis=1), 1.0))
    accs = [AccountFx.encode(q[a], c[a], 0) for a in range(accounts)]
    qi = np.array([a.qty for a in accs], dtype=np.int64).reshape(accounts, instruments)
    ci = np.array([a.collateral for a in accs], dtype=np.int64).reshape(accounts, 3)
    return mfx, accs, qi, ci, q, np.ascontiguousarray(model.pnl.T)


def bench_fx(accounts: int = 10_000, instruments: int = 64, scenarios: int = 1_000, underlyings: int = 8,
             repeat: int = 3, check: int = 20) -> dict:
    """Throughput of the vectorised fixed-point twin (median of ``repeat``) and its same-run matmul.

    Timed: :func:`margins_fx_arrays` on int64 arrays (the accounts already encoded);
    ``from_account_objects_s`` is one :func:`margins_fx_batch` call from the
    :class:`AccountFx` list (adds the tuple-to-array conversion);
    ``prepare_model_s`` is the one-off :class:`BatchModelFx` build.

    ``check`` accounts (spread over the book) are also run through the scalar
    :func:`margin_fx`: ``matches_scalar`` is true when every field agrees, and
    ``scalar_accounts_per_s`` is that run's rate.
    """
    mfx, accs, qi, ci, qf, p_t = fx_inputs(accounts, instruments, scenarios, underlyings)
    t0 = time.perf_counter()
    bm = BatchModelFx(mfx)
    t_prep = time.perf_counter() - t0
    margins_fx_arrays(bm, qi[:64], ci[:64])                                    # warm-up
    out = []
    cpu: list = []
    t_fx, t_mm = [float(np.median(t)) for t in _times_interleaved(
        [lambda: out.append(margins_fx_arrays(bm, qi, ci)), lambda: qf @ p_t], repeat, cpu)]
    c_fx, c_mm = (float(np.median(t)) for t in cpu)
    res = out[-1]
    t0 = time.perf_counter()
    margins_fx_batch(bm, accs)                                                 # from AccountFx objects
    t_objects = time.perf_counter() - t0
    sample = sorted(set(np.linspace(0, accounts - 1, min(check, accounts)).astype(int).tolist()))
    t0 = time.perf_counter()
    scalar = [margin_fx(mfx, accs[a]) for a in sample]
    t_scalar = time.perf_counter() - t0
    return {
        "accounts": accounts, "instruments": instruments, "scenarios": scenarios,
        "underlyings": underlyings, "k_tail": mfx.k_tail, "repeat": repeat,
        "load_average_1min": os.getloadavg()[0],
        "batch_s": t_fx, "accounts_per_s": accounts / t_fx if t_fx > 0 else float("inf"),
        "cpu_s": c_fx, "matmul_cpu_s": c_mm,
        "cpu_accounts_per_s": accounts / c_fx if c_fx > 0 else float("inf"),
        "prepare_model_s": t_prep, "from_account_objects_s": t_objects, "matmul_s": t_mm, "ratio_to_matmul": t_fx / t_mm,
        "fallback_accounts": int(res.fallback.sum()),
        "checked_accounts": len(sample),
        "matches_scalar": all(res.result(a) == r for a, r in zip(sample, scalar)),
        "scalar_accounts_per_s": len(sample) / t_scalar if t_scalar > 0 else float("inf"),
    }
