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


@pytest.fixture(scope="session")
def model_build():
    """The small model-update build (the model tests' ``small_build``: same cache entry)."""
    from calcm.zk.model_circuit import ModelCircuitConfig
    from calcm.zk.model_prove import model_build as build_model
    from calcm.zk.model_synthetic import SMALL as MODEL_SMALL
    from calcm.zk.model_synthetic import synthetic_params

    build, _ = build_model(ModelCircuitConfig.from_params(synthetic_params(MODEL_SMALL, seed=1)))
    return build


@pytest.fixture(scope="session")
def options_build():
    """The model tests' tiny build with one option series (its ``ln`` and Black-76 hints)."""
    from calcm.zk.model_circuit import ModelCircuitConfig
    from calcm.zk.model_prove import model_build as build_model
    from calcm.zk.model_synthetic import TINY_OPTIONS, synthetic_params

    build, _ = build_model(ModelCircuitConfig.from_params(synthetic_params(TINY_OPTIONS, 1)))
    return build
