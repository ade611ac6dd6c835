"""forge (Foundry 1.7.1) invariant and fuzz tests of the MarginRegistry, run offline.

The Solidity tests live in verifier_contracts/test/ (docs/CHAIN.md, "Forge invariants and
slither"); foundry.toml points forge at the pinned solcjs behind tools/solc_shim. forge runs
once per module: every test must pass, each invariant must make at least 10,000 handler calls
(issue 13), and the campaign must have landed every kind of action (the handler appends per-run
counts to $CALCM_FORGE_COVERAGE), or it would prove nothing about them. Proofs in forge go to a
stand-in verifier; the other chain tests use the real generated verifiers.
"""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from calcm.paths import NODE_BIN, REPO_ROOT

FORGE = NODE_BIN / "forge"
SHIM = REPO_ROOT / "tools" / "solc_shim"
INVARIANTS = {"invariant_noViolation()", "invariant_dayRisesOnePerStep()",
              "invariant_noRecordWithoutProof()", "invariant_gatingExact()",
              "invariant_governanceOnlyThroughTimelock()",
              "invariant_noCommitmentAcrossVerifierChange()"}
FUZZ = {"testFuzz_priceAtOrAboveBound(uint256)", "testFuzz_wrongShape(uint8,uint8)",
        "testFuzz_oldRound(uint256)", "testFuzz_adminOutsideTimelock(address,uint64,uint256)",
        "testFuzz_timelockDelay(uint64,uint256)"}
MIN_CALLS = 10_000
# Coverage CSV columns, one row per invariant run (MarginRegistryInvariants.afterInvariant).
COVERAGE = ("steps", "batches", "stranger_submissions", "gov_executed", "gov_refused", "violations")


def _shim(args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(SHIM), *args], input=stdin, capture_output=True, text=True,
                          timeout=120, check=False)


def test_solc_shim_speaks_native_version():
    """forge parses the native `solc --version` format; the shim reports the pinned solcjs."""
    lines = _shim(["--version"]).stdout.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith("Version: 0.8.37+commit.") and lines[1].endswith(".Linux.g++")


def test_solc_shim_resolves_imports_inside_allowed_paths_only(tmp_path):
    """An import missing from the input is read from the base path; one outside every allowed
    path is an import error in the output (as native solc), never a silent read."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "L.sol").write_text("pragma solidity ^0.8.0; library L { }")
    def std_in(path: str) -> str:
        src = f'pragma solidity ^0.8.0; import "{path}"; contract A {{ }}'
        return json.dumps({"language": "Solidity", "sources": {"A.sol": {"content": src}},
                           "settings": {"outputSelection": {"*": {"*": ["abi"]}}}})

    ok = json.loads(_shim(["--base-path", str(tmp_path), "--standard-json"],
                          std_in("lib/L.sol")).stdout)
    assert {"A", "L"} == {n for unit in ok["contracts"].values() for n in unit}
    other = tmp_path / "elsewhere"
    other.mkdir()
    absolute = std_in(str(tmp_path / "lib" / "L.sol"))
    outside = json.loads(_shim(["--base-path", str(other), "--standard-json"], absolute).stdout)
    assert any(e["severity"] == "error" and "outside the allowed paths" in e["message"]
               for e in outside["errors"])
    allowed = json.loads(_shim(["--base-path", str(other), "--allow-paths", str(tmp_path / "lib"),
                                "--standard-json"], absolute).stdout)
    assert "L" in {n for unit in allowed["contracts"].values() for n in unit}


@pytest.fixture(scope="module")
def forge_run():
    """forge test --json over verifier_contracts/test: ({test name: result}, coverage sums)."""
    if not FORGE.exists():
        pytest.fail(f"{FORGE} missing: run `make setup` (npm ci installs @foundry-rs/forge)")
    # forge may only write under build/forge (fs_permissions in foundry.toml).
    coverage = REPO_ROOT / "build" / "forge" / f"coverage-{os.getpid()}.csv"
    coverage.parent.mkdir(parents=True, exist_ok=True)
    coverage.unlink(missing_ok=True)
    env = dict(os.environ, CALCM_FORGE_COVERAGE=str(coverage))
    try:
        proc = subprocess.run([str(FORGE), "test", "--json"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
        rows = coverage.read_text().split() if coverage.exists() else []
    finally:
        coverage.unlink(missing_ok=True)
    start = proc.stdout.find("{")
    if start < 0:
        pytest.fail(f"forge produced no JSON (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    suites = json.loads(proc.stdout[start:])
    results = {name: r for suite in suites.values() for name, r in suite["test_results"].items()}
    sums = dict.fromkeys(COVERAGE, 0)
    for line in rows:
        for key, value in zip(COVERAGE, line.split(","), strict=True):
            sums[key] += int(value)
    return results, sums


def test_every_forge_test_passes(forge_run):
    results, _ = forge_run
    failed = {name: (r.get("reason"), str(r.get("counterexample"))[:2000])
              for name, r in results.items() if r["status"] != "Success"}
    assert not failed, f"forge tests failed: {failed}"
    assert INVARIANTS | FUZZ <= results.keys(), f"missing: {(INVARIANTS | FUZZ) - results.keys()}"


def test_each_invariant_makes_10000_calls(forge_run):
    results, _ = forge_run
    for name in INVARIANTS:
        kind = results[name]["kind"]["Invariant"]
        assert kind["calls"] >= MIN_CALLS, f"{name}: {kind['runs']} runs, {kind['calls']} calls"


def test_fuzz_tests_run_256_cases(forge_run):
    results, _ = forge_run
    for name in FUZZ:
        assert results[name]["kind"]["Fuzz"]["runs"] >= 256, name


def test_campaign_lands_every_kind_of_action(forge_run):
    """Steps, margin batches, stranger submissions after the keeper stall, timelock executions
    (and refusals) all happened in the campaign, and no handler call broke a rule."""
    _, sums = forge_run
    assert sums["violations"] == 0, sums
    for key in COVERAGE[:-1]:
        assert sums[key] > 0, f"the invariant campaign never landed {key}: {sums}"
