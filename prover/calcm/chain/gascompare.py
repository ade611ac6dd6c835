"""Gas of the registry before and after a change: the same flow, the same verifiers, one node.

``python -m calcm.chain.gascompare [COMMIT]`` (default ``10cf21b``, the v2 registry) deploys
the registry of ``COMMIT`` (read with ``git show``) and the working tree's registry side by
side on one anvil node, with the same generated verifiers, and runs on each: a daily model
step (3 assets), an intraday revaluation, and a margin batch of N = 2 twice (a group's
first record, then an update). Prints JSON with the gas used and the relative change.

The verifiers are snarkjs-generated Groth16 verifiers of PLACEHOLDER circuits with the real
signal counts (margin batch 5, step 5 + K, reval 4 + K; :mod:`calcm.chain.placeholder`):
Groth16 verification costs the same for any circuit with the same number of public signals,
so the difference measured is the registry's own. The old registry takes the old
``packedResult`` layout (no N), the new one the new; both verifiers accept either.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from web3 import Web3

from . import encoding, placeholder
from .anvil import Anvil
from .contracts import REGISTRY, compile_registry, compile_verifier, generate_verifier
from .deployment import ModelVerifiers, deploy, deploy_price_feeds
from .evm import http_web3, warp
from .registry import Roles
from .solc import compile_sources
from .transact import Transactor, deploy_contract

N_ASSETS = 3
GROUP_SIZE = 2
PRICES = [60_000.0, 3_000.0, 1.0]
PARAM_HASH = 0xC0FFEE
GENESIS = 0x6E6E51
LIN = 0x1111
DAY = encoding.DAY


def _old_sources(commit: str) -> dict[str, str]:
    """The hand-written contracts of ``commit`` (registry, interfaces, Groth16Call)."""
    names = ["MarginRegistry.sol", "Groth16Call.sol", "MockPriceFeed.sol",
             "interfaces/AggregatorV3Interface.sol", "interfaces/IMarginVerifier.sol",
             "interfaces/IModelVerifiers.sol"]
    return {n: subprocess.run(["git", "show", f"{commit}:verifier_contracts/{n}"], check=True,
                              capture_output=True, text=True).stdout for n in names}


def _verifiers(tmp: Path) -> tuple[dict, dict]:
    counts = {"margin": encoding.MARGIN_SIGNALS, "step": encoding.step_signal_count(N_ASSETS),
              "reval": encoding.reval_signal_count(N_ASSETS)}
    builds = {k: placeholder.build(n, tag=t) for (k, n), t in zip(counts.items(), (1, 2, 3))}
    arts = {k: compile_verifier(generate_verifier(b.zkey, f"{k}_verifier", tmp / k))
            for k, b in builds.items()}
    return builds, arts


def _flow(w3, reg_call, send, builds, root, packed) -> dict:
    """Step, reval, two margin batches on a configured registry; returns gas used."""
    f = reg_call
    ctx = lambda b: f.contextOf(b).call()  # noqa: E731
    prove = lambda k, s: placeholder.prove(builds[k], s)[0]  # noqa: E731
    rounds = [1] * N_ASSETS
    close = f.packedClosePrices(rounds).call()
    blk = w3.eth.block_number
    out = {}
    p = prove("step", [GENESIS, GENESIS + 1, LIN, PARAM_HASH, ctx(blk)] + close)
    out["model_step"] = send(f.submitModelStep(encoding.solidity_proof(p), blk, rounds,
                                               GENESIS + 1, LIN)).gasUsed
    blk = w3.eth.block_number
    p = prove("reval", [GENESIS + 1, LIN, PARAM_HASH, ctx(blk)] + f.packedPrices().call())
    out["model_reval"] = send(f.submitModelReval(encoding.solidity_proof(p), blk, LIN)).gasUsed
    for label in ("margin_batch_first", "margin_batch_update"):
        blk = w3.eth.block_number
        v = f.modelVersion().call()
        p = prove("margin", [root, LIN, 0, ctx(blk), packed])
        out[label] = send(f.submitMarginBatch(encoding.solidity_proof(p), blk, v, 0,
                                              packed)).gasUsed
    return out


def compare(commit: str = "10cf21b") -> dict:
    """Gas of the flow on the registry of ``commit`` and on the working tree's."""
    with tempfile.TemporaryDirectory(prefix="calcm-gascmp-") as tmp, Anvil() as node:
        w3 = http_web3(node.url)
        builds, arts = _verifiers(Path(tmp))
        acc = w3.eth.accounts
        gov, venue, keeper = acc[0], acc[1], acc[2]
        now = w3.eth.get_block("latest").timestamp
        day = now // DAY - 2                              # a step is due
        warp(w3, now + 60)
        owners = [Web3.to_checksum_address(f"0x{0xCA1C0000 + a:040x}") for a in range(2)]
        root = 0xA11CE
        # old registry: configured by its single governance key
        old = compile_sources(_old_sources(commit))[REGISTRY]
        addr, _ = deploy_contract(w3, old, gov, GROUP_SIZE, N_ASSETS, 0, 1000, 10 * DAY, 10 * DAY)
        c = w3.eth.contract(address=addr, abi=old.abi)
        tx = Transactor(w3, old.abi)
        addrs = {k: deploy_contract(w3, a, gov)[0] for k, a in arts.items()}
        feeds, _ = deploy_price_feeds(w3, gov, PRICES, artifacts=compile_registry())
        f = c.functions
        for fn in (f.setMarginVerifier(addrs["margin"]), f.setPriceFeeds(feeds),
                   f.setVenue(venue, True), f.setKeeper(keeper, True),
                   f.setModelVerifiers(addrs["step"], addrs["reval"], "0x" + "00" * 20),
                   f.setParamHash(PARAM_HASH), f.setModelState(GENESIS, day)):
            tx.send(fn, gov)
        for leaf, o in enumerate(owners):
            tx.send(f.registerAccount(o, leaf), venue)
        root_old = tx.send(f.postAccountsRoot(root, [0, 1]), venue).gasUsed
        old_gas = _flow(w3, f, lambda fn: tx.send(fn, keeper), builds, root,
                        0 + 2**32 * (1 * 1 + 3 * 4))
        old_gas["post_accounts_root_2_leaves"] = root_old
        # new registry: deploy() (genesis, timelock, finalize), same verifiers' circuits
        mv = ModelVerifiers(arts["step"], arts["reval"])
        reg, _ = deploy(w3, arts["margin"], model_verifiers=mv, n_assets=N_ASSETS,
                        group_size=GROUP_SIZE, roles=Roles(gov, venue, (keeper,)),
                        initial_prices=PRICES, param_hash=PARAM_HASH, genesis_state=GENESIS,
                        genesis_day=day, max_age=1000, max_price_age=10 * DAY,
                        option_max_age=10 * DAY)
        for leaf, o in enumerate(owners):
            reg.register_account(o, leaf)
        root_new = reg.post_accounts_root(root).gasUsed
        new_gas = _flow(w3, reg.f, lambda fn: reg.tx.send(fn, keeper), builds, root,
                        encoding.pack_result(0, [1, 3]))
        new_gas["post_accounts_root_2_leaves"] = root_new
        sizes = {"old": (len(old.deployed_bytecode) - 2) // 2,
                 "new": (len(compile_registry()[REGISTRY].deployed_bytecode) - 2) // 2}
    return {"commit": commit, "node": "anvil", "n_assets": N_ASSETS, "group_size": GROUP_SIZE,
            "verifiers": "snarkjs Groth16 verifiers of PLACEHOLDER circuits with the real signal "
                         "counts (margin 5, step 6, reval 5), the same contracts for both",
            "old": old_gas, "new": new_gas, "runtime_bytes": sizes,
            "change_pct": {k: round(100 * (new_gas[k] / old_gas[k] - 1), 2) for k in old_gas}}


if __name__ == "__main__":
    print(json.dumps(compare(*sys.argv[1:2]), indent=2))
