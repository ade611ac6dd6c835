"""Shared fixtures of the zk tests: one real build per circuit source hash, cached outside
the repo (``calcm.paths.cache_dir()``), so repeated runs do not redo the Groth16 setup."""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from calcm.paths import cache_dir
from calcm.zk.config import SMALL, CircuitConfig, source_hash
from calcm.zk.setup import CompiledCircuit, cached_build, cached_compile
from calcm.zk.toolchain import circom_compile
from calcm.zk.witness import BatchExpected, batch_input, calculate_witness, venue_tree
from calcm.zk.wtns import Witness

HERE = Path(__file__).parent
#: A compile-only configuration for the bit-exactness properties: 4 accounts per witness
#: run, and a tail size (k = 3) that is not a power of two (exercises the ceil remainder).
PROP = CircuitConfig("prop", N=4, D=2, S=10, n=3, U=2, m=2, k=3)


@pytest.fixture(scope="session")
def small_build():
    """The real small build (compile + Groth16 setup + beacon), cached by source hash."""
    return cached_build(SMALL)


Compiled = CompiledCircuit


@pytest.fixture(scope="session")
def prop_circuit():
    d, _ = cached_compile(PROP)
    return Compiled(PROP, d)


@pytest.fixture(scope="session")
def small_circuit(small_build):
    return Compiled(SMALL, small_build.dir)


def compile_harness(name: str) -> Path:
    """Compile a test harness of tests/zk/circuits once per content hash; returns its dir."""
    src = HERE / "circuits" / f"{name}.circom"
    key = hashlib.sha256(src.read_bytes() + source_hash(SMALL).encode()).hexdigest()[:16]
    d = cache_dir() / "compile" / f"test-{name}-{key}"
    if not (d / f"{name}_js" / f"{name}.wasm").exists():
        circom_compile(src, d)
    return d


@dataclass
class BatchRun:
    inp: dict
    expected: BatchExpected
    witness: Witness
    sym: dict[str, int]

    def value(self, name: str) -> int:
        return self.witness[self.sym[name]]


def run_batch(circuit: Compiled, model, accounts, tmp_path: Path, group: int = 0, context: int = 7,
              tweak=None) -> BatchRun:
    """Witness for ``accounts`` (leaves 0..N-1 of a fresh tree), optionally tweaking the input."""
    tree = venue_tree(accounts, circuit.config)
    inp, expected = batch_input(circuit.config, model, accounts, group, tree, context)
    if tweak is not None:
        tweak(inp)
    wit = calculate_witness(circuit.wasm, inp, tmp_path / f"w{random.getrandbits(32)}.wtns")
    return BatchRun(inp, expected, wit, circuit.sym)
