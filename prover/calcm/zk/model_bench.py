"""``calcm bench model``: constraints and proving time of the model-update circuit.

Constraint counts come from circom itself. Small calibration circuits are
compiled and a cost model is fitted to them::

    constraints = c0 + c_asset U + c_move S U + c_lnasset A + c_lnscen S A
                  + c_opt O + c_optscen S O + c_hash (Poseidon(16) calls)

(A = assets carrying options, O = option series, hash calls counted exactly
from the three encodings' lengths). A bench configuration is then compiled for
real when its predicted size is below ``compile_max`` (circom2 runs in WASM on
one core), else its count is the fitted prediction, labelled as such; the fit's
error on every compiled configuration is reported.

Proving time is measured where a powers-of-tau file fits (two circuits of
3k and 7.7k constraints, power 13): the two points give a fixed cost and a
marginal cost per constraint, and larger circuits are extrapolated from them
(snarkjs' Groth16 prover is dominated by multi-exponentiations linear in the
constraints, plus FFTs of O(n log n)); the report says which figures are
extrapolated.
"""
from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np

from ..paths import cache_dir
from ..zk.poseidon import sponge_calls
from .model_circuit import ModelCircuitConfig, check_tables
from .model_synthetic import SMALL, SyntheticSpec, synthetic_params, synthetic_state
from .toolchain import circom_compile, r1cs_info

FEATURES = ("const", "asset", "move", "ln_asset", "ln_scenario", "option", "option_scenario", "hash_calls")


def hash_calls(spec_params) -> int:
    """Poseidon(16) permutations of the circuit: two states, the parameters, the margin model."""
    p = spec_params
    U, S, n, m = p.n_assets, p.n_scenarios, p.n_instruments, p.n_collateral
    state = sponge_calls(3 + 2 * U)
    params = sponge_calls(len(p.field_elements()))
    model = sponge_calls(8 + S * n + n + U * n + 2 * m + 2 * U)
    return 2 * state + params + model


def features(params) -> list[int]:
    U, S = params.n_assets, params.n_scenarios
    A, O = len(params.option_assets), len(params.options)
    return [1, U, S * U, A, S * A, O, S * O, hash_calls(params)]


def bench_spec(assets: int, scenarios: int, options: int) -> SyntheticSpec:
    """The bench shape: a spot and a perp per asset, options spread over the assets, 3 collateral assets."""
    return SyntheticSpec(U=assets, S=scenarios, linear=tuple((k, u) for u in range(assets) for k in ("spot", "perp")),
                         n_options=options, collateral=(-1, 0, 1) if assets > 1 else (-1, 0),
                         k_tail=max(1, math.ceil(0.01 * scenarios - 1e-9)))


CALIBRATION = (
    SyntheticSpec(U=1, S=1, linear=(("perp", 0),), collateral=(-1,), k_tail=1),
    SyntheticSpec(U=3, S=1, linear=(("perp", 0),), collateral=(-1,), k_tail=1),
    SyntheticSpec(U=1, S=6, linear=(("perp", 0),), collateral=(-1,), k_tail=1),
    SyntheticSpec(U=2, S=5, linear=(("perp", 0), ("spot", 1)), collateral=(-1,), k_tail=1),
    SyntheticSpec(U=1, S=1, linear=(("perp", 0),), n_options=1, collateral=(-1,), k_tail=1),
    SyntheticSpec(U=1, S=3, linear=(("perp", 0),), n_options=1, collateral=(-1,), k_tail=1),
    SyntheticSpec(U=1, S=2, linear=(("perp", 0),), n_options=3, collateral=(-1,), k_tail=1),
    SyntheticSpec(U=2, S=2, linear=(("perp", 0),), n_options=2, collateral=(-1,), k_tail=1),
)


def compile_count(params, name: str) -> dict:
    """Compile the circuit of ``params`` in a temp dir: constraint count and compile time."""
    cfg = ModelCircuitConfig.from_params(params, name)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="model-bench-") as tmp:
        main = Path(tmp) / "main.circom"
        main.write_text(cfg.main_source())
        t0 = time.perf_counter()
        res = circom_compile(main, Path(tmp))
        info = r1cs_info(res.r1cs)
        return {"constraints": info.n_constraints, "compile_seconds": round(time.perf_counter() - t0, 2),
                "min_ptau_power": info.min_ptau_power()}


def fit_cost_model(samples: list[tuple[list[int], int]]) -> np.ndarray:
    X = np.array([f for f, _ in samples], float)
    y = np.array([c for _, c in samples], float)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef


def measure_prove(spec: SyntheticSpec, seed: int = 1, repeats: int = 2) -> dict:
    """Witness and proving time (best of ``repeats``) of one block of ``spec`` (cached build)."""
    from .model_prove import ModelFile, model_build, prove_update
    from .prove import ContextInfo

    params = synthetic_params(spec, seed=seed)
    state = synthetic_state(params, seed=seed)
    build, _ = model_build(ModelCircuitConfig.from_params(params))
    prices = tuple(round(p * 0.97) for p in state.price)
    best = None
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="model-bench-") as tmp:
        for r in range(repeats):
            res = prove_update(build, ModelFile(state, params, {}), prices, Path(tmp) / f"out{r}", ContextInfo())
            if best is None or res.prove_seconds < best.prove_seconds:
                best = res
    return {"constraints": build.constraints, "witness_seconds": round(best.witness_seconds, 3),
            "prove_seconds": round(best.prove_seconds, 3), "ptau_power": build.manifest["ptau"]["power"]}


def bench_model(assets: int = 8, scenarios: int = 256, option_counts=(0, 16, 64), *,
                compile_max: int = 600_000) -> dict:
    check_tables()
    samples, calib = [], []
    for k, spec in enumerate(CALIBRATION):
        p = synthetic_params(spec, seed=k)
        c = compile_count(p, f"calib-{k}")
        samples.append((features(p), c["constraints"]))
        calib.append({"spec": {"U": spec.U, "S": spec.S, "options": spec.n_options}, **c})
    coef = fit_cost_model(samples)
    calib_err = max(abs(float(np.dot(coef, f)) - c) for f, c in samples)
    # Proving time: two proven sizes give a fixed cost (node start-up, zkey load) and a
    # marginal cost per constraint; larger circuits are extrapolated from the marginal cost.
    tiny = measure_prove(CALIBRATION[0], seed=0)
    small = measure_prove(SMALL, seed=1)
    per_constraint = max((small["prove_seconds"] - tiny["prove_seconds"])
                         / max(small["constraints"] - tiny["constraints"], 1), 1e-6)
    fixed = max(small["prove_seconds"] - per_constraint * small["constraints"], 0.0)
    configs = []
    for o in option_counts:
        p = synthetic_params(bench_spec(assets, scenarios, o), seed=100 + o)
        predicted = int(round(float(np.dot(coef, features(p)))))
        row = {"name": f"{assets}x{scenarios}-opt{o}", "assets": assets, "scenarios": scenarios,
               "option_series": o, "instruments": p.n_instruments, "predicted_constraints": predicted,
               "compiled": False, "constraints": predicted,
               "min_ptau_power": max(1, (predicted + 5 + 2).bit_length())}
        if predicted <= compile_max:
            c = compile_count(p, row["name"])
            row.update(compiled=True, constraints=c["constraints"], compile_seconds=c["compile_seconds"],
                       min_ptau_power=c["min_ptau_power"],
                       prediction_error=predicted - c["constraints"])
        row["prove_seconds"] = round(fixed + per_constraint * row["constraints"], 1)
        row["prove_measured"] = False
        configs.append(row)
    measured = [{"name": f"{spec_name} ({m['constraints']:,} constraints)", "constraints": m["constraints"],
                 "compiled": True, "min_ptau_power": m["ptau_power"], "prove_seconds": m["prove_seconds"],
                 "witness_seconds": m["witness_seconds"], "prove_measured": True}
                for spec_name, m in (("calibration U=1 S=1", tiny), ("small 2x8, 4 linear", small))]
    return {
        "configs": measured + configs,
        "prove_model": {"fixed_seconds": round(fixed, 3), "seconds_per_constraint": per_constraint},
        "cost_model": {f: round(float(c), 2) for f, c in zip(FEATURES, coef)},
        "cost_model_max_error_on_calibration": round(calib_err, 2),
        "calibration": calib,
        "notes": [
            "constraints: compiled by circom where 'compiled' is true, else the fitted cost model "
            f"(max error {calib_err:.0f} constraints on {len(samples)} calibration circuits)",
            f"proving measured on two proven circuits ({tiny['constraints']:,} and {small['constraints']:,} "
            f"constraints, power-{small['ptau_power']} ptau): {tiny['prove_seconds']} s and "
            f"{small['prove_seconds']} s; larger configurations extrapolated as {fixed:.2f} s + "
            f"{per_constraint * 1e6:.0f} us per constraint (snarkjs' prover is MSM-dominated, linear, plus "
            "O(n log n) FFTs, so this is a lower estimate at millions of constraints): no powers-of-tau "
            "file of their size exists here (a dev ptau of power 19+ takes hours to prepare on 2 cores)",
            "options are Black-76 full revaluation: ~710 constraints per scenario-option plus ~227 per "
            "scenario-asset carrying options (LnInt)",
        ],
    }
