"""Shared fixtures of the audit tests: the project's own builds, reused from the zk and model
tests' cache (one build per circuit source hash, outside the repo), so the suite never runs the
Groth16 setup twice."""
from __future__ import annotations

import pytest

from calcm.zk.config import SMALL
from calcm.zk.setup import cached_build


@pytest.fixture(scope="session")
def margin_build():
    """The small margin build (the zk tests' ``small_build``: same cache entry)."""
    return cached_build(SMALL)


def _model_params():
    import dataclasses

    from calcm.zk.model_synthetic import SyntheticSpec, synthetic_params
    # The model tests' small shape (tests/model/conftest.py: same circuits, same cache entries).
    spec = SyntheticSpec(U=2, S=4, linear=(("spot", 0), ("perp", 1)), n_options=1, collateral=(-1, 0), k_tail=2)
    return dataclasses.replace(synthetic_params(spec, 1), chunks=2)


@pytest.fixture(scope="session")
def model_build():
    """The small ``ModelReval`` build (about 8,000 constraints: a snarkjs zkey on the power-13 dev ptau)."""
    from calcm.zk.model_circuit import ModelCircuitConfig
    from calcm.zk.model_prove import model_build as build_model

    build, _ = build_model(ModelCircuitConfig.from_params(_model_params(), kind="reval"), mode="ceremony")
    return build


@pytest.fixture(scope="session")
def options_build():
    """The small ``OptionPart`` build (its ``ln`` and Black-76 hints; groth16py dev setup)."""
    from calcm.zk.model_circuit import ModelCircuitConfig
    from calcm.zk.model_prove import model_build as build_model

    build, _ = build_model(ModelCircuitConfig.from_params(_model_params(), kind="option"), mode="dev")
    return build


@pytest.fixture(scope="session")
def step_build():
    """The small ``ModelStep`` build (the model tests' dev build: same cache entry)."""
    from calcm.zk.model_circuit import ModelCircuitConfig
    from calcm.zk.model_prove import model_build as build_model

    build, _ = build_model(ModelCircuitConfig.from_params(_model_params(), kind="step"), mode="dev")
    return build
