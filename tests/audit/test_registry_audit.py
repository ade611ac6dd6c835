"""Issue 13 I3: `calcm audit --registry ADDR --rpc URL` audits the verifiers the registry USES
now (marginVerifier, stepVerifier, revalVerifier, optionVerifier), read from the chain, not
addresses the auditor is handed. Real anvil, the real MarginRegistry v3 (calcm.chain.deployment
.deploy: genesis, then the timelock) and verifiers compiled from the audited zkeys.

Exit codes: 3 when a verifier in use is not the audited build's; 4 (one line, at once) when
the RPC node does not answer.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.audit import setup_integrity as SI
from calcm.cli import main

pytestmark = pytest.mark.slow

FAST = ["--max-wires", "200", "--random-cases", "1", "--no-hint-probes"]


def test_a_dead_rpc_is_exit_code_4_in_one_line(margin_build, tmp_path):
    res = CliRunner().invoke(main, ["audit", "--build", str(margin_build.dir), "--registry", "0x" + "11" * 20,
                                    "--rpc", "http://127.0.0.1:9", "--verifiers", str(tmp_path)])
    assert res.exit_code == 4, (res.exit_code, res.output[-500:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the JSON-RPC node at http://127.0.0.1:9" in lines[0]
    res = CliRunner().invoke(main, ["audit", "--build", str(margin_build.dir), "--rpc", "http://127.0.0.1:9"])
    assert res.exit_code == 2 and "--registry" in res.stderr       # --rpc alone: bad input


def test_audit_follows_the_registrys_current_verifiers(margin_build, model_build, tmp_path):
    from calcm.chain import governance
    from calcm.chain.anvil import Anvil
    from calcm.chain.contracts import compile_verifier, export_verifier_source
    from calcm.chain.deployment import deploy
    from calcm.chain.evm import http_web3
    from calcm.chain.registry import deploy_contract

    sources = {}
    for tag, build, fname in (("margin", margin_build, f"MarginVerifier_{margin_build.config.name}.sol"),
                              ("model", model_build, "ModelVerifier.sol")):
        path = tmp_path / fname
        path.write_bytes(export_verifier_source(build.zkey))
        sources[tag] = (path, build)
    expected = {"margin small": ("margin", SI.expected_runtime(margin_build, sources["margin"][0].read_bytes())),
                "model reval": ("model-reval", SI.expected_runtime(model_build, sources["model"][0].read_bytes()))}
    with Anvil() as node:
        w3 = http_web3(node.url)
        reg, dep = deploy(w3, compile_verifier(sources["margin"][0]), n_assets=2, group_size=margin_build.config.N,
                          timelock_delay=60)
        assert dep.genesis_over
        in_use = SI.registry_verifiers(node.url, dep.registry)
        assert in_use == {"marginVerifier()": dep.margin_verifier, "stepVerifier()": None,
                          "revalVerifier()": None, "optionVerifier()": None}
        ok = SI.registry_check(expected, node.url, dep.registry, in_use)
        assert ok.status == "PASS" and ok.counts == {"verifiers in use": 1, "mismatches": 0}, ok.details
        assert "identical to the verifier of margin small" in ok.details[0]

        # Governance switches the margin verifier through the timelock to another circuit's
        # verifier: the audit reads the switch from the registry and fails.
        other, _ = deploy_contract(w3, compile_verifier(sources["model"][0]), dep.roles["governance"])
        governance.enact(reg, reg.f.setMarginVerifier(other))
        now = SI.registry_verifiers(node.url, dep.registry)
        assert now["marginVerifier()"] == other
        bad = SI.registry_check(expected, node.url, dep.registry, now)
        assert bad.status == "FAIL" and bad.counts["mismatches"] == 1
        assert "it is the verifier of model reval, a model-reval build, not a margin one" in bad.details[0]

        # Through the command: the mismatch is exit code 3 and the check is in the JSON.
        res = CliRunner().invoke(main, ["audit", "--build", str(margin_build.dir), *FAST, "--json",
                                        "--verifiers", str(tmp_path), "--registry", dep.registry,
                                        "--rpc", node.url])
        assert res.exit_code == 3, (res.exit_code, res.stderr[-1500:])
        doc = json.loads(res.stdout)
        chk = next(c for c in doc["checks"] if c["name"] == SI.REGISTRY_CHECK)
        assert chk["status"] == "FAIL" and "no audited build" not in chk["details"][0]
        assert "match no audited margin build" in chk["details"][0]
        failed = {c["name"] for c in doc["checks"] if c["status"] == "FAIL"}
        assert failed == {SI.REGISTRY_CHECK}, failed

        # A registry address that is not a registry is bad input (exit 2, one line).
        res = CliRunner().invoke(main, ["audit", "--build", str(margin_build.dir), "--registry", other,
                                        "--rpc", node.url])
        assert res.exit_code == 2 and "not a MarginRegistry" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
