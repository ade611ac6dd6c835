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

Proving time is measured where a powers-of-tau file fits (the small
configuration, power 13); beyond, it is extrapolated linearly in the
constraint count from the largest measured proof (snarkjs' Groth16 prover is
dominated by multi-exponentiations linear in the constraints, plus FFTs of
O(n log n)), and the report says so.
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


def measure_small_prove() -> dict:
    """Witness and proving time of the small configuration (power-13 ptau), from the cached build."""
    from .model_prove import ModelFile, model_build, prove_update
    from .prove import ContextInfo

    params = synthetic_params(SMALL, seed=1)
    state = synthetic_state(params, seed=1)
    build, _ = model_build(ModelCircuitConfig.from_params(params, "small"))
    prices = tuple(round(p * 0.97) for p in state.price)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="model-bench-") as tmp:
        res = prove_update(build, ModelFile(state, params, {}), prices, Path(tmp) / "out", ContextInfo())
    return {"constraints": build.constraints, "witness_seconds": round(res.witness_seconds, 3),
            "prove_seconds": round(res.prove_seconds, 3), "ptau_power": build.manifest["ptau"]["power"]}


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
    small = measure_small_prove()
    per_constraint = small["prove_seconds"] / small["constraints"]
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
        row["prove_seconds"] = round(per_constraint * row["constraints"], 1)
        row["prove_measured"] = False
        configs.append(row)
    small_row = {"name": "small (2x8, 4 linear)", "assets": 2, "scenarios": 8, "option_series": 0,
                 "instruments": 4, "constraints": small["constraints"], "compiled": True,
                 "min_ptau_power": small["ptau_power"], "prove_seconds": small["prove_seconds"],
                 "witness_seconds": small["witness_seconds"], "prove_measured": True}
    return {
        "configs": [small_row] + configs,
        "cost_model": {f: round(float(c), 2) for f, c in zip(FEATURES, coef)},
        "cost_model_max_error_on_calibration": round(calib_err, 2),
        "calibration": calib,
        "notes": [
            "constraints: compiled by circom where 'compiled' is true, else the fitted cost model "
            f"(max error {calib_err:.0f} constraints on {len(samples)} calibration circuits)",
            f"proving measured on the small configuration ({small['constraints']:,} constraints, power-"
            f"{small['ptau_power']} ptau): {small['prove_seconds']} s; larger configurations extrapolated "
            f"linearly ({per_constraint * 1e6:.0f} us per constraint): no powers-of-tau file of their size "
            "exists here (a dev ptau of power 19+ takes hours to prepare on 2 cores)",
            "options are Black-76 full revaluation: ~710 constraints per scenario-option plus ~227 per "
            "scenario-asset carrying options (LnInt)",
        ],
    }
