"""Shared fixtures of the model-update tests: one real small build (cached by circuit source
hash outside the repo, so repeated runs skip the Groth16 setup) and one compile-only options
circuit for witness-level checks."""
from __future__ import annotations


import pytest

from calcm.risk.model_fx import ModelParamsFx
from calcm.zk.model_circuit import ModelCircuitConfig
from calcm.zk.model_prove import model_build
from calcm.zk.model_synthetic import OPTIONS, SMALL, TINY_OPTIONS, synthetic_params, synthetic_state
from calcm.zk.setup import CompiledCircuit, cached_compile


Circuit = CompiledCircuit


def small_params(seed: int = 1) -> ModelParamsFx:
    return synthetic_params(SMALL, seed=seed)


def options_params(seed: int = 1) -> ModelParamsFx:
    return synthetic_params(OPTIONS, seed=seed)


@pytest.fixture(scope="session")
def small_build():
    """The real small model build (compile + Groth16 setup + beacon, power-13 ptau)."""
    build, _ = model_build(ModelCircuitConfig.from_params(small_params()))
    return build


@pytest.fixture(scope="session")
def tiny_options_build():
    """A real build with one option (1 asset x 2 scenarios; 7,171 constraints, power-13 ptau)."""
    build, _ = model_build(ModelCircuitConfig.from_params(synthetic_params(TINY_OPTIONS, 1)))
    return build


@pytest.fixture(scope="session")
def small_circuit(small_build):
    return Circuit(ModelCircuitConfig.from_params(small_params()), small_build.dir)


@pytest.fixture(scope="session")
def options_circuit():
    """Compile-only options circuit (2 assets, 4 scenarios, 2 linear + 3 options; ~21.6k constraints)."""
    cfg = ModelCircuitConfig.from_params(options_params())
    d, _ = cached_compile(cfg)
    return Circuit(cfg, d)


@pytest.fixture
def small_state():
    return synthetic_state(small_params(), seed=1)
