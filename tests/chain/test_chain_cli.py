"""`calcm chain deploy|submit|status` against the session's anvil, and their bad-input errors."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.chain import sample
from calcm.chain.registry import attach, read_deployment
from calcm.cli import main

from .helpers import KINDS

pytestmark = pytest.mark.slow


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def deployed(anvil, margin_build, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    res = _run("chain", "deploy", "--rpc", anvil.url, "--build", margin_build.dir,
               "--out", d / "deployment.json", "--verifiers-dir", d / "generated",
               "--prices", "60000,3000", "--param-hash", 5, "--genesis-state", 6, "--json")
    assert res.exit_code == 0, res.output
    return d, json.loads(res.stdout)


def test_deploy_writes_the_deployment_file(deployed, margin_build):
    d, doc = deployed
    dep = read_deployment(d / "deployment.json")
    assert doc["registry"] == dep.registry and dep.rpc and not dep.embedded
    assert (dep.group_size, dep.n_assets, len(dep.price_feeds)) == (margin_build.config.N, 2, 2)
    assert set(dep.abi_sha256) == {"MarginRegistry", "MockPriceFeed", "MarginVerifier"}
    assert dep.model_verifier is None                              # attested mode
    assert (d / "generated" / "MarginVerifier_small.sol").exists()


def test_submit_and_status(deployed, anvil, margin_build, w3, tmp_path):
    """`calcm chain submit` takes a `calcm prove` out dir (calcm.zk.prove) as it is."""
    from calcm.poseidon import model_commitment
    from calcm.zk.prove import ContextInfo, prove_accounts
    d, doc = deployed
    dep_file = d / "deployment.json"
    reg = attach(w3, read_deployment(dep_file))
    c = margin_build.config
    model = sample.sample_model(c.S, c.n, c.U, c.m, c.k)
    accounts = [sample.sample_account(k, c.n, c.m, 500 + i) for i, k in enumerate(KINDS)]
    owners = w3.eth.accounts[4:4 + len(KINDS)]
    for leaf, o in enumerate(owners):
        reg.register_account(o, leaf)
    reg.post_accounts_root(sample.accounts_root(margin_build, accounts), list(range(len(KINDS))))
    blk = w3.eth.block_number
    reg.attest_model_update(blk, 7, model_commitment(model))
    out = tmp_path / "proofs"
    prove_accounts(margin_build, model, accounts, [f"acct{i}" for i in range(len(KINDS))], out,
                   ContextInfo(w3.eth.chain_id, reg.address, blk))

    # A wrong --block is caught before sending (the context would not verify).
    res = _run("chain", "submit", out / "group-0000", "--deployment", dep_file, "--block", blk - 1)
    assert res.exit_code == 2 and "context is not block" in res.stderr

    res = _run("chain", "submit", out, "--deployment", dep_file, "--json")
    assert res.exit_code == 0, res.output
    subs = json.loads(res.stdout)["submitted"]
    assert [(r["kind"], r["block"], r["group"], r["tiers"]) for r in subs] == [
        ("margin", blk, 0, [3, 0]), ("margin", blk, 1, [0, 3])]
    assert all(r["gas_used"] > 200_000 for r in subs)

    res = _run("chain", "status", owners[0], "--deployment", dep_file, "--json")
    assert res.exit_code == 0, res.output
    st = json.loads(res.stdout)
    assert st["account"]["liquidatable"] and st["account"]["tier"] == 3
    assert st["registry"]["latest_model_block"] == blk
    res = _run("chain", "status", owners[1], "--deployment", dep_file)
    assert res.exit_code == 0 and "can_withdraw" in res.stdout and "True" in res.stdout

    # The same batch again: one line naming the dir and the contract's error, exit 2.
    res = _run("chain", "submit", out / "group-0001", "--deployment", dep_file)
    assert res.exit_code == 2
    assert "MarginRegistry__AlreadyRecorded" in res.stderr and len(res.stderr.splitlines()) == 1


def test_bad_inputs_are_one_line(deployed, tmp_path):
    d, _ = deployed
    res = _run("chain", "status", "--deployment", tmp_path / "missing.json")
    assert res.exit_code == 2 and "missing.json" in res.stderr and len(res.stderr.splitlines()) == 1
    (tmp_path / "empty").mkdir()
    res = _run("chain", "submit", tmp_path / "empty", "--deployment", d / "deployment.json")
    assert res.exit_code == 2 and "proof.json" in res.stderr
    res = _run("chain", "status", "not-an-address", "--deployment", d / "deployment.json")
    assert res.exit_code == 2 and "not an address" in res.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "proof.json").write_text('{"pi_a": [], "pi_b": [], "pi_c": []}')
    (bad / "public.json").write_text('["1", "2", "3", "21888242871839275222246405745257275088548364400416034343698204186575808495617"]')
    res = _run("chain", "submit", bad, "--deployment", d / "deployment.json")
    assert res.exit_code == 2 and "signal 3" in res.stderr


def test_deploy_bad_inputs(margin_build, tmp_path):
    base = ["chain", "deploy", "--build", margin_build.dir, "--out", tmp_path / "d.json"]
    for extra, needle in ((["--prices", "1,-2"], "price 1"), (["--feeds", "0x12"], "feed 0"),
                          (["--prices", "1,2", "--n-assets", 3], "2 values for 3 assets"),
                          (["--rpc", "http://127.0.0.1:1"], "does not answer")):
        res = _run(*base, *extra)
        assert res.exit_code == 2 and needle in res.stderr, (extra, res.output)
    assert not (tmp_path / "d.json").exists()


def test_embedded_deploy_then_status_needs_rpc(margin_build, tmp_path):
    res = _run("chain", "deploy", "--build", margin_build.dir, "--out", tmp_path / "dep.json",
               "--verifiers-dir", tmp_path / "gen", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["embedded"] is True
    res = _run("chain", "status", "--deployment", tmp_path / "dep.json")
    assert res.exit_code == 2 and "embedded anvil" in res.stderr
