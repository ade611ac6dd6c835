"""``calcm bench model``: the v2 model circuits on the bundled book at the published scenario count.

The model is what ``calcm model-init`` derives from the bundled market and book (every
instrument, the FULL scenario set: S = 534, 6 option series, U = 5), with ``C`` scenario
chunks per option part. For each circuit (``option`` part, ``reval``, ``step``):

- **compile**: constraints and compile seconds from circom itself (the compile is
  cached by source hash: a cached compile reports the seconds it took when it was made);
- **setup / prove**: groth16py's ptau-free dev setup (INSECURE-DEV) and two arkworks
  proofs through :mod:`calcm.zk.backend` (``first_prove_seconds`` includes loading the
  key; ``prove_seconds`` is the second, key in memory), for circuits of at most ``prove_max``
  constraints; larger ones get ``null`` and a line fitted through the measured
  circuits' prove times (labelled ``"fitted"``);
- **snarkjs**: the snarkjs prove time on a snarkjs zkey, only when one can exist
  (power <= 13, so ``null`` at these sizes).

``revalue_all_options`` = ``n_opt C`` x the measured part prove time: computed from a
measured part, labelled so; with ``all_parts`` every part is proven in sequence (witness
and proof, each part chained from the previous part's sponge, key in memory) and the
figure is the measured wall time of the whole option revaluation.
"""
from __future__ import annotations

from ..risk.modelfx import default_chunks

import tempfile
import time
from pathlib import Path

from .model_circuit import ModelCircuitConfig, check_tables

#: The bundled book's chunk count (534 scenarios): the published default (docs/CIRCUITS.md §2).
DEFAULT_CHUNKS = default_chunks(534)


def bundled_model(chunks: int = DEFAULT_CHUNKS):
    """``(params, state, prices)`` of the bundled book: genesis state and the first closes."""
    from ..market import load_market
    from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
    from ..risk.book import load_book
    from ..risk.model import build_risk_model
    from ..risk.modelfx import genesis, params_from_risk_model

    book = load_book(DEFAULT_BOOK)
    market = load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)
    rm = build_risk_model(market, book)
    params = params_from_risk_model(rm, book, chunks)
    state, prices = genesis(rm, market)
    return params, state, prices


def _compile(config: ModelCircuitConfig) -> dict:
    from .setup import cached_compile
    t0 = time.perf_counter()
    _, info = cached_compile(config)
    return {"constraints": info["constraints"], "compile_seconds": info["compile_seconds"],
            "compile_cached": time.perf_counter() - t0 < 0.5 * info["compile_seconds"],
            "min_ptau_power": info["min_ptau_power"]}


def _prove_once(config: ModelCircuitConfig, params, state, prices, step_state) -> dict:
    """Dev setup + one arkworks proof (witness checked against the reference)."""
    from ..zk.prove import ContextInfo
    from .model_prove import ModelFile, model_build, prove_model

    t0 = time.perf_counter()
    build, reused = model_build(config, mode="dev")
    setup_s = build.manifest["seconds"].get("groth16py_setup") if reused else time.perf_counter() - t0
    mf = ModelFile(step_state if config.kind == "option" else state, params, {})
    with tempfile.TemporaryDirectory(prefix="calcm-bench-model-") as tmp:
        # The first proof also loads (and hashes) the proving key; the second is the steady
        # state of a prover that proves every part with the key already in memory.
        first = prove_model(build, mf, prices, Path(tmp) / "p1", ContextInfo(), backend="arkworks")
        res = prove_model(build, mf, prices, Path(tmp) / "p2", ContextInfo(), backend="arkworks")
    return {"setup_seconds": round(setup_s, 2), "setup_reused": reused, "security": build.manifest["security"],
            "witness_seconds": round(res.witness_seconds, 2), "prove_seconds": round(res.prove_seconds, 2),
            "first_prove_seconds": round(first.prove_seconds, 2), "backend": res.backend}


def _prove_all_parts(config: ModelCircuitConfig, params, prices, step_state) -> dict:
    """Every option part in sequence, as the keeper proves an option revaluation: measured."""
    from ..zk.prove import ContextInfo
    from .model_prove import ModelFile, model_build, prove_model

    build, _ = model_build(config, mode="dev")
    mf = ModelFile(step_state, params, {})
    prev, wit, prove = 0, 0.0, 0.0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calcm-bench-parts-") as tmp:
        for part in range(params.n_parts):
            res = prove_model(build, mf, prices, Path(tmp) / f"part{part}", ContextInfo(), part=part, prev=prev,
                              backend="arkworks")
            prev = int(res.expected.public_dict()["nextOptSponge"])
            wit, prove = wit + res.witness_seconds, prove + res.prove_seconds
    return {"seconds": round(time.perf_counter() - t0, 1), "parts": params.n_parts,
            "witness_seconds": round(wit, 1), "prove_seconds": round(prove, 1),
            "label": f"measured: all {params.n_parts} parts proven in sequence (witness + proof), key in memory"}


def bench_model(chunks: int = DEFAULT_CHUNKS, kinds=("option", "reval", "step"), *,
                prove_max: int = 500_000, all_parts: bool = False) -> dict:
    """The report of ``calcm bench model`` (module docstring); ``prove_max`` bounds what is set up."""
    from ..risk.modelfx import step

    check_tables()
    params, state, prices = bundled_model(chunks)
    new_state = step(state, prices, params).state
    rows = []
    for kind in kinds:
        cfg = ModelCircuitConfig.from_params(params, kind=kind)
        row = {"circuit": kind, "name": cfg.name, **_compile(cfg), "setup_seconds": None, "prove_seconds": None,
               "prove": "skipped: above prove_max", "snarkjs_prove_seconds": None,
               "snarkjs": "no snarkjs zkey: power > 13 (groth16py dev setup only)"}
        if row["constraints"] <= prove_max:
            row.update(_prove_once(cfg, params, state, prices, new_state), prove="measured")
        rows.append(row)
    measured = [r for r in rows if r["prove"] == "measured"]
    fit = None
    if len(measured) >= 2:
        xs, ys = [r["constraints"] for r in measured], [r["prove_seconds"] for r in measured]
        n, mx, my = len(xs), sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
        fit = {"seconds_per_constraint": slope, "intercept_seconds": my - slope * mx, "points": n}
        for r in rows:
            if r["prove"] != "measured":
                r["prove_seconds"] = round(fit["intercept_seconds"] + slope * r["constraints"], 2)
                r["prove"] = "fitted (linear in constraints through the measured circuits)"
    part = next((r for r in rows if r["circuit"] == "option"), None)
    total = None
    if part is not None and part["prove_seconds"] is not None:
        total = {"seconds": round(params.n_parts * part["prove_seconds"], 1), "parts": params.n_parts,
                 "label": f"computed: {params.n_parts} parts x the {part['prove']} part prove time"}
        if all_parts and part["prove"] == "measured":
            total = _prove_all_parts(ModelCircuitConfig.from_params(params, kind="option"), params, prices,
                                     new_state)
    return {"book": "bundled", "S": params.n_scenarios, "U": params.n_assets, "n": params.n_instruments,
            "options": params.n_options, "C": params.chunks, "chunk_size": params.chunk_size,
            "backend": "arkworks (groth16py 0.2.0), dev setup: INSECURE-DEV", "circuits": rows,
            "revalue_all_options": total, "prove_fit": fit}
