"""`calcm audit` on the project's own builds, and the planted defects it must catch.

Each defect lives in a temporary copy (sources, build directory or verifier directory); the
project's files are never touched. Real tools throughout: circom, snarkjs, solc, anvil.
Everything runs on the smallest shapes (the SMALL margin config, the model tests' small
reval build) with the sampling caps of `calcm audit --max-wires/--max-hints` (full runs
stay in `calcm audit` itself).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from calcm.audit import cases as C
from calcm.audit import equivalence as E
from calcm.audit import setup_integrity as SI
from calcm.audit import mutation as M
from calcm.audit import soundness as S
from calcm.audit.circuit import build_circuit, explain_assert, template_lines, tmp_parent
from calcm.audit.r1cs import load_r1cs
from calcm.audit.run import margin_probe_inputs
from calcm.audit.wasm import calculate_many, nonfatal_asserts
from calcm.cli import main
from calcm.fixedpoint import floor_div
from calcm.risk import fixed_margin
from calcm.zk.ptau import sha256_file
from calcm.zk.witness import calculate_witness

pytestmark = pytest.mark.slow

def _checks(doc: dict) -> dict[str, dict]:
    return {c["name"]: c for c in doc["checks"]}


def _probe_inputs(config) -> list[dict]:
    """The inputs `calcm audit` probes with (so the hint verdicts are shared through the cache)."""
    return margin_probe_inputs(config, [], C.random_margin_cases(config, 6),
                               C.edge_margin_cases(config))


# ---------------------------------------------------------------------------- the own builds

#: Caps that keep a test audit fast (calcm audit itself runs everything).
FAST = ["--max-wires", "400", "--max-hints", "1", "--hint-deltas", "1", "--random-cases", "2"]


def test_audit_passes_on_the_projects_own_builds(margin_build, model_build, tmp_path):
    report = tmp_path / "audit.md"
    # Every wire of both circuits is altered (a second or two); hint mutations are sampled.
    res = CliRunner().invoke(main, ["audit", "--build", str(margin_build.dir), "--build", str(model_build.dir),
                                    *FAST[2:], "--verifiers", str(tmp_path), "--report", str(report), "--json"])
    assert res.stdout.strip(), res.stderr[-2000:]
    doc = json.loads(res.stdout)
    failed = [(c["name"], c["summary"], c["details"][:3]) for c in doc["checks"] if c["status"] == "FAIL"]
    assert res.exit_code == 0 and doc["ok"], failed
    checks = _checks(doc)
    margin, model = "margin small", f"model {model_build.manifest['config']['name']}"
    eq = checks[f"margin circuit vs Python fixed point ({margin})"]["counts"]
    assert eq["mismatches"] == 0 and eq["edge cases"] >= 10 and eq["random cases"] == 2
    assert eq["signals compared"] > 500
    assert checks[f"bundled fixture book on {margin}"]["status"] == "SKIP"     # SMALL is not the book's shape
    meq = next(c for n, c in checks.items()
               if n.startswith(f"model reval circuit vs Python fixed point ({model}"))
    assert meq["counts"]["mismatches"] == 0 and meq["counts"]["witnesses"] >= 6
    tail = checks[f"tail hint alternatives ({margin})"]
    assert tail["status"] == "PASS" and tail["counts"]["alternatives"] >= 5 and tail["counts"]["accepted"] == 0
    alias = checks[f"index aliases ({margin})"]
    assert alias["status"] == "PASS" and alias["counts"]["alternatives"] >= 35 and alias["counts"]["accepted"] == 0
    for label in (margin, model):
        hints = checks[f"hint mutations ({label})"]["counts"]
        assert hints["mutations"] >= hints["hints"] > 0 and hints.get("pinned", 0) >= 1
        assert "UNDER-CONSTRAINED" not in hints
        assert checks[f"zkey against r1cs and ptau ({label})"]["status"] == "PASS"
        assert checks[f"powers of tau ({label})"]["status"] == "PASS"
        assert checks[f"R1CS structure ({label})"]["status"] == "PASS"
        assert checks[f"`<--` source scan ({label})"]["status"] == "PASS"
        single = checks[f"single-signal alterations ({label})"]
        assert single["status"] == "PASS" and single["counts"]["free private wires"] == 0
        assert single["counts"]["wires probed"] == single["counts"]["wires in the circuit"]
    assert checks["deployed verifier bytecode"]["status"] == "SKIP"
    # The Markdown report lists every check with its result.
    text = report.read_text()
    assert text.startswith("# calcm audit report") and "**Result: PASS**" in text
    for c in doc["checks"]:
        assert f"| {c['status']} | {c['name']} |" in text


@pytest.mark.bench  # model-part builds: `make test-bench`
def test_audit_passes_on_the_model_step_and_option_builds(step_build, options_build, tmp_path):
    """The other two model parts at their smallest shapes (the model tests' dev builds): 0 FAIL."""
    res = CliRunner().invoke(main, ["audit", "--build", str(step_build.dir), "--build", str(options_build.dir),
                                    *FAST, "--verifiers", str(tmp_path), "--json"])
    assert res.stdout.strip(), res.stderr[-2000:]
    doc = json.loads(res.stdout)
    failed = [(c["name"], c["summary"], c["details"][:3]) for c in doc["checks"] if c["status"] == "FAIL"]
    assert res.exit_code == 0 and doc["ok"] and not failed, failed
    kinds = sorted(b["kind"] for b in doc["builds"])
    assert kinds == ["model-option", "model-step"]
    checks = _checks(doc)
    for b in doc["builds"]:
        label = f"model {b['config']}"
        assert checks[f"dev proving key is a key pair of this r1cs ({label})"]["status"] == "PASS"
        assert checks[f"single-signal alterations ({label})"]["counts"]["free private wires"] == 0
        assert checks[f"hint mutations ({label})"]["counts"]["mutations"] >= 1


@pytest.mark.bench  # a second full audit: `make test-bench`
def test_a_dev_build_is_audited_as_insecure_dev(tmp_path):
    """A groth16py dev build (no zkey, no ptau): its key pair is exercised, never a crash."""
    from calcm.zk.config import SMALL
    from calcm.zk.setup import build_cache_dir, setup

    d = build_cache_dir(SMALL)
    build, _ = setup(SMALL, d.with_name(d.name + "-dev"), mode="dev")
    assert build.manifest["zkey"]["sha256"] is None
    res = CliRunner().invoke(main, ["audit", "--build", str(build.dir), *FAST, "--max-hints", "0",
                                    "--verifiers", str(tmp_path), "--json"])
    assert res.stdout.strip(), res.stderr[-2000:]
    doc = json.loads(res.stdout)
    checks = _checks(doc)
    failed = [(c["name"], c["summary"]) for c in doc["checks"] if c["status"] == "FAIL"]
    assert res.exit_code == 0 and doc["ok"], failed
    assert doc["builds"][0]["insecure_dev"] and doc["builds"][0]["security"] == "insecure-dev-single-party"
    prov = checks["trusted setup provenance (margin small)"]
    assert prov["status"] == "WARN" and prov["summary"].startswith("INSECURE-DEV")
    for name in ("powers of tau", "zkey against r1cs and ptau", "verification key regenerates from the zkey"):
        assert checks[f"{name} (margin small)"]["status"] == "SKIP"
    assert checks["dev proving key is a key pair of this r1cs (margin small)"]["status"] == "PASS"
    assert checks["Solidity verifier regenerates from the key (margin small)"]["status"] == "PASS"
    assert checks["manifest hashes (margin small)"]["status"] == "PASS"


# ---------------------------------------------------------------------------- planted defects

@pytest.fixture
def variant_dir():
    d = Path(tempfile.mkdtemp(prefix="variant-", dir=tmp_parent()))
    yield d
    shutil.rmtree(d, ignore_errors=True)


#: Single-line circuit mistakes (issue 13, item 5): (file, original, planted, the check that must FAIL).
DEFECTS = {
    "tail weight changed": ("circuits/account_margin.circom", "ExpectedShortfall(k, MONEY_BITS() + 1)",
                            "ExpectedShortfall(k + 1, MONEY_BITS() + 1)", "margin circuit vs Python fixed point"),
    "comparison flipped": ("circuits/tail.circom", "(2 * inTail[s] - 1)", "(1 - 2 * inTail[s])",
                           "margin circuit vs Python fixed point"),
    "<== turned into <--": ("circuits/tail.circom", "        d[s] <== ", "        d[s] <-- ",
                            "hint mutations"),
    "scenario dropped from the tail": ("circuits/tail.circom", "for (var s = 0; s < S; s++) {",
                                       "for (var s = 0; s < S - 1; s++) {", "margin circuit vs Python fixed point"),
    "count check deleted": ("circuits/tail.circom", "    count === k;\n", "",
                            "tail hint alternatives"),
    "scale constant changed": ("circuits/initial_margin.circom", "var BPS = BPS();", "var BPS = BPS() / 10;",
                               "margin circuit vs Python fixed point"),
    # Kinds an outside red team plants (issue 13, item 5).
    "range check narrowed": ("circuits/health_tier.circom", "component belowMm = SignedLessThan(MONEY_BITS() + 1);",
                             "component belowMm = SignedLessThan(32);", "margin circuit vs Python fixed point"),
    "public output from the wrong comparator": ("circuits/health_tier.circom",
                                                "tier <== belowMm.lt + belowIm.lt + belowWarn.lt;",
                                                "tier <== belowMm.lt + belowMm.lt + belowWarn.lt;",
                                                "margin circuit vs Python fixed point"),
    "IM multiplier changed": ("circuits/initial_margin.circom", "scaled <== mm * (BPS + imBufferBps);",
                              "scaled <== mm * (BPS + imBufferBps - 1);", "margin circuit vs Python fixed point"),
    "tail count off by one": ("circuits/account_margin.circom", "TailSum(S, k, MONEY_BITS() + 1)",
                              "TailSum(S, k - 1, MONEY_BITS() + 1)",
                              "margin circuit vs Python fixed point"),
    "sign flipped in P&L aggregation": ("circuits/losses.circom", "loss[s] <== shift - acc;",
                                        "loss[s] <== shift + acc;", "margin circuit vs Python fixed point"),
    "perp charge dropped from the losses": ("circuits/account_margin.circom", "losses.shift <== basis.charge;",
                                            "losses.shift <== 0;", "margin circuit vs Python fixed point"),
    "perp charge takes the signed quantity": ("circuits/perp_basis.circom",
                                              "absQty <== (2 * sign.nonneg - 1) * qty;", "absQty <== qty;",
                                              "margin circuit vs Python fixed point"),
    "input dropped from the account commitment": ("circuits/account_commitment.circom",
                                                  "sponge.in[1 + n + j] <== collateral[j];",
                                                  "sponge.in[1 + n + j] <== 0;",
                                                  "margin circuit vs Python fixed point"),
    "Merkle path selector unconstrained": ("circuits/accounts_tree.circom",
                                           "swap[l] <== bits.out[l] * (siblings[l] - cur[l]);",
                                           "swap[l] <-- bits.out[l] * (siblings[l] - cur[l]);",
                                           "hint mutations"),
    "group index range widened": ("circuits/accounts_tree.circom", "component bits = Num2Bits(levels);",
                                  "component bits = Num2Bits(levels + 1);", "index aliases"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_audit_fails_every_planted_defect(variant_dir, defect):
    """Each defect, planted alone in a copy of the sources of the SMALL margin circuit, makes the
    audit FAIL for its own reason (and the audit runs to a report: nothing raises). The variant
    is compiled once per source hash (calcm.audit.harness: no setup, only r1cs, wasm and sym)."""
    from calcm.audit.harness import compile_harness
    from calcm.audit.run import AuditOptions, audit_margin_circuit
    from calcm.paths import CIRCUITS
    from calcm.zk.config import SMALL

    file, old, new, must_fail = DEFECTS[defect]
    copy = Path(shutil.copytree(CIRCUITS, variant_dir / "circuits"))
    src = (copy / file.removeprefix("circuits/")).read_text()
    assert src.count(old) == 1, (file, old)
    (copy / file.removeprefix("circuits/")).write_text(src.replace(old, new))
    variant = compile_harness(f"planted: {defect}", SMALL.main_source(), copy)
    # Hint mutations recompile the circuit: only where the defect is a hint (the others are
    # caught without them, and `calcm audit` always runs them).
    opts = AuditOptions(random_cases=1, max_wires=300, max_hints=1, hint_deltas=(1,), probe_witnesses=2,
                        tail_inputs=1, tail_accounts=1, hint_probes=must_fail == "hint mutations",
                        cross_checks=False)
    report = audit_margin_circuit(variant, SMALL, opts)
    assert not report.ok
    failed = [c.name for c in report.checks if c.status == "FAIL"]
    assert any(n.startswith(must_fail) for n in failed), (defect, failed)
    assert not any("could not complete" in n for n in failed), failed


def test_option_hints_are_pinned(options_build):
    """The log's exponent bits are pinned to booleans locally and in value only by a range check
    further down: shifting them either way, or flipping every bit (still booleans), must be rejected."""
    from calcm.audit.run import AuditOptions, _model_params
    from calcm.audit.equivalence import model_inputs
    from calcm.zk.prove import ContextInfo

    circuit = build_circuit(options_build, "options")
    _, sites = S.source_scan_check(circuit)
    ln = [s for s in sites if s.file == "circuits/model/ln.circom"]
    assert ln and all(s.pinned and s.boolean for s in ln)
    config, params, state, _ = _model_params(options_build, AuditOptions())
    blocks = C.model_cases(params, state)[:2]
    inputs = [inp for b in blocks for _, inp, _ in model_inputs(config, b, params, ContextInfo().value)][:2]
    honest = [w.values for w in calculate_many(options_build.wasm, inputs)]
    chk = M.hint_mutation_check(circuit, ln, inputs, honest, (1, -1))
    assert chk.status == "PASS" and chk.counts["mutations"] == 3 * len(ln), chk.details
    assert chk.counts.get("pinned") == chk.counts["mutations"]
    flip = next(d for d in chk.details if " flip: " in d)
    assert "rejected" in flip and "eb[j] * (eb[j] - 1)" not in flip   # not the boolean: the range


def _copy_build(build, dest: Path):
    from calcm.zk.setup import Build
    shutil.copytree(build.dir, dest)
    return Build.load(dest)


def test_catches_a_zkey_from_another_circuit(margin_build, model_build, tmp_path):
    forged = _copy_build(margin_build, tmp_path / "build")
    shutil.copyfile(model_build.zkey, forged.zkey)
    # An attacker who also edits the manifest hides the swap from the hash check ...
    manifest = json.loads((forged.dir / "manifest.json").read_text())
    manifest["zkey"]["sha256"] = sha256_file(forged.zkey)
    (forged.dir / "manifest.json").write_text(json.dumps(manifest))
    forged = type(forged).load(forged.dir)
    assert SI.manifest_check(forged, "forged").status == "PASS"
    # ... but not from snarkjs zkey verify, nor from the verification key it exports.
    z = SI.zkey_check(forged, "forged")
    assert z.status == "FAIL" and "not a setup of this r1cs" in z.summary
    assert SI.vkey_check(forged, "forged").status == "FAIL"
    # Without the manifest edit the hash check fails too.
    plain = _copy_build(margin_build, tmp_path / "plain")
    shutil.copyfile(model_build.zkey, plain.zkey)
    m = SI.manifest_check(plain, "plain")
    assert m.status == "FAIL" and any(d.startswith("zkey: sha256") for d in m.details)


def test_catches_a_verifier_regenerated_from_a_different_zkey(margin_build, model_build, tmp_path):
    from calcm.chain.contracts import export_verifier_source
    name = f"MarginVerifier_{margin_build.config.name}.sol"
    (tmp_path / name).write_bytes(export_verifier_source(model_build.zkey))
    bad, _ = SI.verifier_check(margin_build, "margin", tmp_path)
    assert bad.status == "FAIL" and any("DIFFERS" in d for d in bad.details)
    (tmp_path / name).write_bytes(export_verifier_source(margin_build.zkey))
    good, _ = SI.verifier_check(margin_build, "margin", tmp_path)
    assert good.status == "PASS" and good.counts["generated files compared"] == 2   # + the build's verifier.sol
    # A file that claims the build through the generated manifest is compared too.
    (tmp_path / "Other.sol").write_bytes(export_verifier_source(model_build.zkey))
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {"Other.sol": {
        "kind": "margin", "zkey_sha256": margin_build.manifest["zkey"]["sha256"]}}}))
    claimed, _ = SI.verifier_check(margin_build, "margin", tmp_path)
    assert claimed.status == "FAIL" and claimed.counts["generated files compared"] == 3


@pytest.mark.bench  # a second full audit: `make test-bench`
def test_catches_a_rounding_rule_changed_in_python_only(margin_build, monkeypatch, tmp_path):
    config = margin_build.config
    cases = C.random_margin_cases(config, 2) + C.edge_margin_cases(config)
    assert E.margin_equivalence(config, margin_build.wasm, margin_build.sym, cases, label="ok").status == "PASS"
    monkeypatch.setattr(fixed_margin, "ceil_div", floor_div)      # ES, add-on and IM now round down
    chk = E.margin_equivalence(config, margin_build.wasm, margin_build.sym, cases, label="floor")
    assert chk.status == "FAIL" and chk.counts["mismatches"] > 0
    assert any(" es: circuit " in d for d in chk.details) and any(" im: circuit " in d for d in chk.details)
    # Through the command: exit code 3 (audit failed) and the failing check in the JSON.
    res = CliRunner().invoke(main, ["audit", "--build", str(margin_build.dir), "--no-hint-probes", *FAST,
                                    "--verifiers", str(tmp_path), "--json"])
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    bad = [(c["section"], c["name"]) for c in doc["checks"] if c["status"] == "FAIL"]
    assert ("equivalence", "margin circuit vs Python fixed point (margin small)") in bad
    assert all(section == "equivalence" for section, _ in bad), bad


def test_deployed_bytecode_matches_only_the_audited_verifier(margin_build, model_build):
    from calcm.chain.anvil import Anvil
    from calcm.chain.contracts import compile_verifier, export_verifier_source
    from calcm.chain.evm import http_web3
    from calcm.chain.registry import deploy_contract

    label = "margin small"
    expected = {label: SI.expected_runtime(margin_build, export_verifier_source(margin_build.zkey))}
    with tempfile.TemporaryDirectory() as tmp, Anvil() as node:
        w3 = http_web3(node.url)
        sender = w3.eth.accounts[0]
        addrs = {}
        for tag, build, fname in (("margin", margin_build, f"MarginVerifier_{margin_build.config.name}.sol"),
                                  ("model", model_build, "ModelVerifier.sol")):
            path = Path(tmp) / fname
            path.write_bytes(export_verifier_source(build.zkey))
            addrs[tag], _ = deploy_contract(w3, compile_verifier(path), sender)
        ok = SI.deployed_check(expected, node.url, [addrs["margin"]])
        assert ok.status == "PASS" and "identical to the verifier of margin small" in ok.details[0]
        bad = SI.deployed_check(expected, node.url, [addrs["model"], "0x" + "11" * 20])
        assert bad.status == "FAIL" and bad.counts["mismatches"] == 2
        assert "no contract code" in bad.details[1]


# ---------------------------------------------------------------------------- the witness runner

def test_runner_agrees_with_snarkjs_and_completes_a_witness_past_a_failed_assertion(margin_build, tmp_path):
    config = margin_build.config
    inp = _probe_inputs(config)[0]
    bad = dict(inp, packedResult=str(int(inp["packedResult"]) + 2**32))
    good, forged = calculate_many(margin_build.wasm, [inp, bad])
    ref = calculate_witness(margin_build.wasm, inp, tmp_path / "w.wtns")
    assert good.clean and good.values == ref.values
    # Only the public input differs; the rest is computed to the end, the failed `===` is named.
    assert [i for i, (a, b) in enumerate(zip(good.values, forged.values)) if a != b] == [5]
    (msg,) = forged.asserts
    templates = template_lines(build_circuit(margin_build).all_files())
    where, is_constraint = explain_assert(msg, templates)
    assert is_constraint and "margin_batch.circom" in where and "packedResult === packed" in where
    r1cs = load_r1cs(margin_build.r1cs)
    assert r1cs.failing(good.values) == []
    failing = r1cs.failing(forged.values)
    assert failing and all(5 in r1cs.constraints[i].wires() for i in failing)
    code = margin_build.wasm.read_bytes()
    patched, n = nonfatal_asserts(code)
    assert n > 10 and len(patched) == len(code) and patched != code


def test_bad_command_lines_are_one_line_errors(tmp_path):
    res = CliRunner().invoke(main, ["audit", "--build", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "manifest.json" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = CliRunner().invoke(main, ["audit", "--build", str(tmp_path), "--rpc", "http://127.0.0.1:1"])
    assert res.exit_code == 2 and "--rpc" in res.stderr
    res = CliRunner().invoke(main, ["audit", "--hint-deltas", "0"])
    assert res.exit_code == 2 and "--hint-deltas" in res.stderr
