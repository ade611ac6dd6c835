"""The same v2 registry flow on anvil and on py-evm: same verdicts, same rejections, and gas
within a few zero bytes of calldata (each chain proves its own context)."""
from __future__ import annotations

import pytest

from calcm.chain.evm import pyevm_web3, warp
from calcm.chain.registry import RegistryRevert

from .helpers import DAY, GENESIS, PRICES, World

pytestmark = pytest.mark.slow


def _try(fn) -> str:
    try:
        fn()
        return "accepted"
    except RegistryRevert as exc:
        return exc.name


def _run(w3, builds, arts) -> dict:
    """Genesis, one daily step, the option parts, a margin batch and its replay, a repeated
    step (H1), a reval; returns gas and verdicts."""
    wd = World(w3, builds, arts).setup()
    out = {}
    b = (wd.d0 + 2) * DAY
    warp(w3, b + 60)
    rounds = wd.post_all(PRICES, b + 1)
    out["step_gas"] = wd.step(rounds, GENESIS + 1, 0x1111).gasUsed
    out["option_gas"] = [wd.option_part(j, 0x5000 + j).gasUsed for j in range(wd.n_parts)]
    bt = wd.batch(0, [3, 0])
    out["batch_gas"] = wd.submit(bt).gasUsed
    out["health"] = [(h["tier"], h["valid"], h["liquidatable"], h["can_withdraw"])
                     for h in (wd.reg.health(o) for o in wd.owners)]
    out["replay"] = _try(lambda: wd.submit(bt))
    out["h1_step"] = _try(lambda: wd.step(rounds, GENESIS + 2, 0x2222))
    wd.post_all(PRICES, w3.eth.get_block("latest").timestamp)
    out["reval_gas"] = wd.reval(0x3333).gasUsed
    out["old_version_batch"] = _try(lambda: wd.submit(bt))
    return out


def test_anvil_and_pyevm_agree(w3, v2_placeholders):
    anvil = _run(w3, *v2_placeholders)
    pyevm = _run(pyevm_web3(), *v2_placeholders)
    verdicts = ("health", "replay", "h1_step", "old_version_batch")
    assert {k: anvil[k] for k in verdicts} == {k: pyevm[k] for k in verdicts}
    assert anvil["health"][:2] == [(3, True, True, False), (0, True, False, True)]
    assert anvil["replay"] == "MarginRegistry__AlreadyRecorded"
    assert anvil["h1_step"] == "MarginRegistry__NoNewDay"
    assert anvil["old_version_batch"] == "MarginRegistry__StaleModel"
    for k in ("step_gas", "batch_gas", "reval_gas"):
        assert abs(anvil[k] - pyevm[k]) <= 12 * 64, (k, anvil[k], pyevm[k])
    for a, p in zip(anvil["option_gas"], pyevm["option_gas"]):
        assert abs(a - p) <= 12 * 64
    print(f"\ngas anvil: step {anvil['step_gas']}, reval {anvil['reval_gas']}, options "
          f"{anvil['option_gas']}, batch {anvil['batch_gas']}; py-evm: step {pyevm['step_gas']}, "
          f"reval {pyevm['reval_gas']}, options {pyevm['option_gas']}, batch {pyevm['batch_gas']}")
