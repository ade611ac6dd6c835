"""Fixtures of the chain tests: the real margin build (verifier tests), PLACEHOLDER circuits
for the v2 registry's four verifiers, an anvil node for the session.

Everything runs on real tools: circuits built by circom/snarkjs (cached by source hash),
snarkjs-generated verifiers compiled by the pinned solc, an anvil node, and py-evm in
process for cross-checks.
"""
from __future__ import annotations

import pytest

from calcm.chain import encoding, placeholder
from calcm.chain.anvil import Anvil
from calcm.chain.contracts import compile_verifier, generate_verifier
from calcm.chain.evm import http_web3

from .helpers import N_ASSETS, PRICES, TAGS, World


@pytest.fixture(scope="session")
def margin_build():
    """The real margin circuit, small configuration (built once, then cached by source hash)."""
    from calcm.zk.setup import cached_build
    return cached_build("small")


@pytest.fixture(scope="session")
def margin_verifier(margin_build, tmp_path_factory):
    """The margin build's generated verifier, compiled."""
    out = tmp_path_factory.mktemp("generated")
    return compile_verifier(generate_verifier(margin_build.zkey, "MarginVerifier_small", out))


@pytest.fixture(scope="session")
def v2_placeholders(tmp_path_factory):
    """PLACEHOLDER circuits with the v2 signal counts (margin 5, step 5 + K, reval 4 + K,
    option part 5 + K), one distinct circuit each (``tag``), and their compiled verifiers.
    They prove nothing about the model or the margins: the registry tests need arbitrary
    transitions with real Groth16 proofs."""
    counts = {"margin": encoding.MARGIN_SIGNALS, "step": encoding.step_signal_count(N_ASSETS),
              "reval": encoding.reval_signal_count(N_ASSETS),
              "option": encoding.option_signal_count(N_ASSETS)}
    builds, arts = {}, {}
    for kind, n in counts.items():
        builds[kind] = placeholder.build(n, tag=TAGS[kind])
        out = tmp_path_factory.mktemp(f"gen_{kind}")
        arts[kind] = compile_verifier(generate_verifier(builds[kind].zkey, f"{kind}_verifier", out))
    return builds, arts


@pytest.fixture(scope="session")
def anvil():
    with Anvil() as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil):
    return http_web3(anvil.url)


@pytest.fixture(scope="module")
def world(w3, v2_placeholders):
    """A v2 registry with options (N_PARTS parts), genesis at day d0, the chain at 01:00 of
    d0 + 1, four registered accounts and the root posted; tests revert to this state."""
    wd = World(w3, *v2_placeholders).setup()
    wd.snapshot()
    return wd


@pytest.fixture
def fresh(world):
    """``world`` reverted to its snapshot before the test."""
    world.revert()
    return world


@pytest.fixture
def ready(fresh):
    """``fresh`` with a usable model version (a revaluation and the option parts)."""
    wd = fresh
    wd.post_all(PRICES, wd.w3.eth.get_block("latest").timestamp)
    wd.reval(0x1111)
    wd.options()
    return wd
