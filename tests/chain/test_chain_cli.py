"""`calcm chain deploy|post-root|submit|status` against the session's anvil (v2 registry),
and their bad-input errors.

The margin verifier is a real ``MarginBatch`` v2 circuit (the gas bench's smallest shape,
N = 2); the three model verifiers are the PLACEHOLDER circuits of the chain tests (a model
version is set by a placeholder revaluation whose linear commitment is the margin model's,
so the real margin proofs verify against it)."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from calcm.chain import encoding, placeholder
from calcm.chain.deployment import attach, read_deployment
from calcm.chain.gasbench import margin_config, sample_model_v2
from calcm.cli import main

from .helpers import N_ASSETS

pytestmark = pytest.mark.slow
DAY = encoding.DAY


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def gas_build():
    from calcm.zk.setup import build_cache_dir, setup
    cfg = margin_config(2)
    return setup(cfg, build_cache_dir(cfg), mode="auto")[0]


@pytest.fixture(scope="module")
def book_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("book")
    book = {"instruments": [{"id": "X", "kind": "spot", "underlying": "X"}],
            "collateral": [{"asset": "USDC", "haircut": 0.0}],
            "accounts": [{"id": "short_x", "salt": "0x3e8", "positions": {"X": -100},
                          "collateral": {"USDC": 10500}},
                         {"id": "long_x", "salt": "0x3e9", "positions": {"X": 1},
                          "collateral": {"USDC": 10000}}]}
    (d / "book.json").write_text(json.dumps(book))
    return d / "book.json"


@pytest.fixture(scope="module")
def deployed(anvil, w3, gas_build, v2_placeholders, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    builds, _ = v2_placeholders
    (d / "model-builds.json").write_text(json.dumps(
        {k: str(builds[k].directory) for k in ("step", "reval", "option")}))
    day = w3.eth.get_block("latest").timestamp // DAY      # no step due: revaluations go
    res = _run("chain", "deploy", "--rpc", anvil.url, "--build", gas_build.dir,
               "--model-builds", d / "model-builds.json",
               "--out", d / "deployment.json", "--verifiers-dir", d / "generated",
               "--prices", "60000,3000,1", "--param-hash", 5, "--genesis-state", 6,
               "--genesis-day", day, "--json")
    assert res.exit_code == 0, res.output
    assert "behind the chain's clock" not in res.stderr      # a current genesis: no warning
    return d, json.loads(res.stdout)


def test_deploy_writes_the_deployment_file(deployed, gas_build):
    d, doc = deployed
    dep = read_deployment(d / "deployment.json")
    assert doc["registry"] == dep.registry and dep.rpc and not dep.embedded
    assert (dep.group_size, dep.n_assets, len(dep.price_feeds), dep.n_parts) == (2, N_ASSETS, 3, 0)
    assert set(dep.model_verifiers) == {"step", "reval", "option"}
    assert dep.builds["margin"] == str(gas_build.dir)
    gen = json.loads((d / "generated" / "manifest.json").read_text())["files"]
    assert {e["kind"] for e in gen.values()} == {"margin", "step", "reval", "option"}
    # The margin verifier is the build's own (rendered from its verification key).
    assert (d / "generated" / "MarginVerifier_gas2.sol").read_text() == gas_build.verifier_sol.read_text()


def test_post_root_submit_and_status(deployed, w3, gas_build, book_file, v2_placeholders, tmp_path):
    from calcm.poseidon import lin_commitment
    from calcm.risk.book import load_book
    from calcm.risk.fixed_margin import encode_book_accounts
    from calcm.zk.prove import ContextInfo, prove_accounts
    d, doc = deployed
    dep_file = d / "deployment.json"
    reg = attach(w3, read_deployment(dep_file))

    res = _run("chain", "post-root", "--book", book_file, "--register", "--deployment", dep_file,
               "--json")
    assert res.exit_code == 0, res.output
    posted = json.loads(res.stdout)
    assert int(posted["root"]) == reg.f.accountsRoot().call() and posted["root_version"] == 1
    owners = [r["owner"] for r in posted["registered"]]
    assert [r["leaf"] for r in posted["registered"]] == [0, 1]

    # A model version whose linear commitment is the margin model's (placeholder revaluation).
    model = sample_model_v2()
    lin = lin_commitment(model)
    builds, _ = v2_placeholders
    blk = w3.eth.block_number
    sig = [6, lin, 5, reg.context(blk)] + reg.packed_prices()
    reg.submit_model_reval(placeholder.prove(builds["reval"], sig)[0], blk, lin)
    blk = w3.eth.block_number
    out = tmp_path / "proofs"
    accounts = encode_book_accounts(load_book(book_file))
    prove_accounts(gas_build, model, accounts, ["short_x", "long_x"], out,
                   ContextInfo(w3.eth.chain_id, reg.address, blk))

    # A wrong --block is caught before sending (the context would not verify).
    res = _run("chain", "submit", out / "group-0000", "--deployment", dep_file, "--block", blk - 1)
    assert res.exit_code == 2 and "context is not block" in res.stderr

    res = _run("chain", "submit", out, "--deployment", dep_file, "--json")
    assert res.exit_code == 0, res.output
    subs = json.loads(res.stdout)["submitted"]
    assert len(subs) == 1
    r = subs[0]
    assert (r["kind"], r["block"], r["group"], r["tiers"]) == ("margin", blk, 0, [3, 0])
    assert r["gas_used"] > 200_000

    res = _run("chain", "status", owners[0], "--deployment", dep_file, "--json")
    assert res.exit_code == 0, res.output
    st = json.loads(res.stdout)
    assert st["account"]["liquidatable"] and st["account"]["tier"] == 3
    assert st["registry"]["model_version"] == r["model_version"]
    # the model's day and the chain's clock as dates, beside the day number
    day = st["registry"]["day"]
    assert st["registry"]["day_date"] == str(np.datetime64(day, "D"))
    assert st["registry"]["block_time"] == str(np.datetime64(w3.eth.get_block("latest").timestamp, "s")) + "Z"
    res = _run("chain", "status", owners[1], "--deployment", dep_file)
    assert res.exit_code == 0 and "can_withdraw" in res.stdout and "True" in res.stdout

    # The same batch again: one line naming the dir and the contract's error, exit 2.
    res = _run("chain", "submit", out / "group-0000", "--deployment", dep_file)
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
    res = _run("chain", "post-root", "--book", tmp_path / "nobook.json", "--deployment",
               d / "deployment.json")
    assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1


def test_deploy_bad_inputs(gas_build, tmp_path):
    base = ["chain", "deploy", "--build", gas_build.dir, "--out", tmp_path / "d.json"]
    (tmp_path / "mb.json").write_text('{"step": "/nowhere"}')
    for extra, needle in ((["--prices", "1,-2"], "price 1"), (["--feeds", "0x12"], "feed 0"),
                          (["--prices", "1,2", "--n-assets", 3], "2 values for 3 assets"),
                          (["--rpc", "http://127.0.0.1:1"], "does not answer"),
                          (["--model-builds", tmp_path / "mb.json"], "reval")):
        res = _run(*base, *extra)
        code = 4 if extra[0] == "--rpc" else 2            # 4: chain unavailable (README: exit codes)
        assert res.exit_code == code and needle in res.stderr, (extra, res.output)
    assert not (tmp_path / "d.json").exists()


def test_embedded_deploy_then_status_needs_rpc(gas_build, tmp_path):
    res = _run("chain", "deploy", "--build", gas_build.dir, "--out", tmp_path / "dep.json",
               "--verifiers-dir", tmp_path / "gen", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["embedded"] is True
    res = _run("chain", "status", "--deployment", tmp_path / "dep.json")
    assert res.exit_code == 2 and "embedded anvil" in res.stderr


def test_deploy_warns_of_a_genesis_behind_the_chain_clock(gas_build, tmp_path):
    """A model file whose genesis lies days behind the node's clock deploys, with one line
    saying how far behind (the keeper will step every day in between, or stall)."""
    res = _run("chain", "deploy", "--build", gas_build.dir, "--out", tmp_path / "dep.json",
               "--verifiers-dir", tmp_path / "gen", "--genesis-day", 20000, "--json")
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.stderr.splitlines() if "behind the chain's clock" in ln]
    assert len(warn) == 1 and "genesis day 20000 (2024-10-04)" in warn[0]
    behind = int(warn[0].split(" is ")[1].split(" day")[0])
    assert abs(behind - (int(time.time()) // DAY - 1 - 20000)) <= 1   # an embedded anvil runs on the wall clock
