"""Shared fixtures of the model tests: the small v2 shape and its three circuits.

The shape (2 assets x 6 scenarios, a spot, a perp and one call, C = 2 chunks) is the
smallest that has every part of the v2 design: two assets (a packed price word with
two lanes), an option on one of them, two option parts chained through the sponge.
Compiles and the groth16py dev setups are cached by circuit source hash outside the
repository (``calcm.zk.setup``), so repeated runs reuse them.
"""
from __future__ import annotations

import dataclasses

import pytest

from calcm.risk.modelfx import ModelParamsFx
from calcm.zk.model_circuit import ModelCircuitConfig
from calcm.zk.model_synthetic import SyntheticSpec, synthetic_params, synthetic_state
from calcm.zk.setup import CompiledCircuit, cached_compile

#: The small test shape (compiles to 8,829 / 7,711 / 8,669 constraints: step / reval / option).
SPEC = SyntheticSpec(U=2, S=4, linear=(("spot", 0), ("perp", 1)), n_options=1, collateral=(-1, 0), k_tail=2)


def small_params(seed: int = 1, chunks: int = 2) -> ModelParamsFx:
    """Parameters of the small shape; every seed has the same structure (same circuits)."""
    return dataclasses.replace(synthetic_params(SPEC, seed), chunks=chunks)


@pytest.fixture(scope="module")
def model():
    """(params, state, closes): a day on which every asset falls 3%."""
    p = small_params()
    st = synthetic_state(p, 1)
    return p, st, tuple(int(x * 0.97) for x in st.price)


def compiled(params: ModelParamsFx, kind: str) -> CompiledCircuit:
    """The compiled (cached) ``kind`` circuit of ``params``' structure: witness-level tests."""
    cfg = ModelCircuitConfig.from_params(params, kind=kind)
    d, _ = cached_compile(cfg)
    return CompiledCircuit(cfg, d)


@pytest.fixture(scope="session")
def builds():
    """Real Groth16 builds (groth16py dev setup, cached) of the three circuits, by kind."""
    from calcm.zk.model_prove import model_build
    p = small_params()
    return {kind: model_build(ModelCircuitConfig.from_params(p, kind=kind), mode="dev")[0]
            for kind in ("step", "reval", "option")}
