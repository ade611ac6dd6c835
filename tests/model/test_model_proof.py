"""Model-update proofs end to end: prove, verify with both verifiers, chain block n -> n+1,
and reject altered public inputs; the CLI (model-init, model-update, verify) on real files."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.risk.model_fx import update
from calcm.zk.model_circuit import pack_prices, unpack_prices
from calcm.zk.model_prove import ModelFile, load_model_file, model_from_json, prove_update
from calcm.zk.model_synthetic import TINY_OPTIONS, price_path, synthetic_params, synthetic_state
from calcm.zk.poseidon import model_commitment
from calcm.zk.prove import ContextInfo
from calcm.zk.verify import verify_dir

from .conftest import small_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chain(small_build, tmp_path_factory):
    """Two chained blocks: a -40% correlation-to-one crash, then a rebound."""
    params = small_params(11)
    state = synthetic_state(params, 11)
    root = tmp_path_factory.mktemp("model-proofs")
    p1, p2 = price_path(state, [[-0.4, -0.4], [0.1, 0.15]])
    b1 = prove_update(small_build, ModelFile(state, params, {}), p1, root / "block1", ContextInfo(31337, "0x" + "ab" * 20, 101))
    b2 = prove_update(small_build, load_model_file(root / "block1" / "state.json"), p2, root / "block2",
                      ContextInfo(31337, "0x" + "ab" * 20, 102))
    return params, state, (p1, p2), (b1, b2)


def test_proofs_verify_with_both_verifiers_and_chain(chain):
    params, state, (p1, p2), (b1, b2) = chain
    for b in (b1, b2):
        r = verify_dir(b.dir)
        assert r.snarkjs_ok and r.pyecc_ok
    pub1 = [int(x) for x in json.loads((b1.dir / "public.json").read_text())]
    pub2 = [int(x) for x in json.loads((b2.dir / "public.json").read_text())]
    # block 2 starts from exactly the state block 1 committed
    assert pub2[0] == pub1[1] == update(state, p1, params).state.commitment()
    assert pub1[0] == state.commitment() and pub1[3] == pub2[3] == params.param_hash()
    assert unpack_prices(pub1[5:], 2) == list(p1) and pub2[5:] == pack_prices(p2)
    # the committed margin model is the published model.json, and it is what the reference computes
    model = model_from_json(json.loads((b1.dir / "model.json").read_text())["model"])
    assert model == update(state, p1, params).model and model_commitment(model) == pub1[2]
    assert load_model_file(b2.dir / "state.json").state.step == 2


@pytest.mark.parametrize("index, name", [(0, "prevStateCommitment"), (1, "newStateCommitment"),
                                         (2, "scenarioCommitment"), (3, "paramHash"), (4, "context"),
                                         (5, "packedPrices[0]")])
def test_any_altered_public_input_fails_both_verifiers(chain, tmp_path, index, name):
    b1 = chain[3][0]
    d = tmp_path / "altered"
    d.mkdir()
    for f in ("proof.json", "verification_key.json"):
        (d / f).write_bytes((b1.dir / f).read_bytes())
    public = json.loads((b1.dir / "public.json").read_text())
    public[index] = str(int(public[index]) + 1)
    (d / "public.json").write_text(json.dumps(public))
    r = verify_dir(d)
    assert not r.snarkjs_ok and not r.pyecc_ok, name


def test_a_proof_from_another_state_does_not_continue_the_chain(chain, small_build, tmp_path):
    """Proving block 2 from a state other than block 1's commits to a different previous state,
    so it cannot be verified against the chain's stored commitment."""
    params, state, (p1, p2), (b1, b2) = chain
    stale = ModelFile(state, params, {})                      # skips block 1
    forged = prove_update(small_build, stale, p2, tmp_path / "forged", ContextInfo(31337, "0x" + "ab" * 20, 102))
    assert verify_dir(forged.dir).ok                          # a valid proof of *something* ...
    d = tmp_path / "replayed"
    d.mkdir()
    for f in ("proof.json", "verification_key.json"):
        (d / f).write_bytes((forged.dir / f).read_bytes())
    public = json.loads((forged.dir / "public.json").read_text())
    public[0] = json.loads((b1.dir / "public.json").read_text())[1]   # ... but the chain's prev state
    (d / "public.json").write_text(json.dumps(public))
    assert not verify_dir(d).ok


def test_cli_model_update_and_verify(small_build, tmp_path):
    params = small_params(12)
    state = synthetic_state(params, 12, step=5)
    mf_path = tmp_path / "state.json"
    mf_path.write_text(json.dumps(ModelFile(state, params, {}).to_json()))
    prices = {a: p / 1e6 * 0.9 for a, p in zip(params.assets, state.price)}
    (tmp_path / "prices.json").write_text(json.dumps({"prices": prices, "block": 77}))
    runner = CliRunner()
    res = runner.invoke(main, ["model-update", "--state", str(mf_path), "--prices", str(tmp_path / "prices.json"),
                               "--out", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["step"] == 6 and out["context"]["block"] == 77
    res = runner.invoke(main, ["verify", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ok"] is True


def test_cli_rejects_bad_prices_with_one_line_and_no_output(tmp_path):
    params = small_params(13)
    state = synthetic_state(params, 13)
    mf_path = tmp_path / "state.json"
    mf_path.write_text(json.dumps(ModelFile(state, params, {}).to_json()))
    runner = CliRunner()
    for name, body, field in (("missing.json", {"prices": {"BTC": 30000.0}}, "ETH"),
                              ("negative.json", {"prices": {"BTC": -1.0, "ETH": 2000.0}}, "BTC"),
                              ("jump.json", {"prices": {"BTC": 30000.0 * 20, "ETH": 2000.0}}, "return")):
        (tmp_path / name).write_text(json.dumps(body))
        res = runner.invoke(main, ["model-update", "--state", str(mf_path), "--prices", str(tmp_path / name),
                                   "--out", str(tmp_path / "out")])
        assert res.exit_code == 2, res.output
        line = res.output.strip()
        assert "\n" not in line and field in line and "calcm: error:" in line, line
        assert not (tmp_path / "out").exists()


def test_cli_rejects_a_tampered_model_file(tmp_path):
    params = small_params(14)
    state = synthetic_state(params, 14)
    obj = ModelFile(state, params, {}).to_json()
    obj["params"]["alpha"][0] += 1                        # the recorded param_hash no longer matches
    (tmp_path / "state.json").write_text(json.dumps(obj))
    (tmp_path / "prices.json").write_text(json.dumps({"prices_fx": list(state.price)}))
    res = CliRunner().invoke(main, ["model-update", "--state", str(tmp_path / "state.json"),
                                    "--prices", str(tmp_path / "prices.json"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "param_hash" in res.output


def test_cli_model_init_from_the_fixtures_then_prove_the_first_block(small_build, tmp_path):
    """The float model's fits and scenarios -> genesis; the first block proves the float model's date."""
    runner = CliRunner()
    res = runner.invoke(main, ["model-init", "--instruments", "BTC,ETH,BTC-PERP,ETH-PERP", "--collateral", "USDC,BTC",
                               "--k-tail", "2", "--scenarios", "8", "--out", str(tmp_path / "genesis.json"),
                               "--prices-out", str(tmp_path / "first.json"), "--json"])
    assert res.exit_code == 0, res.output
    init = json.loads(res.output)
    assert init["assets"] == ["BTC", "ETH"] and init["scenarios"] == 8
    res = runner.invoke(main, ["model-update", "--state", str(tmp_path / "genesis.json"), "--prices",
                               str(tmp_path / "first.json"), "--out", str(tmp_path / "b1"), "--json"])
    assert res.exit_code == 0, res.output        # same structure as the small circuit: same build
    assert json.loads(res.output)["public_signals"]["paramHash"] == init["param_hash"]
    assert verify_dir(tmp_path / "b1").ok


def test_an_option_block_is_proven_end_to_end(tiny_options_build, tmp_path):
    """Black-76 full revaluation (ln, N(d1), N(d2) in-circuit) through Groth16 and both verifiers."""
    params = synthetic_params(TINY_OPTIONS, 31)
    state = synthetic_state(params, 31)
    p1 = price_path(state, [[-0.3]])[0]
    b = prove_update(tiny_options_build, ModelFile(state, params, {}), p1, tmp_path / "opt", ContextInfo())
    assert verify_dir(b.dir).ok
    model = model_from_json(json.loads((b.dir / "model.json").read_text())["model"])
    up = update(state, p1, params)
    assert model == up.model and up.model.pnl[0][1] != 0 and up.model.mark[1] > 0
    public = json.loads((b.dir / "public.json").read_text())
    public[2] = str(int(public[2]) + 1)              # another P&L matrix under this proof
    (b.dir / "public.json").write_text(json.dumps(public))
    assert not verify_dir(b.dir).ok
