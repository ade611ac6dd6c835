"""Fixtures of the chain tests: the real margin build, the placeholder model verifier, an anvil.

Everything runs on real tools: the small margin circuit built by calcm.zk (cached across
runs), snarkjs-generated verifiers compiled by the pinned solc, an anvil node started for
the session, and py-evm in process for cross-checks.
"""
from __future__ import annotations

import pytest

from calcm.chain import placeholder
from calcm.chain.anvil import Anvil
from calcm.chain.contracts import compile_verifier, generate_verifier
from calcm.chain.encoding import model_signal_count
from calcm.chain.evm import http_web3

from .helpers import N_ASSETS, World


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
def model_placeholder(tmp_path_factory):
    """PLACEHOLDER model-update circuit (binds the model's 5 + K public signals, proves
    nothing about the model) built in a temp dir, and its verifier: the registry tests need
    arbitrary transitions. The real model verifier runs through this registry in
    tests/model/test_model_chain.py."""
    d = tmp_path_factory.mktemp("model_placeholder")
    b = placeholder.build(model_signal_count(N_ASSETS), d)
    return b, compile_verifier(generate_verifier(b.zkey, "ModelVerifier", d))


@pytest.fixture(scope="session")
def anvil():
    with Anvil() as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil):
    return http_web3(anvil.url)


@pytest.fixture(scope="module")
def world(w3, margin_build, margin_verifier, model_placeholder):
    """A deployed registry with four registered accounts (leaves 0..3), the root posted and
    one proven model update; tests revert to this state (see ``fresh``)."""
    wd = World(w3, margin_build, margin_verifier, *model_placeholder)
    wd.setup()
    wd.snapshot()
    return wd


@pytest.fixture
def fresh(world):
    """``world`` reverted to its snapshot before the test."""
    world.revert()
    return world
