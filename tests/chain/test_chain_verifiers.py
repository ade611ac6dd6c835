"""Generated verifiers: reproducible from the zkey, and in agreement with the other verifiers
(snarkjs, the py_ecc verifier of calcm.zk) on anvil and on py-evm, with equal gas."""
from __future__ import annotations

import json

import pytest

from calcm.chain import encoding, sample
from calcm.chain.contracts import (export_verifier_source, generate_verifier,
                                   verifier_signal_count)
from calcm.chain.evm import pyevm_web3
from calcm.chain.registry import deploy_contract
from calcm.fixedpoint import FIELD_PRIME

from .helpers import rerandomize

pytestmark = pytest.mark.slow


def test_regenerating_gives_the_identical_file(margin_build, tmp_path):
    a = generate_verifier(margin_build.zkey, "MarginVerifier_small", tmp_path / "a")
    b = generate_verifier(margin_build.zkey, "MarginVerifier_small", tmp_path / "b")
    assert a.read_bytes() == b.read_bytes() == export_verifier_source(margin_build.zkey)
    text = a.read_text()
    assert "This file is generated with [snarkJS]" in text
    # The verification key constants in the file are the build's.
    vk = margin_build.vkey
    assert f"alphax  = {vk['vk_alpha_1'][0]}" in text
    assert len(vk["IC"]) == 6 and f"IC5x = {vk['IC'][5][0]}" in text      # 5 public inputs + 1


def test_committed_verifier_is_current(margin_build):
    """verifier_contracts/generated/ holds the small build's verifier, regenerated whenever the
    circuit changes (the dev zkey is reproducible from the sources and the dev ptau)."""
    from calcm.chain.contracts import GENERATED
    committed = GENERATED / "MarginVerifier_small.sol"
    assert committed.read_bytes() == export_verifier_source(margin_build.zkey), (
        "stale generated verifier: run `calcm setup && calcm chain verifiers --build build/small`")


def test_verifiers_cli_writes_files_and_manifest(margin_build, tmp_path):
    from click.testing import CliRunner

    from calcm.cli import main
    from calcm.zk.ptau import sha256_file
    res = CliRunner().invoke(main, ["chain", "verifiers", "--build", str(margin_build.dir),
                                    "--out", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    entry = doc["files"]["MarginVerifier_small.sol"]
    assert entry["vkey_sha256"] == sha256_file(margin_build.vkey_path)
    assert entry["group_size"] == margin_build.config.N
    assert (tmp_path / "MarginVerifier_small.sol").read_bytes() == \
        export_verifier_source(margin_build.zkey)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["do_not_edit"] and "MarginVerifier_small.sol" in manifest["files"]


def test_signal_count(margin_verifier):
    assert verifier_signal_count(margin_verifier) == encoding.MARGIN_SIGNALS


@pytest.fixture(scope="module")
def cases(margin_build):
    """A real proof (any context: the verifier alone does not read the chain) and variants."""
    c = margin_build.config
    model = sample.sample_model(c)
    accounts = [sample.sample_account("liquidatable", c.n, c.m, 1),
                sample.sample_account("healthy", c.n, c.m, 2)]
    bp = sample.prove_batch(margin_build, model, accounts, 0, 0xC0DE)
    out = {"valid": (bp.proof, bp.public, True),
           "rerandomised": (rerandomize(bp.proof, 12345), bp.public, True)}
    names = (("root", "scenario", "context", "packedResult") if len(bp.public) == 4 else
             ("root", "linCommitment", "optCommitment", "context", "packedResult"))
    for i, name in enumerate(names):
        pub = list(bp.public)
        pub[i] += 1
        out[f"{name}+1"] = (bp.proof, pub, False)
    pub = list(bp.public)
    pub[-1] += FIELD_PRIME                                        # same scalar mod r: malleable if unchecked
    out["packedResult+p"] = (bp.proof, pub, False)
    swapped = {**bp.proof, "pi_a": bp.proof["pi_c"], "pi_c": bp.proof["pi_a"]}
    out["A<->C"] = (swapped, bp.public, False)
    return out


def _onchain(w3, art, cases):
    addr, _ = deploy_contract(w3, art, w3.eth.accounts[0])
    v = w3.eth.contract(address=addr, abi=art.abi)
    res, gas = {}, {}
    for name, (proof, public, _) in cases.items():
        fn = v.functions.verifyProof(*encoding.solidity_proof(proof), public)
        res[name] = fn.call()
        if name in ("valid", "rerandomised"):
            rcpt = w3.eth.wait_for_transaction_receipt(
                fn.transact({"from": w3.eth.accounts[0], "gas": 1_000_000}))
            gas[name] = rcpt.gasUsed
    return res, gas


def test_four_verifiers_agree(cases, margin_build, margin_verifier, w3, tmp_path):
    """snarkjs, py_ecc (calcm.zk.pyverify), and the generated contract on anvil and py-evm."""
    from calcm.zk.pyverify import verify
    from calcm.zk.toolchain import snarkjs
    expected = {k: v[2] for k, v in cases.items()}
    assert {k: verify(margin_build.vkey, pub, proof) for k, (proof, pub, _) in cases.items()} == expected
    for name in ("valid", "rerandomised", "context+1"):
        proof, pub, ok = cases[name]
        (tmp_path / "p.json").write_text(json.dumps(proof))
        (tmp_path / "s.json").write_text(json.dumps([str(x) for x in pub]))
        out = snarkjs("groth16", "verify", margin_build.vkey_path, tmp_path / "s.json",
                      tmp_path / "p.json", check=False)
        assert ("OK!" in out.stdout + out.stderr) == ok, name
    anvil_res, anvil_gas = _onchain(w3, margin_verifier, cases)
    pyevm_res, pyevm_gas = _onchain(pyevm_web3(), margin_verifier, cases)
    assert anvil_res == pyevm_res == expected
    # Identical calldata, identical gas on both EVMs (both Prague schedules).
    assert anvil_gas == pyevm_gas
    floor = 181_000 + 6_200 * len(cases["valid"][1]) + 21_000
    assert floor < anvil_gas["valid"] < 1.15 * floor
    print(f"\nverifier tx gas: anvil {anvil_gas}, py-evm {pyevm_gas}, floor {floor}")
