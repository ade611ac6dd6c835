"""Real Groth16 proofs of the three v2 model circuits on the small shape (tests/model/conftest.py).

Builds: groth16py dev setup (INSECURE-DEV, cached by source hash); proofs through
:mod:`calcm.zk.backend` (arkworks); every proof is checked by snarkjs and the py_ecc
verifier (:func:`calcm.zk.verify.verify_dir`), and its public signals against the
Python reference. A daily step, the revaluation at the same closes, and the chain of
option parts from the new state reproduce ``update``'s model version.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.risk.modelfx import update
from calcm.zk.model_prove import ModelFile, prove_model
from calcm.zk.prove import ContextInfo
from calcm.zk.verify import verify_dir

pytestmark = pytest.mark.slow
CTX = ContextInfo(31337, "0x" + "ab" * 20, 101)


@pytest.fixture(scope="module")
def proven(builds, model, tmp_path_factory):
    """Step to the closes, reval at the closes, then every option part at the new state."""
    p, st, close = model
    out = tmp_path_factory.mktemp("proofs")
    mf = ModelFile(st, p, {})
    s = prove_model(builds["step"], mf, close, out / "step", CTX)
    new = ModelFile(s.expected.result.state, p, {})
    r = prove_model(builds["reval"], new, close, out / "reval", CTX)
    parts, prev = [], 0
    for j in range(p.n_parts):
        parts.append(prove_model(builds["option"], new, close, out / f"part-{j}", part=j, prev=prev))
        prev = parts[-1].expected.public_dict()["nextOptSponge"]
    return s, r, parts


def test_every_proof_verifies_with_snarkjs_and_py_ecc(proven):
    s, r, parts = proven
    for pr in (s, r, *parts):
        res = verify_dir(pr.dir)
        assert res.snarkjs_ok and res.pyecc_ok, pr.dir
        assert pr.backend == "arkworks"
        public = [int(x) for x in json.loads((pr.dir / "public.json").read_text())]
        assert tuple(public) == pr.expected.public


def test_proofs_compose_the_reference_model_version(proven, model):
    p, st, close = model
    s, r, parts = proven
    up = update(st, close, p)
    sp, rp = s.expected.public_dict(), r.expected.public_dict()
    assert sp["prevState"] == st.commitment() and sp["newState"] == up.state.commitment()
    # the step and the revaluation at the close commit the same lin, at the new state
    assert sp["linCommitment"] == rp["linCommitment"] == up.lin_commitment
    assert rp["state"] == sp["newState"]
    assert [x.expected.public_dict()["part"] for x in parts] == list(range(p.n_parts))
    assert parts[0].expected.public_dict()["prevOptSponge"] == 0
    assert parts[-1].expected.public_dict()["nextOptSponge"] == up.opt_commitment
    assert all(x.expected.public_dict()["state"] == up.state.commitment() for x in parts)
    # the daily step writes the next model file
    nxt = json.loads((s.dir / "state.json").read_text())
    assert nxt["state"]["day"] == st.day + 1


@pytest.mark.parametrize("which, index", [("step", 0), ("step", 2), ("step", 5), ("reval", 1),
                                          ("part", 2), ("part", 4)])
def test_an_altered_public_input_fails_both_verifiers(proven, tmp_path, which, index):
    s, r, parts = proven
    src = {"step": s, "reval": r, "part": parts[0]}[which].dir
    d = tmp_path / "altered"
    d.mkdir()
    for f in ("proof.json", "verification_key.json"):
        (d / f).write_bytes((src / f).read_bytes())
    public = json.loads((src / "public.json").read_text())
    public[index] = str(int(public[index]) + 1)
    (d / "public.json").write_text(json.dumps(public))
    res = verify_dir(d)
    assert not res.snarkjs_ok and not res.pyecc_ok


def test_a_part_proven_from_another_sponge_state_does_not_chain(builds, model, proven, tmp_path):
    """Part 1 proven from prev = 0 is valid, but its prevOptSponge is not part 0's next."""
    p, st, close = model
    s, _, parts = proven
    new = ModelFile(s.expected.result.state, p, {})
    stray = prove_model(builds["option"], new, close, tmp_path / "stray", part=1, prev=0)
    assert verify_dir(stray.dir).ok
    assert stray.expected.public_dict()["prevOptSponge"] != parts[0].expected.public_dict()["nextOptSponge"]
    assert stray.expected.public_dict()["nextOptSponge"] != parts[1].expected.public_dict()["nextOptSponge"]


def test_cli_model_prove_then_verify(builds, model, tmp_path):
    p, st, close = model
    (tmp_path / "state.json").write_text(json.dumps(ModelFile(st, p, {}).to_json()))
    (tmp_path / "prices.json").write_text(json.dumps({"prices_fx": list(close), "block": 77}))
    runner = CliRunner()
    res = runner.invoke(main, ["model-prove", "--state", str(tmp_path / "state.json"), "--prices",
                               str(tmp_path / "prices.json"), "--circuit", "reval", "--mode", "dev", "--out",
                               str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["context"]["block"] == 77 and len(out["proofs"]) == 1
    res = runner.invoke(main, ["verify", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output


def test_cli_rejects_bad_prices_with_one_line_and_no_output(model, tmp_path):
    p, st, _ = model
    (tmp_path / "state.json").write_text(json.dumps(ModelFile(st, p, {}).to_json()))
    runner = CliRunner()
    for name, body, field in (("missing.json", {"prices": {"BTC": 30000.0}}, "ETH"),
                              ("negative.json", {"prices": {"BTC": -1.0, "ETH": 2000.0}}, "BTC"),
                              ("jump.json", {"prices": {"BTC": 30000.0 * 20, "ETH": 2000.0}}, "return")):
        (tmp_path / name).write_text(json.dumps(body))
        res = runner.invoke(main, ["model-prove", "--state", str(tmp_path / "state.json"), "--prices",
                                   str(tmp_path / name), "--circuit", "step", "--out", str(tmp_path / "out")])
        assert res.exit_code == 2, res.output
        line = res.output.strip()
        assert "\n" not in line and field in line and "calcm: error:" in line, line
        assert not (tmp_path / "out").exists()


def test_cli_rejects_a_tampered_model_file(model, tmp_path):
    p, st, _ = model
    obj = ModelFile(st, p, {}).to_json()
    obj["params"]["alpha"][0] += 1                        # the recorded param_hash no longer matches
    (tmp_path / "state.json").write_text(json.dumps(obj))
    (tmp_path / "prices.json").write_text(json.dumps({"prices_fx": list(st.price)}))
    res = CliRunner().invoke(main, ["model-prove", "--state", str(tmp_path / "state.json"), "--prices",
                                    str(tmp_path / "prices.json"), "--circuit", "step", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "param_hash" in res.output
