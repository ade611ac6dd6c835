"""The same registry flow on anvil and on py-evm: same verdicts, same rejections, gas reported."""
from __future__ import annotations

import pytest

from calcm.chain.evm import pyevm_web3
from calcm.chain.registry import RegistryRevert

from .helpers import GENESIS, KINDS, World

pytestmark = pytest.mark.slow


def _run(w3, build, margin_art, model_b, model_art) -> dict:
    """Deploy, prove group 0, submit, replay; returns what each step produced."""
    wd = World(w3, build, margin_art, model_b, model_art).setup()
    out = {"model_gas": wd.model_receipt.gasUsed}
    bp = wd.batch(0, wd.block)
    out["tiers"] = bp.tiers
    out["batch_gas"] = wd.submit(bp, wd.block).gasUsed
    out["health"] = [(h["tier"], h["valid"], h["liquidatable"], h["can_withdraw"])
                     for h in (wd.reg.health(o) for o in wd.owners)]
    try:
        wd.submit(bp, wd.block)
        out["replay"] = "accepted"
    except RegistryRevert as exc:
        out["replay"] = exc.name
    try:
        proof, _ = wd.model_proof(w3.eth.block_number, GENESIS, GENESIS + 5)
        wd.reg.submit_model_update(proof, w3.eth.block_number, GENESIS + 5, wd.scenario)
        out["stale_state_update"] = "accepted"
    except RegistryRevert as exc:
        out["stale_state_update"] = exc.name
    return out


def test_anvil_and_pyevm_agree(w3, margin_build, margin_verifier, model_placeholder):
    anvil = _run(w3, margin_build, margin_verifier, *model_placeholder)
    pyevm = _run(pyevm_web3(), margin_build, margin_verifier, *model_placeholder)
    verdicts = ("tiers", "health", "replay", "stale_state_update")
    assert {k: anvil[k] for k in verdicts} == {k: pyevm[k] for k in verdicts}
    assert anvil["health"][:2] == [(3, True, True, False), (0, True, False, True)]
    assert [h[1] for h in anvil["health"][2:]] == [False] * (len(KINDS) - 2)
    assert anvil["replay"] == "MarginRegistry__AlreadyRecorded"
    assert anvil["stale_state_update"] == "MarginRegistry__InvalidProof"
    # Each chain proves its own context (chain id, registry address), so the calldata and the
    # gas differ by a few zero bytes at most (4 vs 16 gas each); the schedules are the same.
    for k in ("model_gas", "batch_gas"):
        assert abs(anvil[k] - pyevm[k]) <= 12 * 64, (k, anvil[k], pyevm[k])
    print(f"\ngas anvil: batch {anvil['batch_gas']}, model {anvil['model_gas']}; "
          f"py-evm: batch {pyevm['batch_gas']}, model {pyevm['model_gas']}")
